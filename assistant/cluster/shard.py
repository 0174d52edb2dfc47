"""One shard's reader: an ordinary index folder opened read-only, answering candidate searches
under its own as-of / since / source mask. The same class runs in-process or as a Ray actor
(`ray.remote(Shard)`): it opens its FAISS and BM25 files itself, so no index ever travels
through Ray's object store, and a restarted actor needs only its folder's path.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..storage.keyword import Totals
from ..storage.store import Store, settings_for_index
from ..storage.view import Layout, View
from .catalog import shard_folder
from .ingest import settle

CATCH_UP_S = 5.0  # how long a shard waits for the writer to apply a committed epoch


@dataclass(frozen=True)
class Filters:
    """What a question allows, as every shard reads it."""

    as_of: str | None = None
    since: str | None = None
    sources: tuple[str, ...] = ()
    exclude: frozenset[int] = frozenset()


class Behind(Exception):
    """The shard has not reached the generation the catalog names (yet)."""


class Shard:
    """Reads shard `number` of the collection at `root`; every call names the generation
    (from the catalog's epoch) it must answer from."""

    def __init__(self, root: str, number: int):
        self.number = number
        self.root = Path(root)
        self.folder = shard_folder(Path(root), number)
        self.store = Store(self.folder, settings_for_index(self.folder), create=False)
        self.views: dict[int, View] = {}

    def ping(self) -> int:
        """The process answering: a shard actor Ray restarted answers from a new one."""
        return os.getpid()

    def view(self, generation: int) -> View:
        """The view of `generation`: kept from before, or the one now in force once it
        reaches it (the writer applies a committed epoch shard by shard, in seconds)."""
        if generation in self.views:
            return self.views[generation]
        deadline, tried = time.monotonic() + CATCH_UP_S, False
        while True:
            self.store.refresh()
            current = self.store.view
            if current.generation >= generation:
                break
            if not tried:  # a writer killed after its commit: apply what it committed
                settle(self.root, self.store.settings)
                tried = True
                continue
            if time.monotonic() > deadline:
                raise Behind(f"at generation {current.generation}, catalog names {generation}")
            time.sleep(0.05)
        # A newer generation than asked for: the writer has moved on; serve the newest.
        self.views = {g: v for g, v in self.views.items() if g >= current.generation - 1}
        self.views[generation] = self.views[current.generation] = current
        return current

    def layout(self, generation: int) -> Layout:
        """(days, source codes, source names) by passage id: what the coordinator merges
        into the collection's view, for the as-of rule, recency and the ranker's features."""
        return self.view(generation).layout

    def allowed(self, view: View, filters: Filters) -> np.ndarray:
        mask = view.allowed(filters.as_of, filters.since, list(filters.sources))
        if filters.exclude:
            mask[[i for i in filters.exclude if i < len(mask)]] = False
        return mask

    def probe(self, generation: int, text: str, vector: np.ndarray | None, k: int,
              filters: Filters) -> tuple[np.ndarray, np.ndarray, Totals]:
        """The first round: this shard's dense top-k under its mask, and its BM25 totals for
        `text` (summed over shards by the coordinator for the second round)."""
        view = self.view(generation)
        ids, sims = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if vector is not None and view.dense is not None and len(view.dense):
            ids, sims = view.dense.search(vector, k, self.allowed(view, filters))
        return ids, sims, view.keyword.totals(text)

    def keyword(self, generation: int, text: str, k: int, filters: Filters, totals: Totals,
                common: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """The second round: BM25 top-k scored with the collection's totals (whose document
        frequencies also decide which words are `common`, alike on every shard)."""
        view = self.view(generation)
        return view.keyword.search(text, k, self.allowed(view, filters), totals, common)

    def passages(self, ids: list[int]) -> dict:
        """The passages among `ids` this shard holds."""
        return self.store.passages(ids)

    def article(self, article_id: str):
        """The stored article with this id, if this shard holds it (the one its hash names)."""
        return self.store.rows.article(article_id)

    def outlets(self) -> list[dict]:
        """This shard's outlets with their article counts and date ranges."""
        return self.store.rows.outlets()

    def stats(self, generation: int) -> dict:
        self.view(generation)
        return {**self.store.stats(), "shard": self.number}

    def close(self) -> None:
        self.store.close()
