"""Choose how the lead sentence is picked, from one pass over a set's shipped answers.

    python scripts/lead_trial.py ../shared/eval/rtqa-2025 --cache FILE [--model LEAD.txt]

Asks every question once with the shipped settings, keeps the top passages' sentences with
the lead scorer's features, the sentence model's cosine to the question and whether each
holds an answer string, then scores pickers from that cache in seconds, each with a paired
95% interval against the overlap rule. Fits nothing: it is for choosing on validation
(rtqa-2025), never for the report set.
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
from pathlib import Path

import numpy as np

from assistant.answering.answer import find_lead
from assistant.answering.lead import FEATURES, features, load_lead_scorer, options
from assistant.config import Settings
from assistant.tools.evaluate import first_hit, open_eval_index, paired_bootstrap

DEPTH = 3


def collect(set_dir: Path, settings: Settings) -> list[dict]:
    assistant, _ = open_eval_index(set_dir, settings=settings)
    with open(set_dir / "questions.jsonl") as lines:
        questions = [json.loads(line) for line in lines]
    embed = assistant.embedder.embed
    out = []
    for n, q in enumerate(questions):
        answer = assistant.answer(q["question"], k=20, as_of=q["date"])
        passages = list(answer.passages)
        texts = [p.text for p in passages]
        found = options(q["question"], texts, DEPTH)
        row = {"question": q["question"], "answers": q["answers"], "found": found,
               "texts": texts[:DEPTH], "card1": bool(texts) and first_hit(texts[:1],
                                                                          q["answers"]) == 0}
        overlap = find_lead(q["question"], passages)
        row["overlap"] = None if overlap is None else (overlap.number - 1, overlap.start)
        if found:
            sentences = [texts[r][s:e] for r, s, e in found]
            row["x"] = features(q["question"], texts, found)
            vectors = embed([q["question"], *sentences])
            row["cos"] = vectors[1:] @ vectors[0]
            row["y"] = np.array([first_hit([t], q["answers"]) == 0 for t in sentences])
        out.append(row)
        if n % 50 == 0:
            print(n, file=sys.stderr)
    return out


def hits(rows: list[dict], pick) -> np.ndarray:
    """1.0 where the picked sentence holds an answer."""
    out = np.zeros(len(rows))
    for i, row in enumerate(rows):
        if row["found"]:
            j = pick(row)
            out[i] = float(j is not None and row["y"][j])
    return out


def col(name: str) -> int:
    return FEATURES.index(name)


def linear(w_share, w_type, w_cos, w_rank, w_first, w_number=0.0):
    def pick(row):
        x = row["x"]
        score = (w_share * x[:, col("share")] + w_type * x[:, col("type_match")]
                 + w_cos * row["cos"] - w_rank * x[:, col("rank")] + w_first * x[:, col("first")])
        return int(np.argmax(score))
    return pick


def overlap_pick(row):
    if row["overlap"] is None:
        return None
    rank, start = row["overlap"]
    for j, (r, s, _) in enumerate(row["found"]):
        if r == rank and s == start:
            return j
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("set_dir", type=Path)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--model", type=Path, action="append", default=[],
                        help="a lead scorer file to score besides the shipped one")
    args = parser.parse_args()
    if not args.cache.exists():
        args.cache.write_bytes(pickle.dumps(collect(args.set_dir, Settings())))
    rows = pickle.loads(args.cache.read_bytes())
    n = len(rows)
    any_hit = np.array([bool(r["found"]) and bool(r["y"].any()) for r in rows])
    print(f"{n} questions; card [1] holds an answer {np.mean([r['card1'] for r in rows]):.3f}; "
          f"some sentence of the top {DEPTH} holds one {any_hit.mean():.3f}")
    base = hits(rows, overlap_pick)
    print(f"overlap rule (shipped): {base.mean():.3f}")
    scorer = load_lead_scorer()
    shipped = hits(rows, lambda r: int(np.argmax(scorer(r["x"]))))
    print(f"lead scorer: {shipped.mean():.3f} {paired_bootstrap(shipped, base)}")
    for model in args.model:
        other = load_lead_scorer(str(model))
        h = hits(rows, lambda r, other=other: int(np.argmax(other(r["x"]))))
        print(f"{model}: {h.mean():.3f} vs overlap {paired_bootstrap(h, base)} "
              f"vs shipped scorer {paired_bootstrap(h, shipped)}")
    cos_only = hits(rows, lambda r: int(np.argmax(r["cos"])))
    print(f"cosine only: {cos_only.mean():.3f} {paired_bootstrap(cos_only, base)}")
    results = []
    for w_type in (0.0, 0.1, 0.2, 0.3, 0.5):
        for w_cos in (0.0, 0.25, 0.5, 1.0, 2.0):
            for w_rank in (0.0, 0.05, 0.1, 0.2):
                for w_first in (0.0, 0.05, 0.1, 0.2):
                    h = hits(rows, linear(1.0, w_type, w_cos, w_rank, w_first))
                    results.append((h.mean(), (w_type, w_cos, w_rank, w_first), h))
    results.sort(key=lambda t: -t[0])
    for mean, w, h in results[:10]:
        print(f"type {w[0]} cos {w[1]} rank {w[2]} first {w[3]}: {mean:.3f} "
              f"{paired_bootstrap(h, base)}")


if __name__ == "__main__":
    main()
