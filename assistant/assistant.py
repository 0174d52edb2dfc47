"""The front door: ingest articles into an index folder, ask it questions, get cited passages."""
from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from dataclasses import replace
from itertools import islice
from pathlib import Path

import numpy as np

from .answering.answer import Answer, compose
from .answering.conversation import Turn, with_context
from .config import Settings, default_index_dir
from .errors import UnknownSource
from .reading.articles import article_hash, first_copies
from .reading.boilerplate import is_boilerplate
from .reading.chunking import chunk
from .reading.read_apart import read_apart
from .search.query_rules import checked_query, default_as_of
from .search.retrieve import Query, search
from .search.stages import stage
from .storage.faults import crash_point
from .storage.store import Put, Store, settings_for_index
from .types import Article, IngestReport, Passage, Problem


class Assistant:
    """A news index you can question. Example:

    >>> a = Assistant("index")
    >>> a.ingest(["articles/"])
    >>> a.ask("Who won the darts world championship?", k=5, as_of="2024-01-05")
    """

    def __init__(self, index: str | Path | None = None, settings: Settings | None = None,
                 create: bool = True, embedder=None):
        """settings: by default, the defaults with the build settings `index` records.
        create: make an empty index if the folder holds none; else raise NoIndex (what a
        reader wants: a mistyped folder is an error, not a new empty index).
        embedder: an `embedding.Embedder` to use instead of loading the settings' model (the
        scale benchmark's, which times the real model but answers with known vectors)."""
        self.folder = Path(index) if index is not None else default_index_dir()
        self.settings = settings or settings_for_index(self.folder)
        self.store = Store(self.folder, self.settings, create)
        self._embedder = embedder

    @property
    def embedder(self):
        if self._embedder is None:
            from .embedding.embedder import load_embedder

            self._embedder = load_embedder(self.settings.model, self.settings.embed_batch,
                                           self.settings.embed_backend,
                                           stall_s=self.settings.embed_stall_s,
                                           max_tokens=self.settings.embed_max_tokens)
        return self._embedder

    # -- asking ----------------------------------------------------------------------------

    def ask(self, question: str, k: int = 5, as_of: str | None = None,
            since: str | None = None, sources: Iterable[str] = ()) -> list[Passage]:
        """The k passages that best answer `question`, from articles dated on or before
        `as_of` (and on or after `since`), best first."""
        return self._search(self.query(question, k, as_of, since, sources))

    def _search(self, query: Query) -> list[Passage]:
        self.store.refresh()
        return search(self.store, self.embedder.embed, query, self.settings, self.rerankers)

    def answer(self, question: str, k: int = 5, as_of: str | None = None,
               since: str | None = None, sources: Iterable[str] = (),
               previous: Answer | None = None, exclude: frozenset[int] = frozenset()
               ) -> Answer:
        """What every edge shows: the passages for the question, their lead sentence, and
        whether anything in the collection answers at all (the cross-encoder's calibrated
        confidence against `Settings.abstain_below`). `previous`: the conversation's last
        answer; a follow-up ("what about Ukraine?", "who is he?") is read with its key words
        (conversation.py) and `read_as` says how. `exclude`: passage ids never to return
        (the eval's unanswerable copies)."""
        query = self.query(question, k, as_of, since, sources)
        question = query.question
        read_as = with_context(question, Turn.after(previous))
        read_as = "" if read_as == question else read_as
        query = replace(query, question=read_as or question, exclude=frozenset(exclude))
        passages = self._search(query)
        model = self._cross_encoder()
        scorer = None if model is None else (
            lambda q, found: model.calibrated(model.score(*model.pairs(q, query.as_of, found))))
        with stage("lead"):
            return compose(question, passages, query.as_of, read_as, scorer,
                           self.settings.abstain_below, self._lead_scorer())

    def _lead_scorer(self):
        if not self.settings.lead_scorer:
            return None
        from .answering.lead import load_lead_scorer

        return load_lead_scorer()

    def _cross_encoder(self):
        if not self.settings.cross_encoder:
            return None
        from .search.cross_encoder import load_cross_encoder

        return load_cross_encoder()

    @property
    def rerankers(self) -> list:
        """The second stages the settings ask for and the package ships (LightGBM ranker,
        cross-encoder), in order."""
        from .search.rerank import second_stages

        return second_stages(self.settings)

    def query(self, question, k=5, as_of=None, since=None, sources=()) -> Query:
        """Every per-question rule, in the one place every edge (CLI, HTTP, chat, MCP) goes
        through; raises BadQuery saying what to fix. The rules on the question, k and the
        dates are search/query_rules.py's (`checked_query` lists them, and says why a question
        without as_of is asked as of today); then the one that needs the index: sources are
        outlets some stored article comes from (UnknownSource, listing the outlets).

        Example: ("  Who won? ", 5, None) -> Query("Who won?", 5, as_of=<today>, ...)"""
        query = checked_query(question, k, as_of, since, sources, self.settings)
        if unknown := self.unknown_sources(query.sources):
            raise UnknownSource(unknown, self.sources())
        return query

    # The as-of date of a question that gives none; every edge shows and echoes this one.
    default_as_of = staticmethod(default_as_of)

    @property
    def feeds(self):
        """The followed feeds of this index (a collection's: in its root's database), as a
        `FeedStore` the caller closes. Every edge (CLI, HTTP, chat) reads and changes feeds
        through it; NoIndex where the folder holds no index."""
        from .live.feedstore import FeedStore

        return FeedStore(self.folder)

    # -- writing ---------------------------------------------------------------------------

    def write_handle(self) -> Assistant:
        """A second handle on this index, for a server's writes (serving/server.py's Shared)."""
        return Assistant(self.folder, self.settings)

    def ingest(self, paths: Iterable[str | Path], progress: bool = False) -> IngestReport:
        """Read files and folders into the index; returns counts, with unreadable input listed.
        Reading and parsing run in a child process: a hostile upload never holds this one's
        GIL against the questions a server answers meanwhile."""
        if isinstance(paths, (str, Path)):
            paths = [paths]
        items = read_apart(paths, max_file_bytes=self.settings.max_file_bytes,
                           max_article_chars=self.settings.max_article_chars)
        return self._ingest(items, progress)  # repeats are reported as read, by file:line

    def add_files(self, files: list[tuple[str, bytes]], progress: bool = False
                  ) -> IngestReport:
        """Uploads as the chat and the API receive them, (name, content) pairs: written under
        the index's uploads folder, read as files are, and deleted again; problems name each
        file as the user did."""
        from .reading.uploads import add_files

        return add_files(self, files, progress)

    def ingest_articles(self, items: Iterable[Article | Problem], progress: bool = False
                        ) -> IngestReport:
        """Store articles in atomic batches: a crash keeps every batch that completed. An id
        given twice is reported (the later copy is kept)."""
        return self._ingest(first_copies(items), progress)

    def _ingest(self, items: Iterable[Article | Problem], progress: bool) -> IngestReport:
        report, started = IngestReport(), time.perf_counter()
        bar = _progress_bar(progress)
        items = iter(items)
        with self.store.lock():
            while batch := list(islice(items, self.settings.batch_articles)):
                crash_point("read")
                articles = {}
                for item in batch:
                    if isinstance(item, Problem):
                        report.skipped.append(item)
                    else:
                        articles[item.id] = item  # a repeat, reported already: the later wins
                self._ingest_batch(list(articles.values()), report, bar)
        if bar is not None:
            bar.close()
        report.seconds = time.perf_counter() - started
        return report

    def _ingest_batch(self, articles: list[Article], report: IngestReport, bar) -> None:
        stored = self.store.hashes([a.id for a in articles])
        todo = []  # (article, hash, spans)
        for article in articles:
            digest = article_hash(article)
            if stored.get(article.id) == digest:
                report.unchanged += 1
                continue
            spans = chunk(article.text, self.settings.max_chars, is_boilerplate)
            if not spans:
                report.skipped.append(Problem(article.url or article.id, 0,
                                              "no text left once page furniture is removed"))
                continue
            todo.append((article, digest, spans))
        texts = [self.store.indexed_text(a.title, a.text[s:e]) for a, _, spans in todo
                 for s, e in spans]
        vectors = self._vectors(texts, [a.id for a, _, _ in todo if a.id in stored], bar,
                                report)
        puts, offset = [], 0
        for article, digest, spans in todo:
            puts.append(Put(article, digest, spans, vectors[offset:offset + len(spans)]))
            offset += len(spans)
            report.passages += len(spans)
            if article.id in stored:
                report.updated += 1
            else:
                report.added += 1
        if puts:
            self.store.apply(puts, progress=bar is not None)

    def _vectors(self, texts: list[str], updated: list[str], bar, report: IngestReport
                 ) -> np.ndarray:
        """A vector for each text, embedding each new text once: a passage an updated article
        keeps word for word keeps its stored vector, and a text repeated in the batch (a wire
        copy) is embedded once."""
        known = self.store.known_vectors(updated) if updated else {}
        report.reused += sum(t in known for t in texts)
        fresh = [t for t in dict.fromkeys(texts) if t not in known]
        if bar is not None:
            bar.update(len(texts) - len(fresh))
        known.update(zip(fresh, self._embed_with_progress(fresh, bar)))
        return (np.stack([known[t] for t in texts]) if texts
                else np.zeros((0, 1), dtype=np.float32))

    def _embed_with_progress(self, texts: list[str], bar, step: int = 512):
        """Embed in large slices (the model sorts each by length), ticking the bar per slice."""
        parts = []
        for start in range(0, len(texts), step):
            parts.append(self.embedder.embed(texts[start:start + step]))
            crash_point("embed")
            if bar is not None:
                bar.update(len(parts[-1]))
        return np.vstack(parts) if parts else np.zeros((0, 1), dtype=np.float32)

    def delete(self, ids: Iterable[str]) -> int:
        """Remove articles by id; returns how many there were."""
        known = list(self.store.hashes(list(ids)))
        with self.store.lock():
            return self.store.apply([], known) if known else 0

    def compact(self, progress: bool = False) -> int:
        """Drop deleted passages from the keyword index; returns how many there were."""
        with self.store.lock():
            return self.store.compact(progress)

    def stats(self) -> dict:
        self.store.refresh()
        return self.store.stats()

    def sources(self) -> list[str]:
        """The outlets of the stored articles, as of the last refresh (`stats`, `ask`)."""
        return list(self.store.view.source_names)

    def unknown_sources(self, names) -> list[str]:
        """Those of `names` that no stored article's outlet has (a misspelt outlet would
        silently match nothing), read again after a refresh when one is missing: an upload
        may be newer than the last refresh."""
        if set(self.sources()).issuperset(names):
            return []
        self.stats()
        known = set(self.sources())
        return [name for name in names if name not in known]

    def article(self, article_id: str) -> Article | None:
        """The stored article with this id, or None."""
        return self.store.rows.article(article_id)

    def outlets(self) -> list[dict]:
        """What the collection covers: each outlet's article count, oldest and newest date."""
        return self.store.rows.outlets()

    def close(self) -> None:
        self.store.close()


def _progress_bar(enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(desc="embedding", unit=" passages", file=sys.stderr, dynamic_ncols=True,
                mininterval=0.5 if sys.stderr.isatty() else 10)
