"""The front door to a sharded collection: an `Assistant` whose searches fan out to shards.

Everything an edge calls (`answer`, `ask`, `query`, `stats`, `sources`) keeps the
single-machine code: only the first stage and the passage fetch read shards, so a question
is validated, read in context, reranked and composed exactly as on one machine.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..assistant import Assistant
from ..config import Settings
from ..errors import IndexMismatch
from ..search.retrieve import Query, search
from ..types import Passage
from . import catalog as catalogs
from .collection import Collection, LocalShards
from .fanout import candidates

if TYPE_CHECKING:
    from .ray_shards import RayShards


class ClusterAssistant(Assistant):
    """Questions over the collection at `root`. `ray`: None to open the shards in this
    process, "local" to start Ray here, or a Ray address ("auto", "ray://host:10001")."""

    def __init__(self, root: str | Path, settings: Settings | None = None, ray: str | None = None,
                 embedder=None, make_embedder=None, embed_pool: int = 2, reads: bool = True,
                 **ray_options):
        """make_embedder: with Ray, what each ingest actor calls for its embedder (by default
        the settings' model); embed_pool: how many such actors. reads=False: a handle that
        only writes (the writer actor, writer.py), opening no shard for reading. ray_options:
        for `RayShards.start` (pin, cpus, timeout_s)."""
        self.folder = Path(root)
        catalog = catalogs.read(self.folder)
        built = {k: v for k, v in catalog.fingerprint.items() if k != "format"}
        limit = built.get("embed_max_tokens", 0)
        if settings and settings.embed_max_tokens not in (0, limit):
            raise IndexMismatch(f"{self.folder} was built with embed_max_tokens {limit} (0: the "
                                f"model's own limit), not {settings.embed_max_tokens}; a "
                                "collection takes --max-tokens at `cluster init`")
        self.settings = (settings or Settings()).with_(**built)
        self._embedder = embedder
        self._writer = None
        self.ray_embedding = None
        shards: LocalShards | RayShards | None
        if ray is None:
            shards = LocalShards(self.folder, catalog.shards) if reads else None
        else:
            from .ray_ingest import RayEmbedding, model_loader
            from .ray_shards import RayShards

            shards = RayShards.start(self.folder, catalog.shards, ray, **ray_options)
            self.ray_embedding = RayEmbedding(make_embedder or model_loader(self.settings),
                                              embed_pool)
        self.collection = Collection(self.folder, shards) if reads else None

    def _reading(self) -> Collection:
        """The collection searches read; a handle opened with reads=False has none."""
        if self.collection is None:
            raise RuntimeError("this collection handle only writes (opened with reads=False)")
        return self.collection

    def _search(self, query: Query) -> list[Passage]:
        collection = self._reading()
        collection.refresh()
        return search(collection, self.embedder.embed, query, self.settings,
                      self.rerankers, first_stage=candidates)

    @property
    def searched(self) -> tuple:
        """(what a search reads, its first stage): what `assistant eval` measures stages on."""
        collection = self._reading()
        collection.refresh()
        return collection, candidates

    @property
    def store(self):
        """The collection's writer, opened at the first write: `Assistant`'s ingest, delete
        and compact run on it as on one index's Store."""
        if self._writer is None:
            from .ingest import Writer

            self._writer = Writer(self.folder, self.settings)
        return self._writer

    def ingest(self, paths, progress: bool = False):
        """With Ray, files are read, placed, compared, chunked and embedded as the stages of
        a Ray Data pipeline (ray_pipeline.py), then stored by the one writer."""
        if self.ray_embedding is None:
            return super().ingest(paths, progress)
        from .ray_pipeline import ingest

        return ingest(self, paths, progress)

    def _embed_with_progress(self, texts: list[str], bar, step: int = 512):
        """With Ray, articles given in memory are embedded by Ray Data's actor pool."""
        if self.ray_embedding is None:
            return super()._embed_with_progress(texts, bar, step)
        return self.ray_embedding.embed(texts, bar)

    def write_handle(self):
        """With Ray, the collection's writer actor; else a second ClusterAssistant (writer.py)."""
        from .writer import write_handle

        return write_handle(self)

    @property
    def feeds(self):
        """The collection's followed feeds, in its root's own database (the feeds' tables
        only, made at first use; the articles are the shards')."""
        from ..storage.rows import DB_FILE

        (self.folder / DB_FILE).touch(exist_ok=True)
        return super().feeds

    def stats(self) -> dict:
        return self._reading().stats()  # at the newest epoch

    def sources(self) -> list[str]:
        """The outlets of the stored articles, at the epoch last read."""
        return list(self._reading().view.source_names)

    def article(self, article_id: str):
        """The stored article with this id, or None: read from the shard that holds it."""
        return self._reading().article(article_id)

    def outlets(self) -> list[dict]:
        """Each outlet's article count and date range, over every shard."""
        return self._reading().outlets()

    def close(self) -> None:
        if self.collection is not None:
            self.collection.shards.close()
        if self._writer is not None:
            self._writer.close()
