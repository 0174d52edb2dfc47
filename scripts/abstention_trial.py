"""Do the first stage's own scores tell an answerable question from its masked copy?

    ASSISTANT_EVAL_CACHE=DIR python scripts/abstention_trial.py ../shared/eval/rtqa-2025

Each question is searched as asked and as its unanswerable copy (every passage holding an
answer string excluded, as `assistant eval` masks them), with the shipped settings. For each
signal it prints the AUC of answerable against copies, and the share of copies a threshold
abstains on where it wrongly abstains on 10% of answerable questions. Fits nothing.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from assistant.reading.words import tokenize
from assistant.search.retrieve import Query, candidates
from assistant.tools.evaluate import AnswerHolders, cached_embed, open_eval_index, searched


def signals(found, question: str) -> dict[str, float]:
    dense = sorted((s for _, s in found.dense.values()), reverse=True)
    bm25 = sorted((s for _, s in found.keyword.values()), reverse=True)
    tops = [{i for i, (rank, _) in hits.items() if rank < 10}
            for hits in (found.dense, found.keyword)]
    words = max(len(tokenize([question])[0]), 1)
    return {"best dense cosine": dense[0] if dense else 0.0,
            "dense 1st - 10th": dense[0] - dense[9] if len(dense) > 9 else 0.0,
            "best BM25": bm25[0] if bm25 else 0.0,
            "best BM25 per word": (bm25[0] if bm25 else 0.0) / words,
            "BM25 1st - 10th, share": (bm25[0] - bm25[9]) / bm25[0] if len(bm25) > 9 else 0.0,
            "top-10 overlap": float(len(tops[0] & tops[1]))}


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a positive scores above a negative), ties counted half."""
    above = (positive[:, None] > negative[None, :]).mean()
    return float(above + 0.5 * (positive[:, None] == negative[None, :]).mean())


def main(set_dir: Path) -> None:
    assistant, _ = open_eval_index(set_dir)
    with open(set_dir / "questions.jsonl") as lines:
        questions = [json.loads(line) for line in lines]
    embed = cached_embed(assistant.embedder.embed)
    store = searched(assistant)[0]
    holders = AnswerHolders(store)
    asked, copies = [], []
    for q in questions:
        for masked, out in ((frozenset(), asked), (holders(q["answers"]), copies)):
            query = Query(q["question"], 20, q["date"], exclude=masked)
            out.append(signals(candidates(store, embed, query, assistant.settings),
                               q["question"]))
    for name in asked[0]:
        yes, no = (np.array([row[name] for row in rows]) for rows in (asked, copies))
        line = np.percentile(yes, 10)
        print(f"{name:24} AUC {auc(yes, no):.3f}, abstains on {np.mean(no < line):.3f} of "
              "copies at 10% wrong")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
