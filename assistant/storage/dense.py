"""FAISS inner-product search over passage vectors, keyed by passage id.

Exact search up to `exact_limit` vectors; past it the index turns itself into an inverted
file of product-quantised codes (IVF-PQ, 48 bytes a vector): 0.06 GB a million passages in
memory instead of 1.5, questions that scan a small share of the lists, and ids it can still
remove in place (no tombstones, no compaction). The codes are 4 bits a sub-vector, laid out
for FAISS's fast scan, which compares 32 codes at once from tables held in SIMD registers:
at a million clustered vectors, 2-3x faster than one byte a sub-vector, same recall.
The codes only pick candidates: the best REFINE_DEPTH times k of them are re-scored with
their float16 vectors, read from a memory-mapped file (`vector_file`), so the codes' error
costs speed, not recall. Each time the collection doubles past the size its lists were
fitted to, the index refits them from that file. (An index written before the file existed
is IVF-SQ8 without re-scoring until its first write, which fills the file from its own
vectors, and its next refit; one written before fast scan keeps one byte a sub-vector until
its next refit.)
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np

from .vector_file import FILE as VECTOR_FILE, VectorFile

FILE = "dense.faiss"
EXACT_LIMIT = 200_000  # vectors; exact search stays under ~10 ms a question up to here
PROBE_SHARE = 0.2  # of the inverted lists scanned per question at a million vectors or fewer
PROBE_GROWTH = 0.1  # past a million, the share grows as (vectors / 1M) ** this, up to ...
MAX_PROBE_SHARE = 0.3  # ... this. On the scale bench's planted-story questions (`assistant
# bench --store-scale`, as-of dates included) recall@10 was 0.894 at 0.1 and 0.958 at 0.2 at
# 1M; 0.948 at 0.2, 0.970 at 0.25 and 0.979 at 0.3 at 10M. Fast scan makes the wider scan cheap.
REFINE_DEPTH = 10  # candidates taken from the codes per result, then re-scored exactly: 4 gave
# recall@10 0.922 on clustered vectors, 10 gave 0.998 (the codes order near neighbours coarsely)


class DenseIndex:
    """Inner product over unit vectors (= cosine); ids are the passages' SQLite ids."""

    def __init__(self, dim: int, index=None, exact_limit: int = EXACT_LIMIT,
                 probe_share: float = PROBE_SHARE, vectors: VectorFile | None = None):
        """vectors: the float16 copies to re-score with (in memory where none is given)."""
        import faiss

        self.dim = dim
        self.exact_limit = exact_limit
        self.probe_share = probe_share
        self.vectors = vectors if vectors is not None else VectorFile(None, dim)
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
        if not self.vectors.exists and len(self):  # an index older than its vector file
            held = self.ids()
            for start in range(0, len(held), 100_000):
                part = held[start:start + 100_000]
                self.vectors.write(part, self._reconstruct(part))
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                 np.asarray(ids, dtype=np.int64))
        self.vectors.write(ids, vectors)
        if len(self) > self._fitted_for():
            self._refit()

    def _fitted_for(self) -> int:
        """The size the current index suits: exact up to the limit; lists until twice the
        size they were fitted to (sizes inverted from `build_ivf`'s choice of nlist)."""
        if not self.approximate:
            return self.exact_limit
        nlist = self._index.nlist
        return max(2 * max(nlist * nlist // 4, 39 * nlist), self.exact_limit)

    def _reconstruct(self, ids: np.ndarray) -> np.ndarray:
        import faiss

        if self.approximate:  # reconstruct by id needs a map from id to list position
            # faiss's stubs lack the DirectMap enum its SWIG module has.
            self._index.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        return self._index.reconstruct_batch(ids)

    def _refit(self) -> None:
        self._index = build_ivf(self.ids(), self.vectors_of)

    def vectors_of(self, ids: np.ndarray) -> np.ndarray:
        """The stored vectors of these ids; the index's own copies where a row is missing
        (a damaged file: `check` reports it), never zeros."""
        rows, held = self.vectors.read(ids)
        if not held.all():
            rows[~held] = self._reconstruct(np.asarray(ids)[~held])
        return rows

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
        query = vector.reshape(1, -1).astype(np.float32)
        depth = k * REFINE_DEPTH if self.approximate and len(self.vectors) else k
        try:
            scores, ids = self._index.search(query, min(depth, len(self)), params=params)
        finally:
            faiss.omp_set_num_threads(threads)
        ids, scores = ids[0][ids[0] >= 0], scores[0][ids[0] >= 0]
        if depth > k:  # re-score the codes' candidates with the stored vectors
            exact, held = self.vectors.read(ids)
            scores = np.where(held, exact @ query[0], scores).astype(np.float32)
        order = np.lexsort((ids, -scores))[:k]  # ties by id: the same order however sharded
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

        self.vectors.sync()
        faiss.write_index(self._index, str(folder / FILE))

    @classmethod
    def load(cls, folder: Path, dim: int, vectors: Path | None = None, **options) -> DenseIndex:
        """vectors: the float16 file (by default the one beside a generation's folder)."""
        import faiss

        vectors = vectors or folder.parent / VECTOR_FILE
        return cls(dim, faiss.read_index(str(folder / FILE)), vectors=VectorFile(vectors, dim),
                   **options)


def probe_share_for(vectors: int, share: float = PROBE_SHARE) -> float:
    """Example: 1,000,000 -> 0.2; 2,000,000 -> 0.214; 5,000,000 -> 0.234; 10M -> 0.252."""
    return min(MAX_PROBE_SHARE, share * max(1.0, vectors / 1e6) ** PROBE_GROWTH)


def build_ivf(ids: np.ndarray, vectors: Callable[[np.ndarray], np.ndarray], seed: int = 0,
              code: str | None = None):
    """An IVF-PQ index of the vectors with these ids (`vectors(ids)` fetches them): 2 x sqrt(n)
    lists trained on a sample, residuals coded in 4 bits per 4 dimensions for fast scan (SQ8
    where the dimension is no multiple of 8); vectors are fetched in slices, never at once.

    Example: 1,000,000 ids of 384 dimensions -> 2,000 lists of ~500, 48-byte codes, trained
    on 64,000 of the vectors. code: another FAISS code for the lists, for a trial to compare.
    """
    import faiss

    n = len(ids)
    nlist = max(1, min(int(2 * math.sqrt(n)), n // 39))  # k-means wants >= 39 points a list
    sample = np.sort(np.random.default_rng(seed).choice(ids, min(n, 32 * nlist), replace=False))
    train = np.ascontiguousarray(vectors(sample), dtype=np.float32)
    dim = train.shape[1]
    # Re-scoring from float16 makes the codes' finer error moot: on 1M clustered vectors one
    # byte per 8 dimensions and 4 bits per 4 gave the same recall@10 at every scan share.
    code = code or (f"PQ{dim // 4}x4fs" if dim % 8 == 0 else "SQ8")
    index = cast(faiss.IndexIVF, faiss.index_factory(dim, f"IVF{nlist},{code}",
                                                     faiss.METRIC_INNER_PRODUCT))
    # Lists only choose what the codes scan, and re-scoring forgives a rough list: 32 points a
    # list and 10 rounds of k-means keep a refit at 6.4M vectors to a minute or two.
    index.cp.max_points_per_centroid, index.cp.niter = 32, 10
    if hasattr(index, "pq"):  # codes trained on 16k points; a small index's on fewer, quietly
        index.pq.cp.max_points_per_centroid, index.pq.cp.min_points_per_centroid = 64, 1
    index.train(train)
    for start in range(0, n, 100_000):
        part = np.asarray(ids[start:start + 100_000], dtype=np.int64)
        index.add_with_ids(np.ascontiguousarray(vectors(part), dtype=np.float32), part)
    return index
