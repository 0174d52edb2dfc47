"""Choose the first stage's fusion, recency and card view on a validation set, from one pass.

    python scripts/first_stage_trial.py ../shared/eval/rtqa-2025 [--cache FILE]

Searches each question once (dense and BM25 candidates, no recency), caches what it found
with the answer holders and the passages' articles, texts and days, then scores every variant
from that cache in seconds: passage-level and card-level (one card per article) R@k, MRR@10
and MC, each with a paired 95% interval against the variant named `base`. Fits nothing: it
is for choosing settings on validation (rtqa-2025), never for the report set.
"""
from __future__ import annotations

import argparse
import itertools
import json
import pickle
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.search.dates import time_window
from assistant.search.fusion import blend, boost_window, recency_prior
from assistant.search.retrieve import Query, candidates
from assistant.storage.view import day
from assistant.tools.evaluate import (
    AnswerHolders,
    cached_embed,
    eval_index_dir,
    norm,
    paired_bootstrap,
    per_question,
)

POOL = 200


def collect(set_dir: Path, cache: Path) -> list[dict]:
    """One search a question (no recency), with everything a variant needs to be scored."""
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    from assistant.assistant import Assistant

    settings = Settings()
    assistant = Assistant(eval_index_dir(set_dir, settings), settings, create=False)
    store, embed = assistant.store, cached_embed(assistant.embedder.embed)
    holders = AnswerHolders(store)
    plain = replace(settings, recency_boost=0.0, candidates=POOL)
    out = []
    with open(set_dir / "questions.jsonl") as lines:
        questions = [json.loads(line) for line in lines]
    for q in questions:
        found = candidates(store, embed, Query(q["question"], 20, q["date"]), plain)
        ids = sorted(set(found.dense) | set(found.keyword))
        rows = store.passages(ids)
        window = time_window(Query(q["question"]).question, q["date"])
        out.append({"q": q, "dense": found.dense, "keyword": found.keyword,
                    "hits": holders(q["answers"]) & set(ids),
                    "article": {i: rows[i].article_id for i in ids},
                    "text": {i: rows[i].text for i in ids},
                    "day": {i: int(found.view.days[i]) for i in ids},
                    "window": (day(window.start), day(window.end)) if window else None})
    cache.write_bytes(pickle.dumps(out))
    return out


def order(item: dict, dense_w: float, keyword_w: float, boost: float, half_life: float,
          window_boost: float, within: int, scored: bool = False):
    """The fused order with recency as one more term of the score (fusion.recency_prior);
    half_life 0: the release's step boost of the favoured days (fusion.boost_window).
    scored: the scores by id, best first, instead of the ids."""
    fused = blend([{i: s for i, (_, s) in item["dense"].items()},
                   {i: s for i, (_, s) in item["keyword"].items()}], [dense_w, keyword_w])
    today = day(item["q"]["date"])
    if half_life == 0:
        first, last = item["window"] or (today - 7, today)
        scores = boost_window(fused, item["day"], first, last, boost)
    else:
        scores = recency_prior(fused, item["day"], today, boost, half_life, item["window"],
                               window_boost, within)
    return scores if scored else list(scores)


def cards(ids: list[int], article: dict, per_article: int) -> list[int]:
    """The ids that head a card: at most `per_article` a story (fusion.fold_articles' rule)."""
    if per_article <= 0:
        return ids
    seen: dict[str, int] = {}
    out = []
    for i in ids:
        seen[article[i]] = seen.get(article[i], 0) + 1
        if seen[article[i]] <= per_article:
            out.append(i)
    return out


def choices_named(item: dict) -> dict[int, list[str]]:
    """Which of the quiz's choices each pooled passage names (evaluate.mc_correct's rule)."""
    choices = [norm(c) for c in item["q"]["choices"] if norm(c)]
    out = {}
    for i, text in item["text"].items():
        padded = f" {norm(text)} "
        out[i] = [c for c in choices if f" {c} " in padded]
    return out


def metrics(items: list[dict], orders: list[list[int]]) -> dict[str, np.ndarray]:
    runs = []
    for item, ids in zip(items, orders):
        top = ids[:20]
        first = next((r for r, i in enumerate(top) if i in item["hits"]), None)
        decided = next((item["named"][i][0] for i in top if len(item["named"][i]) == 1), None)
        keys = {norm(a) for a in item["q"]["answers"] if len(norm(a)) >= 2}
        runs.append({"first": first, "mc": decided in keys})
    return per_question(runs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("set_dir", type=Path)
    parser.add_argument("--cache", type=Path)
    args = parser.parse_args(argv)
    cache = args.cache or Path(f"/tmp/first-stage-{args.set_dir.resolve().name}.pkl")
    items = collect(args.set_dir, cache)
    print(f"{len(items)} questions; pool hits {np.mean([bool(i['hits']) for i in items]):.3f}",
          file=sys.stderr)
    for item in items:
        item["named"] = choices_named(item)
    variants = {"fused": (1, 1, 0, 7, 0, 0), "release (step 0.5, 7 days)": (1, 1, 0.5, 0, 0, 0)}
    for w, b, h, wb, within in itertools.product((0.7, 1.0, 1.4), (0.1, 0.2, 0.3, 0.5),
                                                 (3, 7, 14, 30), (0.0, 0.3), (0, 20, 40)):
        variants[f"dense {w} boost {b} half {h} phrase {wb} within {within}"] = (
            w, 1, b, h, wb, within)
    base = {}
    rows = []
    for name, v in variants.items():
        ids = [order(item, *v) for item in items]
        for per in (0, 1, 2):
            m = metrics(items, [cards(o, it["article"], per) for o, it in zip(ids, items)])
            if name == "fused":
                base[per] = m
            row = {"variant": name, "per_article": per,
                   **{k: round(float(x.mean()), 3) for k, x in m.items()}}
            row["vs fused passage"] = {k: paired_bootstrap(m[k], base[0][k])
                                       for k in ("R@1", "R@5", "R@20", "MRR@10", "MC")}
            rows.append(row)
    for row in sorted(rows, key=lambda r: -(r["R@1"] + r["R@5"] + r["R@20"] + r["MC"])):
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
