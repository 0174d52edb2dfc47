"""The first stage over shards: the question embedded once, sent to every shard, their
candidates merged on (-score, global id), then fused and boosted by retrieve.py's own
functions, so a sharded collection ranks as one index of the same articles.

Two rounds: each shard's dense top-k with its BM25 figures for the question, then BM25 top-k
scored with the figures summed over shards (collection-wide idf and average length).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..search.retrieve import Candidates, Query, allowed_for, core_question, ranked
from .shard import Filters


def merge(found: list[tuple[np.ndarray, np.ndarray]], k: int) -> dict[int, tuple[int, float]]:
    """Shards' (ids, scores) as one ranking: best first, ties by id, top k.

    Example: merge([([4, 9], [.75, .5]), ([2], [.75])], 2) -> {2: (0, .75), 4: (1, .75)}
    """
    if not found:
        return {}
    ids = np.concatenate([np.asarray(i, dtype=np.int64) for i, _ in found])
    scores = np.concatenate([np.asarray(s, dtype=np.float32) for _, s in found])
    top = np.lexsort((ids, -scores))[:k]
    return {int(ids[j]): (rank, float(scores[j])) for rank, j in enumerate(top)}


def candidates(collection, embed: Callable[[list[str]], np.ndarray], query: Query,
               settings) -> Candidates:
    """`retrieve.candidates` for a collection (collection.Collection): same contract."""
    view = collection.view
    found = Candidates({}, allowed=allowed_for(view, query), view=view)
    if not found.allowed.any():
        return found
    text = core_question(query.question)
    vector = embed([text])[0] if settings.dense_weight > 0 else None
    filters = Filters(query.as_of, query.since, query.sources, query.exclude)
    first = collection.call("probe", text, vector, settings.candidates, filters)
    if vector is not None:
        found.dense = merge([(ids, sims) for ids, sims, _ in first], settings.candidates)
    if settings.keyword_weight > 0:
        totals = first[0][2]
        for _, _, more in first[1:]:
            totals = totals + more
        found.keyword = merge(collection.call("keyword", text, settings.candidates, filters,
                                              totals, settings.common_word_share),
                              settings.candidates)
    return ranked(found, query, settings)
