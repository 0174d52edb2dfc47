"""Does the cross-encoder earn its place over a chosen first stage? Paired, on validation.

    python scripts/cross_trial.py ../shared/eval/rtqa-2025 --cache FILE \
        --dense 1.0 --boost 0.2 --half-life 14 --phrase 0.3 --within 0

Orders each question's cached first stage (scripts/first_stage_trial.py) by the variant given,
reranks its top `--depth` with the shipped cross-encoder and its prior (cross_encoder.
CrossRanker's arithmetic, prior weights given by --priors), and prints passage- and card-level
metrics with paired 95% intervals against the first stage alone.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from first_stage_trial import cards, choices_named, collect, metrics, order

from assistant.config import Settings
from assistant.search.cross_encoder import load_cross_encoder
from assistant.tools.evaluate import eval_index_dir, paired_bootstrap


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("set_dir", type=Path)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--dense", type=float, default=1.0)
    parser.add_argument("--boost", type=float, default=0.5)
    parser.add_argument("--half-life", type=float, default=0)
    parser.add_argument("--phrase", type=float, default=0.0)
    parser.add_argument("--within", type=int, default=0)
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--priors", default="0,2,5,10")
    parser.add_argument("--save", type=Path, help="per-question metrics of every order, .npz")
    args = parser.parse_args(argv)
    items = collect(args.set_dir, args.cache)
    for item in items:
        item["named"] = choices_named(item)
    from assistant.assistant import Assistant

    settings = Settings()
    store = Assistant(eval_index_dir(args.set_dir, settings), settings, create=False).store
    model = load_cross_encoder()
    firsts, logits = [], []
    for item in items:
        scores = order(item, args.dense, 1, args.boost, args.half_life, args.phrase,
                       args.within, scored=True)
        ids = list(scores)[: args.depth]
        rows = store.passages(ids)
        firsts.append(scores)
        logits.append(model.score(*model.pairs(item["q"]["question"], item["q"]["date"],
                                               [rows[i] for i in ids])))
    base = {per: metrics(items, [cards(list(s), it["article"], per)
                                 for s, it in zip(firsts, items)]) for per in (0, 1, 2)}
    saved = {f"first per{per} {k}": v for per, m in base.items() for k, v in m.items()}
    for prior in [float(p) for p in args.priors.split(",")]:
        orders = []
        for scores, logit in zip(firsts, logits):
            ids = list(scores)[: args.depth]
            top = max(scores[ids[0]], 1e-9)
            combined = logit + prior * np.array([scores[i] / top for i in ids])
            orders.append([ids[j] for j in np.argsort(-combined, kind="stable")]
                          + list(scores)[args.depth:])
        for per in (0, 1, 2):
            m = metrics(items, [cards(o, it["article"], per) for o, it in zip(orders, items)])
            saved.update({f"cross {prior} per{per} {k}": v for k, v in m.items()})
            print(json.dumps({"prior": prior, "per_article": per,
                              **{k: round(float(v.mean()), 3) for k, v in m.items()},
                              "first stage": {k: round(float(v.mean()), 3)
                                              for k, v in base[per].items()},
                              "vs first stage": {k: paired_bootstrap(m[k], base[per][k])
                                                 for k in ("R@1", "R@5", "R@20", "MRR@10",
                                                           "MC")}}))
    if args.save:
        np.savez(args.save, **saved)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
