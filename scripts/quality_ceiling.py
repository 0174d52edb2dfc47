"""Where the answers are, and what any second stage can reach, on one eval set.

    python scripts/quality_ceiling.py ../shared/eval/rtqa-2025 [--eval-json FILE]

Prints, over the first stage's top 100 (fused, recency boosted, nothing reranked):
the rank of the first answering passage in bands (a reranker of the top 20 cannot lift
R@1 above R@20), how old the newest passage holding an answer string is against the
question's date (an answer met only in old coverage is often a short string met by chance),
and for how many questions the unanswerable copy (every holder masked) has the same top 20
(nothing was found to mask, so no abstention rule can tell them apart). With the JSON of
`assistant eval --json` it also prints how often a confidence threshold abstains on the
questions as asked against their copies. Uses the eval's cached index; it fits nothing.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.config import Settings
from assistant.search.retrieve import Query, candidates
from assistant.tools.evaluate import AnswerHolders, cached_embed, first_hit, open_eval_index

BANDS = ((1, "1"), (5, "2-5"), (20, "6-20"), (40, "21-40"), (100, "41-100"))
AGES = ((8, "0-7 days"), (31, "8-30 days"), (10**6, "over 30 days"))


def band(value, bands, none: str) -> str:
    return none if value is None else next(name for top, name in bands if value < top)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("set_dir", type=Path)
    parser.add_argument("--eval-json", type=Path, help="output of `assistant eval --json`")
    args = parser.parse_args()
    with open(args.set_dir / "questions.jsonl") as lines:
        questions = [json.loads(line) for line in lines]
    assistant, _ = open_eval_index(args.set_dir)
    store, embed = assistant.store, cached_embed(assistant.embedder.embed)
    first = replace(Settings(), rerank=False, cross_encoder=False, dedupe=False, per_article=0)
    holders = AnswerHolders(store)
    ranks, ages, same = Counter(), Counter(), 0
    for q in questions:
        held = holders(q["answers"])
        orders = [list(candidates(store, embed, Query(q["question"], 20, q["date"], exclude=ex),
                                  first).scores)[:100] for ex in (frozenset(), held)]
        texts = store.passages(orders[0])
        ranks[band(first_hit([texts[i].text for i in orders[0] if i in texts], q["answers"]),
                   BANDS, "not in the top 100")] += 1
        same += orders[0][:20] == orders[1][:20]
        asked = date.fromisoformat(q["date"])
        days = [(asked - date.fromisoformat(p.date)).days for p in store.passages(list(held)).values()]
        ages[band(min((d for d in days if d >= 0), default=None), AGES, "no holder")] += 1
    n = len(questions)
    print(f"{args.set_dir.name}: {n} questions")
    print("first answering passage in the first stage's order:",
          ", ".join(f"{name} {ranks[name]}" for name in [b for _, b in BANDS] + ["not in the top 100"]))
    print("newest passage holding an answer, before the question:",
          ", ".join(f"{name} {ages[name]}" for name in [a for _, a in AGES] + ["no holder"]))
    print(f"unanswerable copy with the same top 20: {same} ({same / n:.0%})")
    if args.eval_json:
        answers = json.loads(args.eval_json.read_text())["answers"]
        asked, copies = np.array(answers["confidence"]), np.array(answers["confidence_unanswerable"])
        for share in (0.025, 0.05, 0.10, 0.20):
            t = float(np.quantile(asked, share))
            print(f"threshold {t:.4f}: abstains on {(asked < t).mean():.3f} as asked, "
                  f"{(copies < t).mean():.3f} of the copies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
