"""BM25 keyword search (bm25s) with English stemming and stopwords, keyed by passage id.

bm25s cannot append to an index, so the index is a list of segments, as in Lucene: each
ingest batch adds one, small segments are merged into bigger ones now and then, and a search
scores every segment with collection-wide IDF so that the split does not change the ranking.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..reading.words import tokenize
from .bm25_segment import IDS_FILE, Segment, idf_of

FOLDER = "keyword"
LIST_FILE = "segments.json"
MERGE_FACTOR = 4  # this many segments of one size tier are merged into one
TIER_BASE = 1000  # passages; segments up to this size share the lowest tier


@dataclass(frozen=True)
class Totals:
    """Collection figures for one question: passages (tombstones counted), their tokens,
    and each question token's document frequency. Totals of shards add up."""

    docs: int
    length: int
    freqs: np.ndarray

    def __add__(self, other: Totals) -> Totals:
        return Totals(self.docs + other.docs, self.length + other.length,
                      self.freqs + other.freqs)


class KeywordIndex:
    """The segments of one generation, searched as one BM25 index.

    Passages deleted or replaced since a segment was written stay in it as tombstones:
    searches mask them, merges and `compacted` drop them.
    """

    def __init__(self, segments: Sequence[Segment] = ()):
        self.segments = [s for s in segments if len(s)]

    @property
    def ids(self) -> np.ndarray:
        """Every passage id held, tombstones included."""
        if not self.segments:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([s.ids for s in self.segments])

    def __len__(self) -> int:
        return sum(len(s) for s in self.segments)

    @classmethod
    def build(cls, ids, texts: list[str], name: str = "s000000") -> KeywordIndex:
        return cls([Segment.build(name, ids, texts)] if len(texts) else [])

    @property
    def exact(self) -> bool:
        """Whether every segment keeps its passages' token counts (format 2; `check
        --repair` rebuilds an older BM25 index so that it does)."""
        return all(s.lengths is not None for s in self.segments)

    def totals(self, question: str) -> Totals:
        """What collection-wide BM25 needs from this index for `question`: summed over
        indexes (shards), the figures score each of them as one index of all passages."""
        tokens = tokenize([question])[0]
        freqs = [s.doc_freqs(s.token_ids(tokens)) for s in self.segments]
        return Totals(len(self), sum(int(s.lengths.sum()) for s in self.segments if
                                     s.lengths is not None),
                      sum(freqs, np.zeros(len(tokens))))

    def search(self, question: str, k: int, allowed: np.ndarray | None = None,
               totals: Totals | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) with a positive score, among ids `allowed` (a mask by id).

        The scores are BM25 with the IDF and average passage length of the whole collection
        (`totals`: by default this index's own), tombstones counted as in Lucene: the same as
        one index over all passages. An index without token counts (format 1) keeps each
        segment's own average length.
        """
        tokens = tokenize([question])[0]
        empty = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if not tokens or not self.segments or k <= 0:
            return empty
        totals = totals or self.totals(question)
        idf = idf_of(totals.freqs, totals.docs)
        found_ids, found_scores = [], []
        for segment in self.segments:
            column = segment.token_ids(tokens)
            if self.exact:
                positions, scores = segment.exact_scores(column, idf,
                                                         totals.length / totals.docs)
            else:
                freq = segment.doc_freqs(column)
                weights = np.where(freq > 0, idf / idf_of(freq, len(segment)), 0.0)
                positions, scores = segment.scores(column, weights)
            ids = segment.ids[positions]
            if allowed is not None:
                keep = by_id(allowed, ids, False)
                ids, scores = ids[keep], scores[keep]
            found_ids.append(ids)
            found_scores.append(scores.astype(np.float32))
        ids, scores = np.concatenate(found_ids), np.concatenate(found_scores)
        if not len(ids):
            return empty
        top = np.lexsort((ids, -scores))[:k]  # ties by id: the same order however split
        return ids[top], scores[top]

    def added(self, segment: Segment) -> KeywordIndex:
        return KeywordIndex(self.segments + [segment])

    def merged(self, live, texts_of, name: str, progress: bool = False) -> KeywordIndex:
        """Merge where the policy says so: MERGE_FACTOR segments of one size tier become one
        (so each passage is re-indexed about log4(collection / batch) times), and a segment
        more than half tombstones is rewritten. `live(ids)` marks the ids still stored,
        `texts_of(ids)` gives their indexed texts."""
        keep, todo = [], []
        for segment in self.segments:
            alive = int(live(segment.ids).sum())
            if alive * 2 < len(segment):
                todo.append([segment])
            elif alive:
                keep.append(segment)
        tiers: dict[int, list[Segment]] = {}
        for segment in keep:
            tiers.setdefault(_tier(len(segment)), []).append(segment)
        keep = []
        for group in tiers.values():
            if len(group) >= MERGE_FACTOR:
                todo.append(group)
            else:
                keep += group
        built = [_rebuild(group, live, texts_of, f"{name}-{i}", progress)
                 for i, group in enumerate(todo)]
        return KeywordIndex(keep + built)

    def compacted(self, live, texts_of, name: str, progress: bool = False) -> KeywordIndex:
        """All live passages in one segment, tombstones dropped."""
        return KeywordIndex([_rebuild(self.segments, live, texts_of, name, progress)])

    def save(self, folder: Path) -> None:
        path = folder / FOLDER
        path.mkdir(parents=True, exist_ok=True)
        for segment in self.segments:
            segment.save(path)
        (path / LIST_FILE).write_text(json.dumps([s.name for s in self.segments]) + "\n")

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        path = folder / FOLDER
        if not (path / LIST_FILE).is_file():  # one bm25s index, as format 1 wrote it
            legacy = np.load(path / IDS_FILE)
            return cls([Segment.load(path, "s000000")] if len(legacy) else [])
        names = json.loads((path / LIST_FILE).read_text())
        return cls([Segment.load(path / name, name) for name in names])


def by_id(values: np.ndarray, ids: np.ndarray, missing) -> np.ndarray:
    """values[ids], with `missing` for ids past the end (a passage deleted after the newest
    one still stored is past the end of every array indexed by passage id).

    Example: by_id(np.array([5, 6]), np.array([1, 3]), -1) -> [6, -1]
    """
    out = np.full(len(ids), missing, dtype=values.dtype)
    inside = ids < len(values)
    out[inside] = values[ids[inside]]
    return out


def _tier(size: int) -> int:
    """Example: 1000 -> 0, 4000 -> 1, 16000 -> 2 (with MERGE_FACTOR 4, TIER_BASE 1000)."""
    return int(math.log(max(size, TIER_BASE) / TIER_BASE, MERGE_FACTOR) + 1e-9)


def _rebuild(segments: list[Segment], live, texts_of, name: str, progress: bool) -> Segment:
    ids = np.sort(np.concatenate([s.ids for s in segments]))
    ids = ids[live(ids)]
    if not len(ids):
        return Segment(name, ids, None)
    return Segment.build(name, ids, texts_of(ids), progress)

