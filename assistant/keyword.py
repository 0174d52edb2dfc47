"""BM25 keyword search (bm25s) with English stemming and stopwords, keyed by passage id.

bm25s cannot append to an index, so the index is a list of segments, as in Lucene: each
ingest batch adds one, small segments are merged into bigger ones now and then, and a search
scores every segment with collection-wide IDF so that the split does not change the ranking.
"""
from __future__ import annotations

import json
import logging
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .words import stemmer, stopwords, tokenize

FOLDER = "keyword"
IDS_FILE = "ids.npy"
LENGTHS_FILE = "lengths.npy"  # tokens per passage, for collection-wide BM25 (format 2)
LIST_FILE = "segments.json"
MERGE_FACTOR = 4  # this many segments of one size tier are merged into one
TIER_BASE = 1000  # passages; segments up to this size share the lowest tier


class Segment:
    """One immutable bm25s index over the passages of one ingest batch or one merge.

    Its files never change once written; a later generation links them in instead of
    rewriting them, so an ingest costs the BM25 work of its own passages only.
    """

    def __init__(self, name: str, ids: np.ndarray, bm25, path: Path | None = None,
                 lengths: np.ndarray | None = None):
        self.name = name
        self.ids = np.asarray(ids, dtype=np.int64)  # position in bm25 -> passage id
        self.bm25 = bm25
        self.path = path  # where its files lie once saved or loaded
        # Tokens per passage (by position); None in a segment written before they were kept.
        self.lengths = None if lengths is None else np.asarray(lengths, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, name: str, ids, texts: list[str], progress: bool = False) -> "Segment":
        """progress: bm25s's bars (rate and time left), worth it for a merge or a compaction."""
        import bm25s

        bm25 = bm25s.BM25()
        tokens = bm25s.tokenize(texts, stopwords=stopwords(), stemmer=stemmer(),
                                show_progress=progress)
        bm25.index(tokens, show_progress=progress)
        return cls(name, ids, bm25, lengths=[len(doc) for doc in tokens.ids])

    def token_ids(self, tokens: list[str]) -> np.ndarray:
        """Column of each token in this segment's matrix; -1 where it never occurs here."""
        vocab, columns = self.bm25.vocab_dict, len(self.bm25.scores["indptr"]) - 1
        return np.array([vocab.get(t, -1) if vocab.get(t, -1) < columns else -1
                         for t in tokens], dtype=np.int64)

    def doc_freqs(self, columns: np.ndarray) -> np.ndarray:
        indptr = self.bm25.scores["indptr"]
        known = columns >= 0
        out = np.zeros(len(columns), dtype=np.float64)
        out[known] = indptr[columns[known] + 1] - indptr[columns[known]]
        return out

    def scores(self, columns: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions, scores) of the passages holding any token, each token's bm25s score
        times its weight; bm25s stores idf * term part, so a weight can swap the idf."""
        matrix = self.bm25.scores
        data, indices, indptr = matrix["data"], matrix["indices"], matrix["indptr"]
        rows, values = [], []
        for column, weight in zip(columns, weights):
            if column >= 0:
                start, end = indptr[column], indptr[column + 1]
                rows.append(np.asarray(indices[start:end]))
                values.append(np.asarray(data[start:end], dtype=np.float64) * weight)
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        summed = np.bincount(np.concatenate(rows), np.concatenate(values), minlength=len(self))
        found = np.flatnonzero(summed > 0)
        return found, summed[found]

    def exact_scores(self, columns: np.ndarray, idf: np.ndarray, average: float
                     ) -> tuple[np.ndarray, np.ndarray]:
        """As `scores`, but BM25 under the collection's idf and average length: each stored
        score is idf * tf / (tf + k1 * (1 - b + b * length / segment average)), so with the
        passage's length and the segment's own idf it gives back tf (a whole number), which
        is scored again with the collection's figures. Scores so made do not depend on how
        the passages are split between segments or shards."""
        matrix, k1, b = self.bm25.scores, self.bm25.k1, self.bm25.b
        data, indices, indptr = matrix["data"], matrix["indices"], matrix["indptr"]
        own_idf = _idf(self.doc_freqs(columns), len(self))
        own_average = self.lengths.mean()
        rows, values = [], []
        for column, weight, own in zip(columns, idf, own_idf):
            if column >= 0:
                start, end = indptr[column], indptr[column + 1]
                at = np.asarray(indices[start:end])
                share = np.asarray(data[start:end], dtype=np.float64) / own
                lengths = self.lengths[at]
                tf = np.rint(share * k1 * (1 - b + b * lengths / own_average) / (1 - share))
                rows.append(at)
                values.append(weight * tf / (tf + k1 * (1 - b + b * lengths / average)))
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        summed = np.bincount(np.concatenate(rows), np.concatenate(values), minlength=len(self))
        found = np.flatnonzero(summed > 0)
        return found, summed[found]

    def save(self, folder: Path) -> None:
        """Write (or hard-link, when already on disk) this segment's files into `folder`."""
        target = folder / self.name
        target.mkdir(parents=True)
        if self.path is not None:
            for source in self.path.iterdir():
                _link_or_copy(source, target / source.name)
            return
        np.save(target / IDS_FILE, self.ids)
        if self.lengths is not None:
            np.save(target / LENGTHS_FILE, self.lengths)
        self.bm25.save(str(target), show_progress=False)

    @classmethod
    def load(cls, path: Path, name: str) -> "Segment":
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        lengths = np.load(path / LENGTHS_FILE) if (path / LENGTHS_FILE).is_file() else None
        return cls(name, np.load(path / IDS_FILE),
                   bm25s.BM25.load(str(path), mmap=True, show_progress=False), path, lengths)


@dataclass(frozen=True)
class Totals:
    """Collection figures for one question: passages (tombstones counted), their tokens,
    and each question token's document frequency. Totals of shards add up."""

    docs: int
    length: int
    freqs: np.ndarray

    def __add__(self, other: "Totals") -> "Totals":
        return Totals(self.docs + other.docs, self.length + other.length,
                      self.freqs + other.freqs)


class KeywordIndex:
    """The segments of one generation, searched as one BM25 index.

    Passages deleted or replaced since a segment was written stay in it as tombstones:
    searches mask them, merges and `compacted` drop them.
    """

    def __init__(self, segments: list[Segment] = ()):
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
    def build(cls, ids, texts: list[str], name: str = "s000000") -> "KeywordIndex":
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
        idf = _idf(totals.freqs, totals.docs)
        found_ids, found_scores = [], []
        for segment in self.segments:
            column = segment.token_ids(tokens)
            if self.exact:
                positions, scores = segment.exact_scores(column, idf,
                                                         totals.length / totals.docs)
            else:
                freq = segment.doc_freqs(column)
                weights = np.where(freq > 0, idf / _idf(freq, len(segment)), 0.0)
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

    def added(self, segment: Segment) -> "KeywordIndex":
        return KeywordIndex(self.segments + [segment])

    def merged(self, live, texts_of, name: str, progress: bool = False) -> "KeywordIndex":
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

    def compacted(self, live, texts_of, name: str, progress: bool = False) -> "KeywordIndex":
        """All live passages in one segment, tombstones dropped."""
        return KeywordIndex([_rebuild(self.segments, live, texts_of, name, progress)])

    def save(self, folder: Path) -> None:
        path = folder / FOLDER
        path.mkdir(parents=True, exist_ok=True)
        for segment in self.segments:
            segment.save(path)
        (path / LIST_FILE).write_text(json.dumps([s.name for s in self.segments]) + "\n")

    @classmethod
    def load(cls, folder: Path) -> "KeywordIndex":
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


def _idf(doc_freq: np.ndarray, docs: int) -> np.ndarray:
    """bm25s's (and Lucene's) idf: log(1 + (N - df + 0.5) / (df + 0.5))."""
    return np.log1p((docs - doc_freq + 0.5) / (doc_freq + 0.5))


def _tier(size: int) -> int:
    """Example: 1000 -> 0, 4000 -> 1, 16000 -> 2 (with MERGE_FACTOR 4, TIER_BASE 1000)."""
    return int(math.log(max(size, TIER_BASE) / TIER_BASE, MERGE_FACTOR) + 1e-9)


def _rebuild(segments: list[Segment], live, texts_of, name: str, progress: bool) -> Segment:
    ids = np.sort(np.concatenate([s.ids for s in segments]))
    ids = ids[live(ids)]
    if not len(ids):
        return Segment(name, ids, None)
    return Segment.build(name, ids, texts_of(ids), progress)


def _link_or_copy(source: Path, target: Path) -> None:
    """Hard links cost nothing and share the page cache; a copy where links are refused."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
