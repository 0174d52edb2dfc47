"""Train the lead scorer (lead.py) on training sets' sentences; never on validation or test.

    python -m assistant.tools.train_lead ../shared/eval/rtqa-2024 ../shared/eval/rtqa-2022-2023 \
        --out assistant/models/lead.txt

For each question, the articles its week's web search found (dated on or before the
question) are chunked as ingest chunks them; the three passages sharing most of the question's
terms stand in for the first stage's top three, and each of their sentences is one example:
a positive when it holds an answer string as the metric matches it. Questions with no
positive teach the ordering nothing and are left out of it. A LightGBM LambdaRank model
fitted on the first four fifths of the weeks orders a question's sentences; on the last fifth
(every question, answered or not) a Platt curve turns the best sentence's score into the
probability that it holds the answer, the confidence an answer reports (`lead.json`).

With --first-stage the candidates are the real ones instead: each set's corpus ingested into
the evaluation's cached index (`assistant eval` builds the same one) and each question asked
as of its date with the shipped settings; its top three cards are what the lead reads at
question time, near misses of the retrieval included.
"""
from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import numpy as np

from ..answering.lead import FEATURES, features, options, stem_set
from ..reading.boilerplate import is_boilerplate
from ..reading.chunking import chunk
from .evaluate import first_hit


def questions_of(set_dirs: list[Path]) -> list[dict]:
    out = []
    for set_dir in set_dirs:
        with open(set_dir / "questions.jsonl") as lines:
            out += [{**json.loads(line), "set": set_dir} for line in lines]
    return sorted(out, key=lambda q: q["date"])


def articles_of(set_dirs: list[Path], wanted: set[str]) -> dict[str, dict]:
    found = {}
    for set_dir in set_dirs:
        with gzip.open(set_dir / "corpus.jsonl.gz", "rt") as f:
            for line in f:
                a = json.loads(line)
                if a["id"] in wanted:
                    found[a["id"]] = a
    return found


def top_passages(q: dict, articles: dict[str, dict], depth: int = 3) -> list[str]:
    """The `depth` passages of the question's articles that share most of its terms."""
    wanted = stem_set(q["question"])
    found = []
    for order, article_id in enumerate(q.get("google_ranked_ids", [])):
        a = articles.get(article_id)
        if a is None or a["date"] > q["date"]:
            continue
        for s, e in chunk(a["text"], 1000, is_boilerplate):
            text = a["text"][s:e]
            share = len(stem_set(text) & wanted) / max(len(wanted), 1)
            found.append((-share, order, s, text))
    return [text for *_, text in sorted(found)[:depth]]


def first_stage_top(qs: list[dict], depth: int = 3) -> dict[int, list[str]]:
    """The shipped pipeline's top `depth` cards for each question (by its place in `qs`),
    from its set's cached evaluation index."""
    from ..config import Settings
    from .evaluate import open_eval_index

    out = {}
    for set_dir in sorted({q["set"] for q in qs}):
        assistant, _ = open_eval_index(set_dir, settings=Settings())
        for n, q in enumerate(qs):
            if q["set"] == set_dir:
                answer = assistant.answer(q["question"], k=20, as_of=q["date"])
                out[n] = [p.text for p in answer.passages[:depth]]
    return out


def examples(qs: list[dict], top, answered_only: bool = True):
    """(matrix, labels, group sizes, question index of each group); top(n, q): the texts
    whose sentences are question n's candidates."""
    rows, labels, groups, owners = [], [], [], []
    for n, q in enumerate(qs):
        texts = top(n, q)
        found = options(q["question"], texts)
        if not found:
            continue
        hit = [float(first_hit([texts[r][s:e]], q["answers"]) == 0) for r, s, e in found]
        if answered_only and not any(hit):
            continue
        rows.append(features(q["question"], texts, found))
        labels += hit
        groups.append(len(found))
        owners.append(n)
    return np.vstack(rows), np.array(labels), groups, owners


def hit_rate(booster, matrix, labels, groups) -> float:
    scores, at, hits = booster.predict(matrix), 0, 0
    for size in groups:
        hits += labels[at + int(np.argmax(scores[at:at + size]))] > 0
        at += size
    return hits / max(len(groups), 1)


def main(argv: list[str] | None = None) -> int:
    import lightgbm

    parser = argparse.ArgumentParser(prog="python -m assistant.tools.train_lead")
    parser.add_argument("set_dirs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--first-stage", action="store_true",
                        help="candidates from the shipped pipeline on each set's eval index")
    args = parser.parse_args(argv)
    qs = questions_of(args.set_dirs)
    if args.first_stage:
        shipped = first_stage_top(qs)

        def top(n, q):
            return shipped[n]
    else:
        articles = articles_of(args.set_dirs,
                               {i for q in qs for i in q.get("google_ranked_ids", [])})

        def top(n, q):
            return top_passages(q, articles)
    cut = int(len(qs) * 0.8)
    params = {"objective": "lambdarank", "metric": "ndcg", "eval_at": [1], "learning_rate": 0.05,
              "num_leaves": 15, "min_data_in_leaf": 40, "feature_fraction": 0.9,
              "verbose": -1, "seed": 0, "num_threads": 2, "deterministic": True}
    fit = examples(qs[:cut], top)
    held = examples(qs[cut:], lambda n, q: top(n + cut, q))
    booster = lightgbm.train(params, lightgbm.Dataset(fit[0], fit[1], group=fit[2],
                                                      feature_name=FEATURES), args.trees)
    every = examples(qs[cut:], lambda n, q: top(n + cut, q), answered_only=False)
    best, holds = best_scores(booster, *every[:3])
    a, b = platt(best, holds)
    print(json.dumps({"groups": len(fit[2]), "held_out_groups": len(held[2]),
                      "held_out_hit_rate": round(hit_rate(booster, *held[:3]), 3),
                      "held_out_term_share_hit_rate": round(hit_rate(
                          _Column(FEATURES.index("share")), *held[:3]), 3),
                      "held_out_first_sentence_hit_rate": round(hit_rate(
                          _Column(FEATURES.index("first")), *held[:3]), 3),
                      "calibration_questions": len(best), "calibration": [a, b],
                      "best_holds_answer": round(float(holds.mean()), 3)}))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(args.out))
    args.out.with_suffix(".json").write_text(json.dumps({"a": a, "b": b}) + "\n")
    print(f"wrote {args.out} and {args.out.with_suffix('.json')}")
    return 0


def best_scores(booster, matrix, labels, groups) -> tuple[np.ndarray, np.ndarray]:
    """Each question's best sentence score, and whether that sentence holds the answer."""
    scores, at, best, holds = booster.predict(matrix), 0, [], []
    for size in groups:
        j = at + int(np.argmax(scores[at:at + size]))
        best.append(scores[j])
        holds.append(labels[j] > 0)
        at += size
    return np.array(best), np.array(holds, dtype=float)


def platt(x: np.ndarray, y: np.ndarray, steps: int = 50) -> tuple[float, float]:
    """(a, b) of P(y) = 1 / (1 + exp(-(a x + b))), fitted by Newton's method on log loss.

    Example: platt(np.array([-2., -1., 1., 2.]), np.array([0., 1., 0., 1.])) -> a > 0
    """
    a, b = 1.0, 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(a * x + b)))
        w = np.maximum(p * (1 - p), 1e-9)
        grad = np.array([np.sum((p - y) * x), np.sum(p - y)])
        hess = np.array([[np.sum(w * x * x), np.sum(w * x)], [np.sum(w * x), np.sum(w)]])
        a, b = np.array([a, b]) - np.linalg.solve(hess + 1e-6 * np.eye(2), grad)
    return round(float(a), 4), round(float(b), 4)


class _Column:
    """A 'model' that scores by one feature: the baseline the learned one must beat."""

    def __init__(self, column: int):
        self.column = column

    def predict(self, matrix):
        return matrix[:, self.column]


if __name__ == "__main__":
    raise SystemExit(main())
