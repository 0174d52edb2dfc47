"""The bench on a tiny generated set: every figure line is printed (timings are never asserted)."""
from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from assistant.tools import bench, bench_scale, measure

STORIES = [
    ("Floods close the river road", "2024-01-02",
     "Heavy rain flooded the river road in Millbrook on Tuesday.\n\nThe council opened a shelter."),
    ("Council picks a new mayor", "2024-01-03",
     "The town council elected Dana Reyes as mayor.\n\nShe promised to repair the bridge."),
    ("Bakery wins national prize", "2024-01-05",
     "A family bakery in Eastport won the national bread prize.\n\nIts rye loaf impressed judges."),
]
QUESTIONS = [
    {"question": "Who was elected mayor?", "date": "2024-01-04", "answers": ["Dana Reyes"],
     "choices": ["Dana Reyes", "Sam Lee"]},
    {"question": "Which road flooded?", "date": "2024-01-06", "answers": ["river road"],
     "choices": ["river road", "hill road"]},
]


@pytest.mark.slow
def test_quick_run_prints_every_figure(tmp_path, capsys):
    # The model cache every other real-model test uses: the OpenVINO export, made once for
    # them all (test_embedding.py exports into a fresh cache on purpose), took 25 s of this.
    with gzip.open(tmp_path / "corpus.jsonl.gz", "wt") as f:
        for i, (title, date, text) in enumerate(STORIES):
            f.write(json.dumps({"id": f"a{i}", "url": f"https://example.org/{i}", "title": title,
                                "date": date, "source": "example.org", "text": text}) + "\n")
    (tmp_path / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))

    assert bench.main([str(tmp_path), "--quick", "--scale", "3000", "--exact-limit", "1000",
                       "--store-scale", "500", "--backends", "torch,openvino-int8"]) == 0
    out = capsys.readouterr().out
    for line in ["set: ", "reading+chunking: ", "embedding torch: ", "embedding openvino-int8: ",
                 "x fp32 sentence-transformers", "index writing: ", "ingestion with openvino-int8: ",
                 "dense recall@20 torch: ", "dense recall@20 openvino-int8: ",
                 "question latency over 2 questions", "embedding openvino-int8: ", "dense search: ",
                 "keyword search: ", "fusion: ", "database: ", "total (openvino-int8): ",
                 "scale 3,000 vectors (IVF-PQ, re-scored from float16): ", "per million",
                 "search all: ", "search as-of 30%: ", "recall@10 vs exact ",
                 ("| passages | build | disk | open | index memory serving | process memory | "
                 "p50 / p95 / p99 | ANN recall@10 | story in top 10 |"), "| 500 | ",
                 "where an answer's time goes at 500 (median of each stage): database ",
                 "peak RSS: "]:
        assert line in out, f"{line!r} missing from:\n{out}"
    cells = next(line for line in out.splitlines() if line.startswith("| 500 | ")).split(" | ")
    # 500 passages: exact search (scored against float16 copies: a near tie may flip), and
    # every story found.
    assert float(cells[-2]) >= 0.99 and cells[-1] == "100% |"


def test_exact_top_matches_a_full_sort():
    rng = np.random.default_rng(0)
    vectors, queries = rng.standard_normal((500, 8)), rng.standard_normal((3, 8))
    allowed = rng.random(500) < 0.5
    scores = np.where(allowed, queries @ vectors.T, -np.inf)
    want = np.argsort(-scores, axis=1)[:, :5]
    got = bench_scale.exact_top(vectors.astype(np.float32), queries.astype(np.float32), 5,
                                lambda start, stop: allowed[start:stop])
    assert [set(r) for r in got] == [set(r) for r in want]


def test_percentiles_in_milliseconds():
    assert measure.percentiles([0.001, 0.002, 0.003]) == "2.0 / 2.9 / 3.0"


def test_generated_articles_are_valid_and_findable():
    from assistant.tools.synthetic import Collection

    collection = Collection(1_000, per_article=10)
    puts = collection.puts(0, 1_000)
    assert len(puts) == collection.articles == 100
    assert sum(len(p.spans) for p in puts) == 1_000
    dates = [p.article.date for p in puts]
    assert dates == sorted(dates) and dates[0] == "2022-01-01" and dates[-1] < "2024-01-01"
    for put in puts[:3]:
        names = collection.story_words(collection.story(int(put.article.id[4:])))
        for start, end in put.spans:
            passage = put.article.text[start:end]
            assert 0 < len(passage) <= 1000 and passage.strip() == passage
            assert all(name in passage for name in names)
        assert np.allclose(np.linalg.norm(put.vectors, axis=1), 1, atol=1e-5)
    text, vector, _as_of, story = collection.questions(1)[0]
    assert all(name in text for name in collection.story_words(story)[:2])
    best = max(range(len(collection.centres)), key=lambda s: collection.centres[s] @ vector)
    assert best == story
