"""`assistant ingest FILES --ray ADDRESS`: a collection's ingest of files as one Ray Data
pipeline, the collection's one writer at its end:

    files -> read (a task a file) -> place (shard by hash, content hash) -> compare (with what
    each shard stores: unchanged articles go no further) -> chunk -> keep (an updated
    article's unchanged passages take their stored vectors) -> embed (an actor pool, the
    model loaded once an actor) -> the writer, batch by batch

Every stage asks for a fraction of a CPU: with Ray Data's default whole CPUs the embedding
pool takes every CPU of a small node and the pipeline waits forever for one to read with (a
known Ray issue). Rows keep their input order, so the writer stores the batches a serial
ingest stores and numbers passages as it does: same ids, vectors and counts. Reading one file
knows nothing of the others, so a repeat across files is found in the writer, which also
decides unchanged against what this ingest already wrote.
"""
from __future__ import annotations

import pickle
import time
from functools import partial
from pathlib import Path

import numpy as np

from ..reading.articles import article_hash, first_copy, read_articles
from ..reading.boilerplate import is_boilerplate
from ..reading.chunking import chunk
from ..reading.folders import files_under
from ..storage.reads import stored_hashes, stored_vectors
from ..storage.rows import Put, indexed_text
from ..types import Article, IngestReport, Problem
from .catalog import shard_folder, shard_of
from .ray_ingest import embedded

STAGE_CPUS = 0.1  # reading, placing, comparing, chunking: each task
EMBED_ARTICLES = 32  # articles an embedding actor takes at a time
FIELDS = ("id", "title", "date", "text", "url", "source")  # an Article's, in order
NO_TEXT = "no text left once page furniture is removed"


def read(row: dict, limits: dict) -> list[dict]:
    """One file's articles and problems as rows (a path that is no file: its problem)."""
    if row["problem"]:
        return [dict(row, **dict.fromkeys(FIELDS, ""))]
    out = []
    for item in read_articles([row["path"]], **limits):
        if isinstance(item, Problem):
            out.append(dict(row, problem=pickle.dumps(item), **dict.fromkeys(FIELDS, "")))
        else:
            out.append(dict(row, **{k: getattr(item, k) for k in FIELDS}))
    return out


def place(row: dict, shards: int) -> dict:
    """The shard the article's id hashes to, and its content hash."""
    article = None if row["problem"] else Article(*(row[k] for k in FIELDS))
    return dict(row, shard=shard_of(row["id"], shards) if article else -1,
                digest=article_hash(article) if article else "")


def compare(batch: dict, root: str) -> dict:
    """Each article's hash as its shard stores it ('' when new), read-only."""
    stored = np.full(len(batch["id"]), "", dtype=object)
    for shard in set(batch["shard"].tolist()) - {-1}:
        at = np.flatnonzero(batch["shard"] == shard)
        found = stored_hashes(shard_folder(Path(root), shard), batch["id"][at].tolist())
        stored[at] = [found.get(i, "") for i in batch["id"][at]]
    return dict(batch, stored=stored)


def chunked(row: dict, max_chars: int, title_context: bool) -> dict:
    """Passage spans and the texts the model reads, for an article not stored as it is."""
    spans = texts = []
    if not row["problem"] and row["stored"] != row["digest"]:
        spans = chunk(row["text"], max_chars, is_boilerplate)
        texts = [indexed_text(row["title"], row["text"][s:e], title_context) for s, e in spans]
    return dict(row, spans=pickle.dumps(spans), texts=pickle.dumps(texts))


def kept(batch: dict, root: str, title_context: bool) -> dict:
    """An updated article's passages that its stored copy holds word for word keep their
    stored vectors, read from its shard (`kept`: a pickled list, a vector or None a passage;
    empty where none is kept); only the rest go on to be embedded, as `Assistant.ingest`
    does."""
    texts = batch["texts"].copy()
    keep = np.full(len(texts), b"", dtype=object)
    updated = (batch["stored"] != "") & (batch["stored"] != batch["digest"])
    for shard in set(batch["shard"][updated].tolist()):
        at = np.flatnonzero(updated & (batch["shard"] == shard))
        known = stored_vectors(shard_folder(Path(root), shard), batch["id"][at].tolist(),
                               title_context)
        for i in at:
            mine = pickle.loads(texts[i])
            found = [known.get(t) for t in mine]
            if any(v is not None for v in found):
                keep[i] = pickle.dumps(found)
                texts[i] = pickle.dumps([t for t, v in zip(mine, found) if v is None])
    return dict(batch, texts=texts, kept=keep)


def pipeline(files: list, root: Path, shards: int, settings, make_embedder, pool: int):
    """The dataset of every input row, in input order, embedded where it must be stored."""
    import ray.data

    ray.data.DataContext.get_current().execution_options.preserve_order = True
    limits = {"max_file_bytes": settings.max_file_bytes,
              "max_article_chars": settings.max_article_chars}
    rows = [{"path": "" if isinstance(f, Problem) else str(f),
             "problem": pickle.dumps(f) if isinstance(f, Problem) else b""} for f in files]
    # Each stage's settings bound with partial, not fn_kwargs: the same call, and one that
    # Ray Data's types (a function of the row alone) accept. Ray names a partial's stage
    # by its function, as before.
    items = ray.data.from_items(rows, override_num_blocks=min(len(rows), 64))
    ds = items.flat_map(partial(read, limits=limits), num_cpus=STAGE_CPUS)
    ds = ds.map(partial(place, shards=shards), num_cpus=STAGE_CPUS)
    ds = ds.map_batches(partial(compare, root=str(Path(root).resolve())), batch_format="numpy",
                        num_cpus=STAGE_CPUS)
    ds = ds.map(partial(chunked, max_chars=settings.max_chars,
                        title_context=settings.title_context), num_cpus=STAGE_CPUS)
    ds = ds.map_batches(partial(kept, root=str(Path(root).resolve()),
                                title_context=settings.title_context), batch_format="numpy",
                        num_cpus=STAGE_CPUS)
    return embedded(ds, make_embedder, pool, EMBED_ARTICLES)


class Ingest:
    """The writer's end: rows in input order, cut into the serial ingest's batches."""

    def __init__(self, assistant, bar):
        self.assistant, self.bar = assistant, bar
        self.report = IngestReport()
        self.seen: dict[str, tuple] = {}  # id -> (file, 0, hash): repeats across files
        self.written: dict[str, str] = {}  # id -> hash this ingest stored

    def items(self, rows):
        """(Problem or Article, row), a repeat of another file's article reported as
        read_articles reports it (by file name)."""
        for row in rows:
            if row["problem"]:
                yield pickle.loads(row["problem"]), row
                continue
            article = Article(*(row[k] for k in FIELDS))
            first = self.seen.get(article.id)
            if first is None or first[0] == row["path"]:  # the file's own repeats: read
                self.seen[article.id] = (row["path"], 0, row["digest"])
                yield article, row
            else:
                yield from ((out, row) for out in first_copy(article, row["path"], 0,
                                                              self.seen))

    def batch(self, items: list) -> None:
        """One batch stored as `Assistant._ingest_batch` stores it (the later of an id wins)."""
        articles = {}
        for item, row in items:
            if isinstance(item, Problem):
                self.report.skipped.append(item)
            else:
                articles[item.id] = item, row
        puts = []
        for article, row in articles.values():
            before = self.written.get(article.id, row["stored"])
            if before == row["digest"]:
                self.report.unchanged += 1
                continue
            spans, vectors = self.passages(row)
            if not spans:
                self.report.skipped.append(Problem(article.url or article.id, 0, NO_TEXT))
                continue
            puts.append(Put(article, row["digest"], spans, vectors))
            self.written[article.id] = row["digest"]
            self.report.passages += len(spans)
            self.report.updated += bool(before)
            self.report.added += not before
        if puts:
            self.assistant.store.apply(puts, progress=self.bar is not None)

    def passages(self, row: dict) -> tuple[list, np.ndarray]:
        """The row's spans and vectors; computed here for the one article the pipeline took
        for unchanged that this ingest had changed (a repeat across files)."""
        if row["stored"] != row["digest"]:
            spans, fresh = pickle.loads(row["spans"]), pickle.loads(row["vectors"])
            if self.bar is not None:
                self.bar.update(len(spans))
            if not row["kept"]:
                return spans, fresh
            kept, rest = pickle.loads(row["kept"]), iter(fresh)
            self.report.reused += sum(v is not None for v in kept)
            return spans, np.stack([next(rest) if v is None else v for v in kept])
        settings = self.assistant.settings
        again = chunked(dict(row, stored=""), settings.max_chars, settings.title_context)
        return (pickle.loads(again["spans"]),
                self.assistant._embed_with_progress(pickle.loads(again["texts"]), self.bar))


def ingest(assistant, paths, progress: bool = False) -> IngestReport:
    """`ClusterAssistant.ingest` with Ray: files through the pipeline, into the collection."""
    from ..assistant import _progress_bar

    started = time.perf_counter()
    if isinstance(paths, (str, Path)):
        paths = [paths]
    end, files = Ingest(assistant, _progress_bar(progress)), list(files_under(paths))
    embedding = assistant.ray_embedding
    with assistant.store.lock():
        rows = pipeline(files, assistant.folder, assistant.store.shards, assistant.settings,
                        embedding.make_embedder, embedding.pool).iter_rows() if files else []
        items = []
        for item in end.items(rows):
            items.append(item)
            if len(items) == assistant.settings.batch_articles:
                end.batch(items)
                items = []
        end.batch(items)
    if end.bar is not None:
        end.bar.close()
    end.report.seconds = time.perf_counter() - started
    return end.report
