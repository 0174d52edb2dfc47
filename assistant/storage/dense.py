"""FAISS inner-product search over passage vectors, keyed by passage id.

Exact search up to `exact_limit` vectors; past it the index turns itself into an inverted
file of 8-bit scalar-quantised vectors (IVF-SQ8): about 0.4 GB a million passages instead of
1.5, questions that scan a seventh of the collection, and ids it can still remove in place (no
tombstones, no compaction). Each time the collection doubles past the size its lists were
fitted to, the index refits them from its own vectors.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np

FILE = "dense.faiss"
EXACT_LIMIT = 200_000  # vectors; exact search stays under ~10 ms a question up to here
PROBE_SHARE = 0.15  # of the inverted lists scanned per question at a million vectors or fewer
PROBE_GROWTH = 0.6  # past a million, the share grows as (vectors / 1M) ** this, up to ...
MAX_PROBE_SHARE = 0.4  # ... this: on clustered vectors, 0.15 kept recall@10 at 0.959 at 1M
# but gave 0.915 at 5M, where 0.25 gave 0.938 and 0.4 gave 0.958.


class DenseIndex:
    """Inner product over unit vectors (= cosine); ids are the passages' SQLite ids."""

    def __init__(self, dim: int, index=None, exact_limit: int = EXACT_LIMIT,
                 probe_share: float = PROBE_SHARE):
        import faiss

        self.dim = dim
        self.exact_limit = exact_limit
        self.probe_share = probe_share
        # An exact IndexIDMap2 or, past `exact_limit`, an IVF index: they share no faiss type.
        self._index: Any = (index if index is not None
                            else faiss.IndexIDMap2(faiss.IndexFlatIP(dim)))

    def __len__(self) -> int:
        return self._index.ntotal

    @property
    def approximate(self) -> bool:
        return hasattr(self._index, "nlist")

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if not len(ids):
            return
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                 np.asarray(ids, dtype=np.int64))
        if len(self) > self._fitted_for():
            self._refit()

    def _fitted_for(self) -> int:
        """The size the current index suits: exact up to the limit; lists until twice the
        size they were fitted to (sizes inverted from `build_ivf`'s choice of nlist)."""
        if not self.approximate:
            return self.exact_limit
        nlist = self._index.nlist
        return max(2 * max(nlist * nlist // 4, 39 * nlist), self.exact_limit)

    def _refit(self) -> None:
        import faiss

        if self.approximate:  # reconstruct by id needs a map from id to list position
            # faiss's stubs lack the DirectMap enum its SWIG module has.
            self._index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        self._index = build_ivf(self.ids(), self._index.reconstruct_batch)

    def remove(self, ids: list[int]) -> None:
        if len(ids):
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(self, vector: np.ndarray, k: int, allowed: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) among ids whose entry in the boolean `allowed` is True."""
        if not len(self) or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        import faiss

        bits = None if allowed is None else np.packbits(allowed, bitorder="little")
        params = self._params(allowed, bits)  # holds a pointer into `bits`: keep both alive
        # One question gains nothing from OpenMP, and its idle threads spinning on busy cores
        # made a 100k exact search 5x slower (51 ms against 10 ms on one thread).
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            scores, ids = self._index.search(vector.reshape(1, -1).astype(np.float32),
                                             min(k, len(self)), params=params)
        finally:
            faiss.omp_set_num_threads(threads)
        ids, scores = ids[0][ids[0] >= 0], scores[0][ids[0] >= 0]
        order = np.lexsort((ids, -scores))  # ties by id: the same order however sharded
        return ids[order], scores[order]

    def _params(self, allowed: np.ndarray | None, bits: np.ndarray | None):
        import faiss

        selector = (None if allowed is None or bits is None
                    else faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits)))
        # faiss's stubs give SearchParameters* no-argument constructors; its class wrappers
        # take the fields as keywords (and keep `sel` alive with the parameters).
        if not self.approximate:
            return (None if selector is None
                    else faiss.SearchParameters(sel=selector))  # type: ignore[call-arg]
        # An as-of date that leaves a tenth of the passages needs ten times the lists to find
        # as many of them: scale the scan by the share allowed.
        share = 1.0 if allowed is None else max(np.count_nonzero(allowed) / len(self), 1e-9)
        nlist = self._index.nlist
        base = probe_share_for(len(self), self.probe_share)
        nprobe = min(nlist, math.ceil(base * nlist / min(share, 1.0)))
        if selector is None:
            return faiss.SearchParametersIVF(nprobe=nprobe)  # type: ignore[call-arg]
        return faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)  # type: ignore[call-arg]

    def ids(self) -> np.ndarray:
        import faiss

        if not self.approximate:
            return faiss.vector_to_array(self._index.id_map).astype(np.int64)
        lists = self._index.invlists
        return np.concatenate([np.zeros(0, dtype=np.int64)] + [
            faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
            for i in range(lists.nlist) if lists.list_size(i)])

    def save(self, folder: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(folder / FILE))

    @classmethod
    def load(cls, folder: Path, dim: int, **options) -> DenseIndex:
        import faiss

        return cls(dim, faiss.read_index(str(folder / FILE)), **options)


def probe_share_for(vectors: int, share: float = PROBE_SHARE) -> float:
    """Example: 1,000,000 -> 0.15; 2,000,000 -> 0.227; 5,000,000 -> 0.394; 10M -> 0.4 (cap)."""
    return min(MAX_PROBE_SHARE, share * max(1.0, vectors / 1e6) ** PROBE_GROWTH)


def build_ivf(ids: np.ndarray, vectors: Callable[[np.ndarray], np.ndarray], seed: int = 0):
    """An IVF-SQ8 index of the vectors with these ids (`vectors(ids)` fetches them), with
    2 x sqrt(n) lists trained on a sample; vectors are fetched in slices, never all at once.

    Example: 1,000,000 ids -> 2,000 lists of ~500, trained on 128,000 of the vectors.
    """
    import faiss

    n = len(ids)
    nlist = max(1, min(int(2 * math.sqrt(n)), n // 39))  # k-means wants >= 39 points a list
    sample = np.sort(np.random.default_rng(seed).choice(ids, min(n, 64 * nlist), replace=False))
    train = np.ascontiguousarray(vectors(sample), dtype=np.float32)
    index = cast(faiss.IndexIVF, faiss.index_factory(train.shape[1], f"IVF{nlist},SQ8",
                                                     faiss.METRIC_INNER_PRODUCT))
    index.cp.max_points_per_centroid = 64  # training on more moves recall little, costs much
    index.train(train)
    for start in range(0, n, 100_000):
        part = np.asarray(ids[start:start + 100_000], dtype=np.int64)
        index.add_with_ids(np.ascontiguousarray(vectors(part), dtype=np.float32), part)
    return index
