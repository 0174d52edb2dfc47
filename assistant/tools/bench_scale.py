"""The benchmark's scale sections: dense search over millions of generated vectors, and whole
generated indexes (SQLite, FAISS, BM25) questioned through `Assistant.answer`."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from . import synthetic
from .measure import bar, percentiles, rss_anon_mb, timed


def scale(size: int, folder: Path, options: dict, queries: int = 100) -> None:
    """Build a dense index of `size` synthetic vectors (kept on disk, not in memory) the way
    ingestion does, batch by batch; time it, weigh it, and score it against exact search."""
    from ..storage.dense import DenseIndex
    from ..storage.vector_file import FILE, VectorFile

    folder.mkdir(parents=True)
    vectors = np.lib.format.open_memmap(folder / "vectors.npy", "w+", np.float32, (size, 384))
    centres = synthetic.centres(size)
    for start in bar(range(0, size, 100_000), f"vectors {size:,}", " x 100k"):
        vectors[start:start + 100_000] = synthetic.near(centres, min(100_000, size - start),
                                                        start + 1)
    before = rss_anon_mb()
    index = DenseIndex(384, vectors=VectorFile(folder / FILE, 384), **options)
    with timed() as build:
        for start in bar(range(0, size, 100_000), f"index {size:,}", " x 100k"):
            part = np.asarray(vectors[start:start + 100_000])
            index.add(np.arange(start, start + len(part)), part)
    memory = rss_anon_mb() - before
    index.save(folder)
    disk = ((folder / "dense.faiss").stat().st_size + (folder / FILE).stat().st_size) / 2**20
    asked = synthetic.near(centres, queries, 0)
    allowed = np.arange(size) < size * 0.3  # an as-of date that leaves the oldest 30%
    per_m = 1e6 / size
    kind = "IVF-PQ, re-scored from float16" if index.approximate else "exact flat"
    print(f"scale {size:,} vectors ({kind}): build {build.s:.1f} s ({build.s * per_m:.1f} s per "
          f"million), memory {memory:,.0f} MB ({memory * per_m:,.0f} MB per million), "
          f"disk {disk:,.0f} MB ({disk * per_m:,.0f} MB per million)")
    for label, mask in (("all", None), ("as-of 30%", allowed)):
        truth = exact_top(vectors, asked, 10,
                          None if mask is None else lambda start, stop, m=mask: m[start:stop])
        latencies, hits = [], 0
        for query, want in zip(bar(asked, f"queries {label}", " queries"), truth):
            with timed() as t:
                found, _ = index.search(query, 10, mask)
            latencies.append(t.s)
            hits += len(set(found.tolist()) & set(want.tolist()))
        print(f"  search {label}: p50 / p95 {percentiles(latencies, (50, 95))} ms, "
              f"recall@10 vs exact {hits / (10 * len(asked)):.3f}")


def store_scale(size: int, folder: Path, questions: int = 200) -> dict:
    """A whole index of `size` generated passages, written batch by batch as ingestion writes
    (SQLite, FAISS, BM25 segments), then questioned by a fresh process through
    `Assistant.answer` itself (the shipped settings), as of a date after each story. Returns
    the row of the scale table. A folder that already holds the whole index is reused."""
    from ..storage.store import Store, folder_bytes, settings_for_index

    collection = synthetic.Collection(size)
    batch = max(10_000, collection.articles // 10)  # articles: 10 batches at most
    build = "reused"
    if not _complete(folder, collection.articles):
        writer = Store(folder, settings_for_index(folder))  # a partial build's own
        with timed() as t, writer.lock():
            for first in bar(range(0, collection.articles, batch), f"index {size:,}",
                             f" x {batch:,} articles"):
                writer.apply(collection.puts(first, batch))
        writer.close()
        build = f"{t.s:,.0f} s"
    asked = collection.questions(questions)
    served = _serve(folder, asked)
    truth = _exact_dense(folder, [q[1] for q in asked], [q[2] for q in asked])
    recall = np.mean([len(set(found) & set(want)) / len(want)
                      for found, want in zip(served["dense"], truth)])
    per_m = 1e6 / size
    row = {"passages": f"{size:,}", "build": build,
           "disk": f"{folder_bytes(folder) / 2**30:.1f} GB",
           "open": f"{served['open']:.1f} s",
           "index memory serving": f"{served['anon'] / 1024:.2f} GB "
                                   f"({served['anon'] / 1024 * per_m:.2f} per M)",
           "process memory": f"{served['own'] / 1024:.2f} GB own, {served['rss'] / 1024:.2f} GB "
                             "resident with mapped pages",
           "p50 / p95 / p99": percentiles(served["seconds"]) + " ms",
           "ANN recall@10": f"{recall:.3f}",
           "story in top 10": f"{np.mean(served['found']):.0%}"}
    print(" | ".join(f"{k}: {v}" for k, v in row.items()))
    print(f"  where an answer's time goes at {size:,} (median of each stage): "
          + stage_medians(served["stages"]))
    return row


def stage_medians(stages: list[dict[str, float]]) -> str:
    """Where an answer's time goes: each stage's median over the questions, in ms. They may
    add up to more than the whole: the keyword search runs beside the embedding and the
    dense search."""
    names = sorted({name for spent in stages for name in spent})
    return ", ".join(f"{name} {np.median([s.get(name, 0.0) for s in stages]) * 1e3:.1f}"
                     for name in names) + " ms"


def _complete(folder: Path, articles: int) -> bool:
    try:
        return json.loads((folder / "manifest.json").read_text())["articles"] == articles
    except (OSError, ValueError, KeyError):
        return False


def _serve(folder: Path, asked: list) -> dict:
    """Questions answered by a fresh process, as a server opens an index: its time to open,
    its own memory (and with the mapped files it touched) once it has answered them all, each
    answer's seconds, whether the story was found, and dense search's top 10."""
    import pickle
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pkl") as handle:
        pickle.dump(asked, handle)
        handle.flush()
        out = subprocess.run([sys.executable, "-m", "assistant.tools.bench_serve", str(folder),
                              handle.name], check=True, capture_output=True, text=True).stdout
    return json.loads(out.splitlines()[-1])


def _exact_dense(folder: Path, vectors: list, as_of: list[str]) -> list[list[int]]:
    """The exact top 10 by inner product over the stored (float16) vectors, among the passages
    each question's as-of date allows: what the approximate index is scored against (float16,
    as the index re-scores: an exact index of float32 vectors may flip a near tie)."""
    from ..storage.store import Store, settings_for_index
    from ..storage.vector_file import FILE, VectorFile
    from ..storage.view import day

    store = Store(folder, settings_for_index(folder), create=False)
    days = store.view.days
    store.close()
    rows = VectorFile(folder / FILE, 384)
    limits = np.array([day(d) for d in as_of])[:, None]
    return exact_top(rows, np.stack(vectors).astype(np.float32), 10,
                     lambda start, stop: (days[start:stop] >= 0) & (days[start:stop] <= limits)
                     ).tolist()


def exact_top(vectors, queries: np.ndarray, k: int, allowed=None) -> np.ndarray:
    """Ids (row numbers) of the k best rows of `vectors` by inner product for each query, read
    in slices of 200,000 rows. allowed(start, stop): a mask of those rows, for all queries or
    one row of it a query; None allows all."""
    best = np.full((len(queries), k), -np.inf, dtype=np.float32)
    ids = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(vectors), 200_000):
        stop = min(start + 200_000, len(vectors))
        scores = queries @ np.asarray(vectors[start:stop], dtype=np.float32).T
        if allowed is not None:
            scores[~np.broadcast_to(allowed(start, stop), scores.shape)] = -np.inf
        scores = np.hstack([best, scores])
        candidates = np.hstack([ids, np.broadcast_to(np.arange(start, stop),
                                                     (len(queries), stop - start))])
        top = np.argsort(-scores, axis=1)[:, :k]
        best, ids = np.take_along_axis(scores, top, 1), np.take_along_axis(candidates, top, 1)
    return ids
