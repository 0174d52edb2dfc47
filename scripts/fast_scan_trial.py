"""IVF-PQ with one byte a sub-vector against FAISS fast scan (4 bits a sub-vector, same 48
bytes a vector), on the scale bench's clustered vectors, with the same lists, the same
float16 re-scoring and the same as-of mask (the oldest 30%).

    python scripts/fast_scan_trial.py N SHARES DEPTHS [CODES] [--work DIR]
    python scripts/fast_scan_trial.py 1000000 0.1,0.2 10,20

SHARES: shares of the lists scanned; DEPTHS: candidates re-scored per result; CODES: FAISS
factory codes (default PQ48np,PQ96x4fs). The vectors are kept in DIR (default /tmp) between
runs. One question at a time, one thread, as `DenseIndex.search` runs.
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import faiss
import numpy as np

from assistant.storage.dense import build_ivf
from assistant.tools import synthetic
from assistant.tools.bench_scale import exact_top


def vectors_of(n: int, folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(float32 vectors, their float16 copies, the story centres), written once."""
    folder.mkdir(parents=True, exist_ok=True)
    centres = synthetic.centres(n)
    path, half = folder / "vectors.npy", folder / "vectors-f16.npy"
    if not half.exists():
        rows = np.lib.format.open_memmap(path, "w+", np.float32, (n, 384))
        copies = np.lib.format.open_memmap(half, "w+", np.float16, (n, 384))
        for start in range(0, n, 100_000):
            rows[start:start + 100_000] = synthetic.near(centres, min(100_000, n - start),
                                                         start + 1)
            copies[start:start + 100_000] = rows[start:start + 100_000]
        rows.flush(), copies.flush()
    return np.load(path, mmap_mode="r"), np.load(half, mmap_mode="r"), centres


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int)
    parser.add_argument("shares")
    parser.add_argument("depths")
    parser.add_argument("codes", nargs="?", default="PQ48np,PQ96x4fs")
    parser.add_argument("--work", type=Path, default=Path("/tmp/fast-scan-trial"))
    args = parser.parse_args()
    vectors, half, centres = vectors_of(args.n, args.work / str(args.n))
    asked = synthetic.near(centres, 200, 0)
    allowed = np.arange(args.n) < args.n * 0.3
    masks = {"all": None, "as-of 30%": allowed}
    truths = {label: exact_top(vectors, asked, 10, None if mask is None
                               else (lambda a, b, m=mask: m[a:b]))
              for label, mask in masks.items()}
    for code in args.codes.split(","):
        started = time.time()
        index = build_ivf(np.arange(args.n), lambda ids: vectors[ids], code=code)
        print(f"{code}: {index.nlist} lists, built in {time.time() - started:.0f} s")
        faiss.omp_set_num_threads(1)
        for label, mask in masks.items():
            bits = None if mask is None else np.packbits(mask, bitorder="little")
            kept = 1.0 if mask is None else float(mask.mean())
            for share in map(float, args.shares.split(",")):
                nprobe = min(index.nlist, math.ceil(share * index.nlist / kept))
                params = (faiss.SearchParametersIVF(nprobe=nprobe) if bits is None else
                          faiss.SearchParametersIVF(
                              sel=faiss.IDSelectorBitmap(args.n, faiss.swig_ptr(bits)),
                              nprobe=nprobe))
                for depth in map(int, args.depths.split(",")):
                    seconds, hits = [], 0
                    for query, want in zip(asked, truths[label]):
                        started = time.perf_counter()
                        _, found = index.search(query[None], 10 * depth, params=params)
                        ids = np.sort(found[0][found[0] >= 0])
                        best = ids[np.argsort(-(half[ids].astype(np.float32) @ query))[:10]]
                        seconds.append(time.perf_counter() - started)
                        hits += len(set(best.tolist()) & set(want.tolist()))
                    p50, p95 = np.percentile(seconds, [50, 95]) * 1e3
                    print(f"  {label:9} share {share:.2f} depth {depth:2}: p50 {p50:5.1f} "
                          f"p95 {p95:5.1f} ms, recall@10 {hits / (10 * len(asked)):.3f}")
        faiss.omp_set_num_threads(2)


if __name__ == "__main__":
    main()
