"""Measure speed and scale: ingestion by stage, question latency by part, dense search at
millions of vectors; every speed is set against a baseline measured in the same run, since
other work on the machine moves absolute figures.

    python -m assistant.bench [SET_DIR] [--quick] [--scale 100000,1000000]
                              [--store-scale 100000,1000000]
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

import numpy as np

from . import synthetic
from .config import Settings

# The project's machines keep the eval data in `shared/` beside the checkout; elsewhere,
# name a set on the command line.
DEFAULT_SET = Path(__file__).resolve().parents[2] / "shared" / "eval" / "rtqa-2023-spring"
QUICK_ARTICLES = 150
SLICE = 256  # passages embedded by each backend in turn, so load changes hit all alike
PARTS = ("embedding", "dense search", "keyword search", "fusion", "database")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("set_dir", nargs="?", type=Path, default=DEFAULT_SET,
                        help="a folder with corpus.jsonl.gz and questions.jsonl")
    parser.add_argument("--quick", action="store_true",
                        help=f"only the first {QUICK_ARTICLES} articles")
    parser.add_argument("--backends", default="torch,onnx-int8,openvino-int8",
                        help="embedding backends to time; 'torch' is the fp32 baseline, the last "
                             "one's vectors are indexed")
    parser.add_argument("--scale", default="", help="synthetic collection sizes, e.g. 100000,1000000")
    parser.add_argument("--store-scale", default="",
                        help="whole indexes (SQLite, FAISS, BM25) of generated articles, e.g. "
                             "100000,1000000: build, size, and questions end to end")
    parser.add_argument("--exact-limit", type=int, default=None,
                        help="vectors past which dense search turns approximate")
    parser.add_argument("--no-ingest", action="store_true", help="only the scale section")
    args = parser.parse_args(argv)
    backends = ["torch"] + [b for b in args.backends.split(",") if b and b != "torch"]
    with tempfile.TemporaryDirectory(prefix="assistant-bench-") as work:
        if not args.no_ingest:
            questions = [json.loads(line) for line in open(args.set_dir / "questions.jsonl")
                         if line.strip()]
            store, embedders = ingest(args.set_dir, Path(work) / "index", backends, args.quick,
                                      questions)
            latency(store, embedders, questions)
        options = {} if args.exact_limit is None else {"exact_limit": args.exact_limit}
        for size in [int(s) for s in args.scale.split(",") if s]:
            scale(size, Path(work) / f"scale-{size}", options)
        for size in [int(s) for s in args.store_scale.split(",") if s]:
            store_scale(size, Path(work) / f"store-{size}")
    print(f"peak RSS: {peak_rss_mb():,.0f} MB")
    return 0


def ingest(set_dir: Path, index: Path, backends: list[str], quick: bool, questions: list[dict]):
    """Read + chunk, embed with each backend (fp32 torch first: the baseline), write the index
    with the last backend's vectors; print each stage's rate and each backend's recall."""
    from .articles import read_articles
    from .assistant import article_hash
    from .boilerplate import is_boilerplate
    from .chunking import chunk
    from .embedding import load_embedder
    from .store import Put, Store
    from .types import Article

    settings = Settings(embed_backend=backends[-1])
    source = set_dir / "corpus.jsonl.gz"
    items = read_articles([source if source.exists() else set_dir])
    with timed() as reading:
        articles = [a for a in bar(islice(items, QUICK_ARTICLES if quick else None), "reading",
                                   " articles") if isinstance(a, Article)]
        spans = [chunk(a.text, settings.max_chars, is_boilerplate) for a in articles]
    store = Store(index, settings)
    texts = [store.indexed_text(a.title, a.text[s:e]) for a, cut in zip(articles, spans)
             for s, e in cut]
    n_art, n_pas = len(articles), len(texts)
    print(f"set: {set_dir.name}, {n_art:,} articles, {n_pas:,} passages")
    print(f"reading+chunking: {reading.s:.1f} s, {n_art / reading.s:,.1f} articles/s, "
          f"{n_pas / reading.s:,.1f} passages/s")
    embedders = {b: load_embedder(settings.model, settings.embed_batch, b) for b in backends}
    seconds = dict.fromkeys(backends, 0.0)
    vectors = {b: [] for b in backends}
    for start in bar(range(0, n_pas, SLICE), "embedding", " slices"):
        for name, embedder in embedders.items():
            with timed() as t:
                vectors[name].append(embedder.embed(texts[start:start + SLICE]))
            seconds[name] += t.s
    vectors = {b: np.vstack(v) if v else np.zeros((0, 1), np.float32) for b, v in vectors.items()}
    for name in backends:
        rate = n_pas / max(seconds[name], 1e-9)
        print(f"embedding {name}: {seconds[name]:.1f} s, {rate:,.1f} passages/s, "
              f"{rate * seconds['torch'] / n_pas:.2f}x fp32 sentence-transformers (batch 32), "
              f"cosine to fp32 min {(vectors[name] * vectors['torch']).sum(1).min():.3f}")
    puts, offset = [], 0
    for article, cut in zip(articles, spans):
        if cut:
            puts.append(Put(article, article_hash(article), cut,
                            vectors[backends[-1]][offset:offset + len(cut)]))
        offset += len(cut)
    with timed() as writing, store.lock():
        for start in bar(range(0, len(puts), settings.batch_articles), "writing", " batches"):
            store.apply(puts[start:start + settings.batch_articles])
    print(f"index writing: {writing.s:.1f} s, {n_pas / writing.s:,.1f} passages/s")
    for name in backends:
        total = reading.s + seconds[name] + writing.s
        print(f"ingestion with {name}: {n_art / total:,.2f} articles/s, "
              f"{n_pas / total:,.1f} passages/s")
    shown = [a.text[s:e] for a, cut in zip(articles, spans) for s, e in cut]
    dates = [a.date for a, cut in zip(articles, spans) for _ in cut]
    dense_recall(vectors, embedders, shown, np.array(dates), questions)
    return store, embedders


def dense_recall(vectors: dict, embedders: dict, shown: list[str], dates: np.ndarray,
                 questions: list[dict], k: int = 20) -> None:
    """Dense-only recall@k of each backend on the same passages, as of each question's date:
    a faster backend is only worth having if this stays within a point of fp32."""
    from .evaluate import first_hit

    for name, embedder in embedders.items():
        hits = 0
        for q in questions:
            scores = vectors[name] @ embedder.embed([q["question"]])[0]
            scores[dates > q["date"]] = -np.inf
            top = np.argsort(-scores)[:k]
            hits += first_hit([shown[i] for i in top if np.isfinite(scores[i])],
                              q["answers"]) is not None
        print(f"dense recall@{k} {name}: {hits / max(len(questions), 1):.3f} "
              f"over {len(questions)} questions")


def latency(store, embedders: dict, questions: list[dict]) -> None:
    """Time each part of a question as `retrieve.search` runs it, as of the question's date."""
    from .fusion import rrf
    from .retrieve import Query

    settings = store.settings
    times = {part: [] for part in PARTS}
    embed_times = {name: [] for name in embedders}
    for q in bar(questions, "questions", " questions"):
        query = Query(q["question"], 20, q["date"])
        for name, embedder in embedders.items():
            with timed() as t:
                vector = embedder.embed([query.question])[0]
            embed_times[name].append(t.s)
        times["embedding"].append(embed_times[store.settings.embed_backend][-1])
        allowed = store.view.allowed(query.as_of)
        with timed() as t:
            dense, _ = store.view.dense.search(vector, settings.candidates, allowed)
        times["dense search"].append(t.s)
        with timed() as t:
            keyword, _ = store.view.keyword.search(query.question, settings.candidates, allowed)
        times["keyword search"].append(t.s)
        with timed() as t:
            scores = rrf([dense.tolist(), keyword.tolist()],
                         [settings.dense_weight, settings.keyword_weight], settings.rrf_k)
        times["fusion"].append(t.s)
        with timed() as t:
            store.passages(list(scores)[: query.k * 3])
        times["database"].append(t.s)
    print(f"question latency over {len(questions)} questions (ms, p50 / p95 / p99):")
    for name, values in embed_times.items():
        print(f"  embedding {name}: {percentiles(values)}")
    for part in PARTS[1:]:
        print(f"  {part}: {percentiles(times[part])}")
    print(f"  total ({store.settings.embed_backend}): {percentiles(np.sum(list(times.values()), 0))}")


def scale(size: int, folder: Path, options: dict, queries: int = 100) -> None:
    """Build a dense index of `size` synthetic vectors (kept on disk, not in memory) the way
    ingestion does, batch by batch; time it, weigh it, and score it against exact search."""
    from .dense import DenseIndex

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

    from .assistant import Assistant
    from .embedding import load_embedder
    from .store import Store, folder_bytes

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

    code = ("import sys; from assistant.bench import rss_anon_mb; from assistant.store import "
            "Store; from assistant.config import Settings; import faiss, bm25s; "
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


def percentiles(seconds, points=(50, 95, 99)) -> str:
    """Example: [0.001, 0.002, 0.003] -> '2.0 / 2.9 / 3.0' (milliseconds)."""
    return " / ".join(f"{1000 * np.percentile(seconds, p):.1f}" for p in points)


class _Timer:
    s = 0.0


@contextmanager
def timed():
    """`with timed() as t: ...` then `t.s` holds the seconds it took."""
    timer, started = _Timer(), time.perf_counter()
    try:
        yield timer
    finally:
        timer.s = time.perf_counter() - started


def bar(items, desc: str, unit: str):
    """A progress bar on stderr with rate and time left, for any step that takes a while."""
    from tqdm import tqdm

    total = len(items) if hasattr(items, "__len__") else None
    return tqdm(items, desc=desc, unit=unit, total=total, file=sys.stderr, dynamic_ncols=True,
                mininterval=0.5 if sys.stderr.isatty() else 10)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def rss_anon_mb() -> float:
    """Memory the process owns, less file pages it maps (the on-disk synthetic vectors)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    sys.exit(main())
