"""BM25 keyword search (bm25s) with English stemming and stopwords, keyed by passage id."""
from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

FOLDER = "keyword"
IDS_FILE = "ids.npy"


@lru_cache(maxsize=1)
def _stopwords() -> list[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS  # NLTK's English list: 'were', 'which', ...

    return list(STOPWORDS_EN_PLUS)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def words(text: str) -> list[tuple[int, int, str]]:
    """Each meaningful word's span and stem, as BM25 sees it, fast enough per query.

    Example: 'Who won the strikes?' -> [(12, 19, 'strike')]  ('who', 'won', 'the' are stopwords)
    """
    import re

    stop = _stopword_set()
    found = [(m.start(), m.end(), m.group().lower())
             for m in re.finditer(r"(?u)\b\w\w+\b", text)]
    found = [(start, end, w) for start, end, w in found if w not in stop]
    stemmed = _stemmer().stemWords([w for _, _, w in found])
    return [(start, end, stem) for (start, end, _), stem in zip(found, stemmed)]


def stems(text: str) -> list[tuple[int, str]]:
    """Example: 'The elections were held' -> [(4, 'elect'), (19, 'held')]"""
    return [(start, stem) for start, _, stem in words(text)]


@lru_cache(maxsize=1)
def _stopword_set() -> frozenset[str]:
    return frozenset(_stopwords())


def tokenize(texts: list[str]) -> list[list[str]]:
    """Example: ['The elections were held'] -> [['elect', 'held']]"""
    import bm25s

    return bm25s.tokenize(texts, stopwords=_stopwords(), stemmer=_stemmer(), return_ids=False,
                          show_progress=False)


class KeywordIndex:
    """A BM25 index over passage texts; rebuilt whole on each commit (bm25s has no appends)."""

    def __init__(self, ids: np.ndarray, bm25=None):
        self.ids = np.asarray(ids, dtype=np.int64)  # position in bm25 -> passage id
        self._bm25 = bm25

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, ids: list[int], texts: list[str]) -> "KeywordIndex":
        import bm25s

        if not texts:
            return cls(np.zeros(0, dtype=np.int64))
        bm25 = bm25s.BM25()
        tokens = bm25s.tokenize(texts, stopwords=_stopwords(), stemmer=_stemmer(), show_progress=False)
        bm25.index(tokens, show_progress=False)
        return cls(np.asarray(ids), bm25)

    def scores(self, question: str) -> np.ndarray:
        """BM25 score of every indexed passage, in `self.ids` order (zeros if no term known)."""
        if self._bm25 is None:
            return np.zeros(0, dtype=np.float32)
        token_ids = self._bm25.get_tokens_ids(tokenize([question])[0])
        if not token_ids:
            return np.zeros(len(self.ids), dtype=np.float32)
        return self._bm25.get_scores(token_ids)

    def search(self, question: str, k: int, allowed: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) with a positive score, among ids `allowed` (a mask by id)."""
        scores = self.scores(question)
        if not len(scores) or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if allowed is not None:
            known = self.ids < len(allowed)  # tombstones past the newest passage id
            keep = np.zeros(len(self.ids), dtype=bool)
            keep[known] = allowed[self.ids[known]]
            scores = np.where(keep, scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return self.ids[top], scores[top].astype(np.float32)

    def save(self, folder: Path) -> None:
        path = folder / FOLDER
        path.mkdir(parents=True, exist_ok=True)
        np.save(path / IDS_FILE, self.ids)
        if self._bm25 is not None:
            self._bm25.save(str(path), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> "KeywordIndex":
        import bm25s

        path = folder / FOLDER
        ids = np.load(path / IDS_FILE)
        if not len(ids):
            return cls(ids)
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        return cls(ids, bm25s.BM25.load(str(path), mmap=True, show_progress=False))
