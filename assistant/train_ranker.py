"""Train the learned ranker on a RealTime-QA-style set (rtqa-2024: never the test set).

Each question's top candidates from the first stage become a group; a passage is relevant
when it holds an answer string, exactly as the eval counts a hit.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .config import Settings
from .errors import AssistantError
from .evaluate import first_hit, open_eval_index
from .rerank import FEATURES, MODEL_FILE, features
from .retrieve import Query, candidates

PARAMS = {"objective": "lambdarank", "metric": "ndcg", "eval_at": [1, 5, 10],
          "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 40,
          "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1,
          "lambdarank_truncation_level": 20, "verbose": -1, "seed": 7, "num_threads": 2}


def training_groups(set_dir: Path, settings: Settings, depth: int, index: Path | None = None):
    """(weeks, matrices, labels): one group a question that has a hit among its candidates."""
    assistant, _ = open_eval_index(set_dir, index, settings=settings, progress=True)
    questions = [json.loads(line) for line in open(Path(set_dir) / "questions.jsonl")]
    weeks, matrices, labels = [], [], []
    for q in questions:
        query = Query(q["question"], 20, q["date"])
        found = candidates(assistant.store, assistant.embedder.embed, query, settings)
        ids, matrix, rows = features(assistant.store, query, found, depth)
        label = np.array([first_hit([rows[i].text], q["answers"]) == 0 for i in ids], dtype=int)
        if label.any():
            weeks.append(q["date"])
            matrices.append(matrix)
            labels.append(label)
    return weeks, matrices, labels


def train(set_dir: Path, out: Path = MODEL_FILE, depth: int = 30, rounds: int = 400,
          settings: Settings | None = None, index: Path | None = None) -> dict:
    """Fit on the earlier 80% of weeks, stop early on the later 20%, refit on all; save."""
    import lightgbm

    settings = settings or Settings()
    weeks, matrices, labels = training_groups(set_dir, settings, depth, index)
    if not weeks:
        raise AssistantError(f"no question of {set_dir} has an answer among its candidates")
    cut = sorted(set(weeks))[int(0.8 * len(set(weeks)))]
    fit = [g for g, w in enumerate(weeks) if w < cut] or list(range(len(weeks)))
    held = [g for g, w in enumerate(weeks) if w >= cut]

    def dataset(groups):
        return lightgbm.Dataset(np.vstack([matrices[g] for g in groups]),
                                np.concatenate([labels[g] for g in groups]),
                                group=[len(labels[g]) for g in groups],
                                feature_name=FEATURES, free_raw_data=False)

    probe = lightgbm.train(PARAMS, dataset(fit), num_boost_round=rounds,
                           valid_sets=[dataset(held)],
                           callbacks=[lightgbm.early_stopping(40, verbose=False)])
    best = probe.best_iteration or rounds
    final = lightgbm.train(PARAMS, dataset(fit + held), num_boost_round=best)
    out.parent.mkdir(parents=True, exist_ok=True)
    final.save_model(str(out))
    return {"groups": len(weeks), "fit": len(fit), "held_out": len(held), "rounds": best,
            "held_out_ndcg": {k: round(v, 4) for k, v in probe.best_score["valid_0"].items()},
            "model": str(out), "bytes": out.stat().st_size}
