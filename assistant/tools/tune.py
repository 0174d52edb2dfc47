"""Tune the first stage's knobs (fusion weights, recency window and boost) on a training set.

Run it on rtqa-2024 only: rtqa-2023-spring is the test set and is never fitted. The searches
do not depend on these knobs, so they run once a question; each grid point only re-runs
`retrieve.ranked` (fusion and the recency boost, the code questions run).
"""
from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path

from ..config import Settings
from ..search.retrieve import Query, candidates, ranked
from .evaluate import cached_embed, first_hit, mc_correct, open_eval_index, score

GRID = {
    "fusion": ["rrf", "blend"],
    "keyword_weight": [0.7, 1.0, 1.4],
    "recency_days": [3, 7, 10, 14],
    "recency_boost": [0.0, 0.25, 0.5, 1.0],
}
OBJECTIVE = "MRR@10"  # favours the answering passage at the very top, the product's promise


def tune(set_dir: Path, index: Path | None = None, settings: Settings | None = None,
         grid: dict | None = None) -> dict:
    """Every combination of `grid` on the set, best first by MRR@10 (then R@20)."""
    settings = replace(settings or Settings(), rerank=False, recency_boost=0.0)
    assistant, _ = open_eval_index(Path(set_dir), index, settings=settings, progress=True)
    store = assistant.store
    with open(Path(set_dir) / "questions.jsonl") as lines:
        questions = [json.loads(line) for line in lines]
    embed = cached_embed(assistant.embedder.embed)
    queries = [(q, Query(q["question"], 20, q["date"])) for q in questions]
    found = [(q, query, candidates(store, embed, query, settings)) for q, query in queries]
    texts: dict[int, str] = {}
    grid = grid or GRID
    rows = []
    for values in itertools.product(*grid.values()):
        variant = replace(settings, **dict(zip(grid, values)))
        runs = []
        for q, query, c in found:
            top = list(ranked(replace(c), query, variant).scores)[:20]
            missing = [i for i in top if i not in texts]
            texts.update({i: p.text for i, p in store.passages(missing).items()})
            shown = [texts[i] for i in top if i in texts]
            runs.append({"first": first_hit(shown, q["answers"]),
                         "mc": mc_correct(shown, q["choices"], q["answers"])})
        figures = score(runs)
        rows.append({**dict(zip(grid, values)),
                     **{k: figures[k] for k in ("R@1", "R@5", "R@20", "MRR@10", "MC")}})
    rows.sort(key=lambda r: (-r[OBJECTIVE], -r["R@20"]))
    return {"set": Path(set_dir).name, "questions": len(questions), "best": rows[0],
            "rows": rows}
