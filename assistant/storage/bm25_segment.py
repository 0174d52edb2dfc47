"""One BM25 segment: an immutable bm25s index over the passages of one ingest batch or merge,
with its passages' token counts so that it can be scored with collection-wide figures."""
from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from itertools import chain
from pathlib import Path

import numpy as np

from ..reading.words import stemmer, stopwords

IDS_FILE = "ids.npy"
LENGTHS_FILE = "lengths.npy"  # tokens per passage, for collection-wide BM25 (format 2)


class Segment:
    """One immutable bm25s index over the passages of one ingest batch or one merge.

    Its files never change once written; a later generation links them in instead of
    rewriting them, so an ingest costs the BM25 work of its own passages only.
    """

    def __init__(self, name: str, ids: np.ndarray, bm25, path: Path | None = None,
                 lengths: Sequence[int] | np.ndarray | None = None):
        self.name = name
        self.ids = np.asarray(ids, dtype=np.int64)  # position in bm25 -> passage id
        self.bm25 = bm25
        self.path = path  # where its files lie once saved or loaded
        # Tokens per passage (by position); None in a segment written before they were kept.
        self.lengths = None if lengths is None else np.asarray(lengths, dtype=np.int64)
        # Summed once: every question's collection-wide BM25 needs it (8 ms a question over
        # ten segments of a million when it summed the arrays each time).
        self.length = int(self.lengths.sum()) if self.lengths is not None else 0
        self.average = self.length / len(ids) if self.lengths is not None and len(ids) else 0.0

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, name: str, ids, texts: list[str], progress: bool = False) -> Segment:
        """progress: bm25s's bars (rate and time left), worth it for a merge or a compaction."""
        import bm25s

        bm25 = bm25s.BM25()
        tokens = bm25s.tokenize(texts, stopwords=stopwords(), stemmer=stemmer(),
                                show_progress=progress)
        lengths = np.fromiter(map(len, tokens.ids), np.int64, len(tokens.ids))
        bm25.scores = score_matrix(tokens.ids, lengths, len(tokens.vocab), bm25.k1, bm25.b)
        # What bm25s's own index() leaves: the vocabulary, and an empty token past its columns.
        bm25.vocab_dict = {**tokens.vocab, "": len(tokens.vocab)}
        bm25.unique_token_ids_set = set(bm25.vocab_dict.values())
        bm25.nonoccurrence_array = None  # Lucene's BM25 scores absent tokens zero
        return cls(name, ids, bm25, lengths=lengths)

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

    def token_scores(self, column: int, idf: float, average: float,
                     at: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(positions, scores) of one token under the collection's idf and average length:
        of every passage holding it, or of those among the sorted positions `at` that do.

        Each stored score is idf * tf / (tf + k1 * (1 - b + b * length / segment average)), so
        with the passage's length and the segment's own idf it gives back tf (a whole number),
        which is scored again with the collection's figures. Scores so made do not depend on
        how the passages are split between segments or shards."""
        matrix, k1, b = self.bm25.scores, self.bm25.k1, self.bm25.b
        start, end = int(matrix["indptr"][column]), int(matrix["indptr"][column + 1])
        postings = matrix["indices"][start:end]  # sorted: bm25s adds passages in order
        if at is None:
            positions, stored = np.asarray(postings), matrix["data"][start:end]
        else:  # a few lookups in a long, memory-mapped list instead of reading all of it
            where = np.minimum(np.searchsorted(postings, at), max(end - start - 1, 0))
            held = (np.asarray(postings[where]) == at) if end > start else at < 0
            positions, stored = at[held], matrix["data"][start + where[held]]
        assert self.lengths is not None  # callers score exactly only when every segment has them
        lengths = self.lengths[positions]
        share = np.asarray(stored, dtype=np.float64) / idf_of(np.array(end - start), len(self))
        tf = np.rint(share * k1 * (1 - b + b * lengths / self.average) / (1 - share))
        return positions, idf * tf / (tf + k1 * (1 - b + b * lengths / average))

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
    def load(cls, path: Path, name: str) -> Segment:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        lengths = np.load(path / LENGTHS_FILE) if (path / LENGTHS_FILE).is_file() else None
        return cls(name, np.load(path / IDS_FILE),
                   bm25s.BM25.load(str(path), mmap=True, show_progress=False), path, lengths)


def score_matrix(token_ids: list[list[int]], lengths: np.ndarray, vocab: int, k1: float,
                 b: float) -> dict:
    """bm25s's score matrix (Lucene's BM25: passages by rows, tokens by columns, compressed by
    column) built with whole-array operations: what bm25s's `index` builds one passage at a
    time, in Python, at 13 s a 100,000 passages where this takes 1.

    Example: token_ids [[0, 1, 0], [1]], lengths [3, 1], vocab 2 -> column 0 holds passage 0
    (tf 2), column 1 passages 0 and 1 (tf 1 each).
    """
    import scipy.sparse as sp

    docs = len(token_ids)
    passage = np.repeat(np.arange(docs, dtype=np.int64), lengths)
    token = np.fromiter(chain.from_iterable(token_ids), np.int64, int(lengths.sum()))
    pairs, tf = np.unique(passage * vocab + token, return_counts=True)
    row, column = pairs // vocab, pairs % vocab
    freq = np.bincount(column, minlength=vocab).astype(np.float64)
    idf = idf_of(freq, docs)
    norm = k1 * ((1 - b) + b * lengths[row] / max(lengths.mean(), 1e-9)) if docs else 0
    matrix = sp.csc_matrix((idf[column] * tf / (norm + tf), (row, column)),
                           shape=(docs, vocab), dtype=np.float32)
    matrix.sort_indices()
    return {"data": matrix.data, "indices": matrix.indices.astype(np.int32),
            "indptr": matrix.indptr, "num_docs": docs}


def idf_of(doc_freq: np.ndarray, docs: int) -> np.ndarray:
    """bm25s's (and Lucene's) idf: log(1 + (N - df + 0.5) / (df + 0.5))."""
    return np.log1p((docs - doc_freq + 0.5) / (doc_freq + 0.5))


def _link_or_copy(source: Path, target: Path) -> None:
    """Hard links cost nothing and share the page cache; a copy where links are refused."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
