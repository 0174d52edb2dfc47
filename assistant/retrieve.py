"""Hybrid retrieval: dense and keyword candidates under the as-of rule, fused and ranked."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from .config import Settings
from .dates import time_window
from .fusion import boost_window, collapse_duplicates, rrf
from .store import Store, day
from .types import Passage


@dataclass(frozen=True)
class Query:
    """A question with its filters; `as_of` is a hard limit on article dates."""

    question: str
    k: int = 5
    as_of: str | None = None
    since: str | None = None
    sources: tuple[str, ...] = ()


def search(store: Store, embed: Callable[[list[str]], np.ndarray], query: Query,
           settings: Settings) -> list[Passage]:
    """The top `query.k` passages, best first; none dated after `query.as_of`."""
    allowed = store.allowed(query.as_of, query.since, list(query.sources))
    if not allowed.any():
        return []
    rankings, weights = [], []
    if settings.dense_weight > 0 and store.dense is not None and len(store.dense):
        ids, _ = store.dense.search(embed([query.question])[0], settings.candidates, allowed)
        rankings.append(ids.tolist())
        weights.append(settings.dense_weight)
    if settings.keyword_weight > 0:
        ids, _ = store.keyword.search(query.question, settings.candidates, allowed)
        rankings.append(ids.tolist())
        weights.append(settings.keyword_weight)
    scores = rrf(rankings, weights, settings.rrf_k)
    first, last = favoured_days(store, query, settings)
    scores = boost_window(scores, {i: int(store.days[i]) for i in scores}, first, last,
                          settings.recency_boost)
    # Fetch a few more than k: collapsing duplicates may merge some of them.
    wanted = list(scores)[: query.k * 3 if settings.dedupe else query.k]
    rows = store.passages(wanted)
    ranked = [replace(rows[i], score=round(scores[i], 6)) for i in wanted
              if i in rows and allowed[i] and (not query.as_of or rows[i].date <= query.as_of)]
    if settings.dedupe:
        ranked = collapse_duplicates(ranked)
    return ranked[: query.k]


def favoured_days(store: Store, query: Query, settings: Settings) -> tuple[int, int]:
    """The days whose articles come first: those a time phrase in the question names, else
    the `recency_days` before the as-of date (or before the newest article, for an archive)."""
    window = time_window(query.question, query.as_of) if query.as_of else None
    if window:
        return day(window.start), day(window.end)
    newest = day(query.as_of) if query.as_of else int(store.days.max(initial=0))
    return newest - settings.recency_days, newest
