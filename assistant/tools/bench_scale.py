"""The benchmark's scale sections: dense search over millions of generated vectors, and whole
generated indexes (SQLite, FAISS, BM25) questioned through `Assistant.answer`."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ..config import Settings
from . import synthetic
from .measure import bar, percentiles, rss_anon_mb, timed


def scale(size: int, folder: Path, options: dict, queries: int = 100) -> None:
    """Build a dense index of `size` synthetic vectors (kept on disk, not in memory) the way
    ingestion does, batch by batch; time it, weigh it, and score it against exact search."""
    from ..storage.dense import DenseIndex

    folder.mkdir(parents=True)
    vectors = np.lib.format.open_memmap(folder / "vectors.npy", "w+", np.float32, (size, 384))
    centres = synthetic.centres(size)
    for start in bar(range(0, size, 100_000), f"vectors {size:,}", " x 100k"):
        vectors[start:start + 100_000] = synthetic.near(centres, min(100_000, size - start),
                                                        start + 1)
    before = rss_anon_mb()
    index = DenseIndex(384, **options)
    with timed() as build:
        for start in bar(range(0, size, 100_000), f"index {size:,}", " x 100k"):
            part = np.asarray(vectors[start:start + 100_000])
            index.add(np.arange(start, start + len(part)), part)
    memory = rss_anon_mb() - before
    index.save(folder)
    disk = (folder / "dense.faiss").stat().st_size / 2**20
    asked = synthetic.near(centres, queries, 0)
    allowed = np.arange(size) < size * 0.3  # an as-of date that leaves the oldest 30%
    per_m = 1e6 / size
    kind = "approximate IVF-SQ8" if index.approximate else "exact flat"
    print(f"scale {size:,} vectors ({kind}): build {build.s:.1f} s ({build.s * per_m:.1f} s per "
          f"million), memory {memory:,.0f} MB ({memory * per_m:,.0f} MB per million), "
          f"disk {disk:,.0f} MB ({disk * per_m:,.0f} MB per million)")
    for label, mask in (("all", None), ("as-of 30%", allowed)):
        truth = exact_top(vectors, asked, 10, mask)
        latencies, hits = [], 0
        for query, want in zip(bar(asked, f"queries {label}", " queries"), truth):
            with timed() as t:
                found, _ = index.search(query, 10, mask)
            latencies.append(t.s)
            hits += len(set(found.tolist()) & set(want.tolist()))
        print(f"  search {label}: p50 / p95 {percentiles(latencies, (50, 95))} ms, "
              f"recall@10 vs exact {hits / (10 * len(asked)):.3f}")


def store_scale(size: int, folder: Path, questions: int = 200, batch: int = 10_000) -> None:
    """A whole index of `size` generated passages, written batch by batch as ingestion writes
    (SQLite, FAISS, BM25 segments), then questions answered by `Assistant.answer` itself
    (search, second stage, one card per article, lead), as of a date after their story, with
    and without the cross-encoder."""
    from dataclasses import replace

    from ..assistant import Assistant
    from ..embedding.embedder import load_embedder
    from ..storage.store import Store, folder_bytes

    settings = Settings()
    collection = synthetic.Collection(size)
    writer = Store(folder, settings)
    with timed() as build, writer.lock():
        for first in bar(range(0, collection.articles, batch), f"index {size:,}",
                         f" x {batch:,} articles"):
            writer.apply(collection.puts(first, batch))
    segments = len(writer.view.keyword.segments)
    writer.close()
    per_m, disk = 1e6 / size, folder_bytes(folder) / 2**20
    memory = open_memory_mb(folder)
    print(f"index of {size:,} generated passages ({collection.articles:,} articles, "
          f"{segments} BM25 segments): build {build.s:.0f} s ({build.s * per_m:.0f} s per million, "
          f"batches of {batch:,} articles, embedding excluded), disk {disk:,.0f} MB "
          f"({disk * per_m:,.0f} MB per million), memory to open {memory:,.0f} MB "
          f"({memory * per_m:,.0f} MB per million)")
    story = StoryVectors(load_embedder(settings.model, settings.embed_batch,
                                       settings.embed_backend))
    asked = collection.questions(questions)
    for label, variant in (("without ranker", replace(settings, rerank=False,
                                                      cross_encoder=False)),
                           ("with ranker", settings)):
        assistant = Assistant(folder, variant, create=False, embedder=story)
        latencies, found = [], 0
        for text, vector, as_of, number in bar(asked, f"questions {label}", " questions"):
            story.vector = vector
            with timed() as t:
                answer = assistant.answer(text, k=10, as_of=as_of)
            latencies.append(t.s)
            found += any(p.title.startswith(f"Story {number} ") for p in answer.passages)
        print(f"  questions {label}: p50 / p95 / p99 {percentiles(latencies)} ms end to end, "
              f"story found in the top 10 for {found / len(asked):.0%}")


class StoryVectors:
    """An `Embedder` that costs what the real model costs on each question but answers with
    the vector of the story asked about: generated passages carry generated vectors, which
    the model's own would not find."""

    def __init__(self, model):
        self.model, self.dim, self.vector = model, model.dim, None

    def embed(self, texts: list[str]) -> np.ndarray:
        self.model.embed(texts)
        return np.repeat(self.vector[None].astype(np.float32), len(texts), axis=0)


def open_memory_mb(folder: Path) -> float:
    """Memory a fresh process takes to open the index for questions (its own, not mapped
    files), measured in a child so that this process's heap does not blur it."""
    import subprocess

    code = ("import sys; from assistant.tools.measure import rss_anon_mb; "
            "from assistant.storage.store import Store; from assistant.config import Settings; "
            "import faiss, bm25s; "
            "before = rss_anon_mb(); store = Store(sys.argv[1], Settings()); "
            "print(rss_anon_mb() - before)")
    return float(subprocess.run([sys.executable, "-c", code, str(folder)], check=True,
                                capture_output=True, text=True).stdout.split()[-1])


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int, allowed: np.ndarray | None
              ) -> np.ndarray:
    """Ids of the k best rows by inner product for each query, in slices of the matrix."""
    best = np.full((len(queries), k), -np.inf, dtype=np.float32)
    ids = np.zeros((len(queries), k), dtype=np.int64)
    for start in range(0, len(vectors), 200_000):
        scores = queries @ np.asarray(vectors[start:start + 200_000]).T
        if allowed is not None:
            scores[:, ~allowed[start:start + 200_000]] = -np.inf
        scores = np.hstack([best, scores])
        candidates = np.hstack([ids, np.arange(start, start + scores.shape[1] - k)[None].repeat(
            len(queries), 0)])
        top = np.argsort(-scores, axis=1)[:, :k]
        best, ids = np.take_along_axis(scores, top, 1), np.take_along_axis(candidates, top, 1)
    return ids
