"""Pure functions over BM25 posting lists (sorted positions with their scores): summed in
question order, a floor under the k-th best, the top k. What keyword.py's pruned search is
made of, apart from the index that holds the lists."""
from __future__ import annotations

import numpy as np

from .bm25_segment import Segment


def by_id(values: np.ndarray, ids: np.ndarray, missing) -> np.ndarray:
    """values[ids], with `missing` for ids past the end (a passage deleted after the newest
    one still stored is past the end of every array indexed by passage id).

    Example: by_id(np.array([5, 6]), np.array([1, 3]), -1) -> [6, -1]
    """
    out = np.full(len(ids), missing, dtype=values.dtype)
    inside = ids < len(values)
    out[inside] = values[ids[inside]]
    return out


def summed(parts: dict[int, tuple[np.ndarray, np.ndarray]], tokens: int, size: int,
            positions: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(positions, scores) from each token's (sorted positions, scores), summed in token order
    as one pass over all postings sums them: over the sorted `positions` where given (each
    looked up in each token's list), else over every position any token holds (an accumulator
    of the segment's `size`, as a bincount; of the positions held when they are few, since
    zeroing and scanning a million-passage accumulator cost more than the postings).

    Example: ({1: ([2], [0.5]), 0: ([2, 7], [1.0, 2.0])}, 2, 8) -> ([2, 7], [1.5, 2.0])
    """
    if positions is None:
        held = [parts[token][0] for token in range(tokens) if token in parts]
        few = sum(map(len, held)) * 8 < size
        slots = union(held) if few and held else None
        total = np.zeros(size if slots is None else len(slots))
        for token in range(tokens):
            if token in parts:
                at, scores = parts[token]  # a position appears once in a token's list
                total[at if slots is None else np.searchsorted(slots, at)] += scores
        keep = np.flatnonzero(total > 0)
        return (keep if slots is None else slots[keep]), total[keep]
    total = np.zeros(len(positions))
    for token in range(tokens):
        if token in parts:
            at, scores = parts[token]
            where = np.minimum(np.searchsorted(at, positions), max(len(at) - 1, 0))
            term = np.where(at[where] == positions, scores[where], 0.0) if len(at) else 0.0
            total = total + term
    return positions, total


def union(sorted_lists: list[np.ndarray]) -> np.ndarray:
    """The sorted distinct values of some sorted arrays (np.unique took 0.6 ms for a
    thousand; a sort takes 20 us).

    Example: union([np.array([2, 7]), np.array([2, 3])]) -> [2, 3, 7]
    """
    values = np.sort(np.concatenate(sorted_lists))
    return values[np.concatenate(([True], values[1:] != values[:-1]))] if len(values) else values


def kth(read: list[dict], segments: list[Segment], allowed: np.ndarray | None, k: int) -> float:
    """A floor under the final k-th best score among the allowed passages: the best, over the
    tokens read, of the k-th best score that token alone gives (k passages score at least
    that much, since sums only grow); 0 while no token reaches k passages. Cheaper than
    summing every list read so far, which took 100s of ms at ten million passages."""
    floor = 0.0
    for token in {t for parts in read for t in parts}:
        scores = []
        for segment, parts in zip(segments, read):
            if token in parts:
                at, values = parts[token]
                scores.append(values if allowed is None
                              else values[by_id(allowed, segment.ids[at], False)])
        found = np.concatenate(scores)
        if len(found) >= k:
            floor = max(floor, float(np.partition(found, len(found) - k)[len(found) - k]))
    return floor


def best(found_ids: list[np.ndarray], found_scores: list[np.ndarray], k: int,
          allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The top k of the segments' (ids, scores) with a positive score, among `allowed`;
    ties by id, so that the order is the same however the passages are split."""
    ids = np.concatenate(found_ids) if found_ids else np.zeros(0, dtype=np.int64)
    scores = (np.concatenate([s.astype(np.float32) for s in found_scores]) if found_scores
              else np.zeros(0, dtype=np.float32))
    keep = scores > 0
    if allowed is not None:
        keep &= by_id(allowed, ids, False)
    ids, scores = ids[keep], scores[keep]
    top = np.lexsort((ids, -scores))[:k]
    return ids[top], scores[top]
