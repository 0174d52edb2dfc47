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
from .postings import best, by_id, kth, summed

FOLDER = "keyword"
LIST_FILE = "segments.json"
MERGE_FACTOR = 4  # this many segments of one size tier are merged into one
TIER_BASE = 1000  # passages; segments up to this size share the lowest tier
MAX_MERGED = 2_500_000  # passages: no merge makes a bigger segment (as Lucene caps a merged
# segment's size): a merge re-tokenises its passages, about 2.5 GB of memory a million
SHORT_LIST = 20_000  # postings: a token this rare is read whole rather than pruned


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
        return Totals(len(self), sum(s.length for s in self.segments),
                      sum(freqs, np.zeros(len(tokens))))

    def search(self, question: str, k: int, allowed: np.ndarray | None = None,
               totals: Totals | None = None, common: float = 0.0
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) with a positive score, among ids `allowed` (a mask by id).

        The scores are BM25 with the IDF and average passage length of the whole collection
        (`totals`: by default this index's own), tombstones counted as in Lucene: the same as
        one index over all passages. An index without token counts (format 1) keeps each
        segment's own average length.

        common: a share of the passages. A question word held by more than it only adds to
        the score of passages that its rarer words found, as Lucene's common-terms query
        does, unless every word is that common: the passages holding nothing but "said" and
        "year" no longer cost a read of millions of postings (0: every word finds passages).
        """
        tokens = tokenize([question])[0]
        empty = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if not tokens or not self.segments or k <= 0:
            return empty
        totals = totals or self.totals(question)
        if self.exact:
            return self._top_exact(tokens, totals, k, allowed, common)
        idf = idf_of(totals.freqs, totals.docs)
        found_ids, found_scores = [], []
        for segment in self.segments:
            column = segment.token_ids(tokens)
            freq = segment.doc_freqs(column)
            weights = np.where(freq > 0, idf / idf_of(freq, len(segment)), 0.0)
            positions, scores = segment.scores(column, weights)
            found_ids.append(segment.ids[positions])
            found_scores.append(scores)
        return best(found_ids, found_scores, k, allowed)

    def _top_exact(self, tokens: list[str], totals: Totals, k: int,
                   allowed: np.ndarray | None, common: float) -> tuple[np.ndarray, np.ndarray]:
        """The top k under collection-wide BM25, pruned as MaxScore prunes: tokens are read
        rarest first, every posting of each, until the k-th best score found beats all that
        the tokens left could add (a token adds at most its idf); those are then looked up
        only for the passages that can still reach the top k. The ids and scores are those of
        reading every posting (each passage's sum still runs in question order), at a fraction
        of the cost: at ten million passages a common word's postings alone took 100s of ms.
        The tokens past `common` (a share of the passages, and SHORT_LIST) are only looked up,
        if any token is rarer."""
        idf = idf_of(totals.freqs, totals.docs)
        average = totals.length / totals.docs
        columns = [segment.token_ids(tokens) for segment in self.segments]
        rarest_first = [int(t) for t in np.argsort(totals.freqs, kind="stable")
                        if totals.freqs[t] > 0]
        read: list[dict[int, tuple[np.ndarray, np.ndarray]]] = [{} for _ in self.segments]
        threshold, rest = 0.0, 0.0
        # Postings past which a token only scores what rarer ones found: no fewer than a list
        # costs to read whole, so the rule only ever spares a read of a long list.
        most = max(common * totals.docs, SHORT_LIST) if common > 0 else math.inf
        if rarest_first and totals.freqs[rarest_first[0]] > most:
            most = math.inf  # every token is common: all of them find passages
        for n, token in enumerate(rarest_first):
            if totals.freqs[token] > most:
                break  # the rest only score what was found (threshold and rest still hold)
            for segment, column, parts in zip(self.segments, columns, read):
                if column[token] >= 0:
                    parts[token] = segment.token_scores(column[token], idf[token], average)
            rest = float(idf[rarest_first[n + 1:]].sum())
            if rest == 0 or totals.freqs[rarest_first[n + 1]] < SHORT_LIST:
                continue  # nothing left, or the next list costs less than deciding to skip it
            threshold = kth(read, self.segments, allowed, k)
            if threshold > rest * (1 + 1e-9):
                break
        found_ids, found_scores = [], []
        for segment, column, parts in zip(self.segments, columns, read):
            positions, partial = summed(parts, len(tokens), len(segment))
            if allowed is not None:
                keep = by_id(allowed, segment.ids[positions], False)
                positions, partial = positions[keep], partial[keep]
            near = partial + rest >= threshold * (1 - 1e-9)
            positions, partial = positions[near], partial[near]
            looked = {t: segment.token_scores(column[t], idf[t], average, positions)
                      for t in range(len(tokens)) if t not in parts and column[t] >= 0}
            if looked:
                positions, partial = summed(parts | looked, len(tokens), len(segment),
                                             positions)
            found_ids.append(segment.ids[positions])
            found_scores.append(partial)
        return best(found_ids, found_scores, k, None)

    def added(self, segment: Segment) -> KeywordIndex:
        return KeywordIndex(self.segments + [segment])

    def merged(self, live, texts_of, name: str, progress: bool = False) -> KeywordIndex:
        """Merge where the policy says so: MERGE_FACTOR segments of one size tier become one
        unless that makes one over MAX_MERGED passages (so each passage is re-indexed about
        log4(MAX_MERGED / batch) times at most), and a segment more than half tombstones is
        rewritten. `live(ids)` marks the ids still stored,
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
            if len(group) >= MERGE_FACTOR and sum(map(len, group)) <= MAX_MERGED:
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


def _tier(size: int) -> int:
    """Example: 1000 -> 0, 4000 -> 1, 16000 -> 2 (with MERGE_FACTOR 4, TIER_BASE 1000)."""
    return int(math.log(max(size, TIER_BASE) / TIER_BASE, MERGE_FACTOR) + 1e-9)


def _rebuild(segments: list[Segment], live, texts_of, name: str, progress: bool) -> Segment:
    ids = np.sort(np.concatenate([s.ids for s in segments]))
    ids = ids[live(ids)]
    if not len(ids):
        return Segment(name, ids, None)
    return Segment.build(name, ids, texts_of(ids), progress)

