"""FAISS inner-product search over passage vectors, keyed by passage id."""
from __future__ import annotations

from pathlib import Path

import numpy as np

FILE = "dense.faiss"


class DenseIndex:
    """Exact inner product over unit vectors (= cosine); ids are the passages' SQLite ids."""

    def __init__(self, dim: int, index=None):
        import faiss

        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def __len__(self) -> int:
        return self._index.ntotal

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                     np.asarray(ids, dtype=np.int64))

    def remove(self, ids: list[int]) -> None:
        if ids:
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) among ids whose entry in the boolean `allowed` is True."""
        import faiss

        if not len(self) or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        params = None
        if allowed is not None:
            bits = np.packbits(allowed, bitorder="little")  # must outlive the search
            params = faiss.SearchParameters(
                sel=faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits)))
        scores, ids = self._index.search(vector.reshape(1, -1).astype(np.float32),
                                         min(k, len(self)), params=params)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def ids(self) -> np.ndarray:
        import faiss

        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def save(self, folder: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(folder / FILE))

    @classmethod
    def load(cls, folder: Path, dim: int) -> "DenseIndex":
        import faiss

        return cls(dim, faiss.read_index(str(folder / FILE)))
