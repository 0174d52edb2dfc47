"""Measure speed and scale: ingestion by stage, question latency by stage, dense search at
millions of vectors; every speed is set against a baseline measured in the same run, since
other work on the machine moves absolute figures. Ingestion runs `Assistant.ingest_articles`
and questions run `Assistant.answer` (the shipped settings: blend, recency, second stage), so
the figures are the product's, not a copy's.

    assistant bench SET_DIR [--quick | --articles N] [--scale 100000,1000000] [--store-scale 100000,1000000]
    assistant bench --no-ingest --scale 1000000
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from itertools import islice
from pathlib import Path

import numpy as np

from ..config import Settings, host_backend
from .bench_scale import scale, store_scale
from .measure import bar, peak_rss_mb, percentiles, timed

QUICK_ARTICLES = 150
SLICE = 256  # passages embedded by each backend in turn, so load changes hit all alike
# "keyword search" runs on another thread beside "embedding" and "dense search" (retrieve.py):
# the stages can add up to more than the whole.
STAGES = ("filters", "dense search", "keyword search", "fusion", "second stage", "database",
          "lead")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="assistant bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("set_dir", nargs="?", type=Path,
                        help="a folder with corpus.jsonl.gz (or article files) and "
                             "questions.jsonl, e.g. a RealTime-QA set; needed unless --no-ingest")
    parser.add_argument("--quick", action="store_true",
                        help=f"only the first {QUICK_ARTICLES} articles")
    parser.add_argument("--articles", type=int, default=0,
                        help="only the first N articles: enough that the per-passage rate, "
                             "not the fixed costs of a run (model warm-up, first imports), "
                             "sets the ratios")
    parser.add_argument("--backends", default="",
                        help="embedding backends to time; 'torch' is the fp32 baseline, the last "
                             "one's vectors are indexed (default: torch, then both int8 ones, "
                             "this CPU's default last); BACKEND@N reads at most N tokens of a "
                             "passage (Settings.embed_max_tokens), e.g. openvino-int8@128")
    parser.add_argument("--scale", default="",
                        help="synthetic collection sizes, e.g. 100000,1000000")
    parser.add_argument("--store-scale", default="",
                        help="whole indexes (SQLite, FAISS, BM25) of generated articles, e.g. "
                             "100000,1000000: build, size, and questions end to end")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder that keeps the --store-scale indexes (reused by the next "
                             "run); by default a temporary one, removed after")
    parser.add_argument("--exact-limit", type=int, default=None,
                        help="vectors past which dense search turns approximate")
    parser.add_argument("--no-ingest", action="store_true", help="only the scale sections")
    args = parser.parse_args(argv)
    questions_file: Path | None = None  # None only with --no-ingest
    if not args.no_ingest:
        questions_file = args.set_dir / "questions.jsonl" if args.set_dir else None
        if questions_file is None or not questions_file.is_file():
            parser.error(f"no questions.jsonl in {args.set_dir or '(no set named)'}: pass a set "
                         "folder (corpus.jsonl.gz and questions.jsonl, e.g. "
                         "../shared/eval/rtqa-2023-spring), or --no-ingest for the scale "
                         "sections alone")
    chosen = args.backends or ",".join(sorted(("onnx-int8", "openvino-int8"),
                                              key=lambda b: b == host_backend()))
    backends = ["torch"] + [b for b in chosen.split(",") if b and b != "torch"]
    with tempfile.TemporaryDirectory(prefix="assistant-bench-") as work:
        if questions_file is not None:
            with open(questions_file) as lines:
                questions = [json.loads(line) for line in lines if line.strip()]
            limit = args.articles or (QUICK_ARTICLES if args.quick else None)
            assistant, embedders = ingest(args.set_dir, Path(work) / "index", backends, limit,
                                          questions)
            latency(assistant, embedders, questions)
            assistant.close()
        options = {} if args.exact_limit is None else {"exact_limit": args.exact_limit}
        for size in [int(s) for s in args.scale.split(",") if s]:
            scale(size, Path(work) / f"scale-{size}", options)
        rows = [store_scale(size, (args.work or Path(work)) / f"store-{size}")
                for size in [int(s) for s in args.store_scale.split(",") if s]]
        if rows:
            print("\n| " + " | ".join(rows[0]) + " |\n|" + "---|" * len(rows[0]))
            for row in rows:
                print("| " + " | ".join(row.values()) + " |")
    print(f"peak RSS: {peak_rss_mb():,.0f} MB")
    return 0


class TimedEmbedder:
    """The indexing backend, with the seconds spent in it: ingestion's embedding stage."""

    def __init__(self, embedder):
        self.embedder, self.dim, self.seconds = embedder, embedder.dim, 0.0

    def embed(self, texts: list[str]) -> np.ndarray:
        with timed() as t:
            vectors = self.embedder.embed(texts)
        self.seconds += t.s
        return vectors


def ingest(set_dir: Path, index: Path, backends: list[str], limit: int | None,
           questions: list[dict]):
    """`Assistant.ingest_articles` with the last backend, its embedding and writing timed;
    then every backend (fp32 torch first: the baseline) embeds the stored passages, for each
    one's rate and dense recall."""
    from ..assistant import Assistant
    from ..embedding.embedder import load_embedder
    from ..reading.articles import read_articles

    backend, _, tokens = backends[-1].partition("@")
    settings = Settings(embed_backend=backend, embed_max_tokens=int(tokens or 0))
    embedders = {b: load_embedder(settings.model, settings.embed_batch, b.partition("@")[0],
                                  max_tokens=int(b.partition("@")[2] or 0)) for b in backends}
    indexing = TimedEmbedder(embedders[backends[-1]])
    assistant = Assistant(index, settings, embedder=indexing)
    store = assistant.store
    apply, writing = store.apply, {"s": 0.0}

    def timed_apply(*args, **kwargs):
        with timed() as t:
            apply(*args, **kwargs)
        writing["s"] += t.s

    # The real write, with a stopwatch round it, on this instance only: a deliberate patch.
    store.apply = timed_apply  # type: ignore[method-assign]
    source = set_dir / "corpus.jsonl.gz"
    items = read_articles([source if source.exists() else set_dir])
    with timed() as total:
        report = assistant.ingest_articles(
            bar(islice(items, limit), "ingesting", " articles"))
    del store.apply
    ids = [int(i) for i in np.flatnonzero(store.view.days >= 0)]
    passages = store.passages(ids)
    texts = [store.indexed_text(passages[i].title, passages[i].text) for i in ids]
    n_art, n_pas = report.added + report.updated, len(texts)
    reading = total.s - indexing.seconds - writing["s"]
    print(f"set: {set_dir.name}, {n_art:,} articles, {n_pas:,} passages")
    print(f"reading+chunking: {reading:.1f} s, {n_art / reading:,.1f} articles/s, "
          f"{n_pas / reading:,.1f} passages/s")
    seconds, vectors = embed_all(embedders, texts)
    for name in backends:
        rate = n_pas / max(seconds[name], 1e-9)
        print(f"embedding {name}: {seconds[name]:.1f} s, {rate:,.1f} passages/s, "
              f"{rate * seconds['torch'] / max(n_pas, 1):.2f}x fp32 sentence-transformers "
              f"(batch 32), cosine to fp32 min "
              f"{(vectors[name] * vectors['torch']).sum(1).min():.3f}")
    print(f"index writing: {writing['s']:.1f} s, {n_pas / writing['s']:,.1f} passages/s")
    spent = {name: total.s - indexing.seconds + seconds[name] for name in backends}
    for name in backends:
        print(f"ingestion with {name}: {n_art / spent[name]:,.2f} articles/s, "
              f"{n_pas / spent[name]:,.1f} passages/s, "
              f"{spent['torch'] / spent[name]:.2f}x ingestion with fp32")
    dense_recall(vectors, embedders, [passages[i].text for i in ids],
                 np.array([passages[i].date for i in ids]), questions)
    return assistant, embedders


def embed_all(embedders: dict, texts: list[str]) -> tuple[dict, dict]:
    """Each backend's seconds and vectors for `texts`, slice by slice in turn."""
    seconds = dict.fromkeys(embedders, 0.0)
    vectors: dict[str, list[np.ndarray]] = {b: [] for b in embedders}
    for start in bar(range(0, len(texts), SLICE), "embedding", " slices"):
        for name, embedder in embedders.items():
            with timed() as t:
                vectors[name].append(embedder.embed(texts[start:start + SLICE]))
            seconds[name] += t.s
    return seconds, {b: np.vstack(v) if v else np.zeros((0, 1), np.float32)
                     for b, v in vectors.items()}


def dense_recall(vectors: dict, embedders: dict, shown: list[str], dates: np.ndarray,
                 questions: list[dict], k: int = 20) -> None:
    """Dense-only recall@k of each backend on the same passages, as of each question's date:
    a faster backend is only worth having if this stays within a point of fp32."""
    from .evaluate import first_hit

    for name, embedder in embedders.items():
        hits = 0
        for q in questions:
            scores = vectors[name] @ embedder.embed([q["question"]])[0]
            scores[dates > q["date"]] = -np.inf
            top = np.argsort(-scores)[:k]
            hits += first_hit([shown[i] for i in top if np.isfinite(scores[i])],
                              q["answers"]) is not None
        print(f"dense recall@{k} {name}: {hits / max(len(questions), 1):.3f} "
              f"over {len(questions)} questions")


def latency(assistant, embedders: dict, questions: list[dict]) -> None:
    """Each stage of `Assistant.answer` as `retrieve.search` times it (stages.py), as of the
    question's date, and the whole call; each backend's embedding of the question besides."""
    from ..search.stages import recording

    backend = assistant.settings.embed_backend
    times: dict[str, list[float]] = {part: [] for part in ("embedding", *STAGES, "total")}
    embed_times: dict[str, list[float]] = {name: [] for name in embedders}
    for q in bar(questions, "questions", " questions"):
        for name, embedder in embedders.items():
            with timed() as t:
                embedder.embed([q["question"]])
            embed_times[name].append(t.s)
        with recording() as seconds, timed() as whole:
            assistant.answer(q["question"], k=5, as_of=q["date"])
        for part, values in times.items():
            values.append(whole.s if part == "total" else seconds.get(part, 0.0))
    print(f"question latency over {len(questions)} questions (ms, p50 / p95 / p99):")
    for name, values in embed_times.items():
        print(f"  embedding {name}: {percentiles(values)}")
    for part in STAGES:
        print(f"  {part}: {percentiles(times[part])}")
    print(f"  total ({backend}): {percentiles(times['total'])} (Assistant.answer end to end)")


if __name__ == "__main__":
    sys.exit(main())
