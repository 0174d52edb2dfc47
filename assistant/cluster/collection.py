"""A sharded collection as the search reads it: the catalog's epoch in force, one view merged
from the shards' layouts (dates and outlets by global passage id), and calls fanned out to
every shard at that epoch. Shards are reached through a caller: `LocalShards` (in this
process) or `ray_shards.RayShards` (Ray actors); both raise ShardUnavailable, never answer
from fewer shards than the catalog names.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import ShardUnavailable
from ..storage.keyword import KeywordIndex
from ..storage.view import Layout, View, recoded
from ..types import Passage
from . import catalog as catalogs
from .shard import Behind, Shard


class LocalShards:
    """Every shard opened in this process: a collection without Ray (tests, one machine)."""

    def __init__(self, root: str | Path, shards: int):
        self.shards = [Shard(str(root), i) for i in range(shards)]

    def call(self, method: str, args_of, only: int | None = None) -> list:
        """`method` on each shard (or shard `only`) with `args_of(shard)`; results in shard
        order."""
        out = []
        for i, shard in enumerate(self.shards):
            if only is not None and i != only:
                continue
            try:
                out.append(getattr(shard, method)(*args_of(i)))
            except Behind as e:
                raise ShardUnavailable(i, str(e)) from None
        return out

    def close(self) -> None:
        for shard in self.shards:
            shard.close()


def merged_view(epoch: int, layouts: list[Layout]) -> View:
    """One view of the collection from the shards' (days, source codes, names) by global
    id: shards hold disjoint ids, so each id takes the one shard's entry that has it."""
    size = max((len(days) for days, _, _ in layouts), default=0)
    names = sorted({n for _, _, shard_names in layouts for n in shard_names})
    days = np.full(size, -1, dtype=np.int32)
    codes = np.full(size, -1, dtype=np.int32)
    for shard_days, shard_codes, shard_names in layouts:
        held = np.flatnonzero(shard_days >= 0)
        days[held] = shard_days[held]
        codes[held] = recoded(shard_codes[held], shard_names, names)
    # The shards hold the dense and BM25 indexes; the merged view holds neither (fanout.py
    # searches the shards): no dense index, and an empty keyword index.
    return View(epoch, None, KeywordIndex(), days, codes, names)


class Collection:
    """Reads the collection at `root` through `shards` (a caller); `refresh` follows the
    catalog to its newest epoch. `view` and `passages` are what retrieve.search reads."""

    def __init__(self, root: str | Path, shards):
        self.root = Path(root)
        self.shards = shards
        self.catalog = catalogs.read(self.root)
        self.view: View  # set by _load
        self._load(self.catalog)

    @property
    def generations(self) -> tuple[int, ...]:
        return self.catalog.epoch.generations

    def refresh(self) -> None:
        """Move to the newest committed epoch, if another one was committed."""
        catalog = catalogs.read(self.root)
        if catalog.epoch != self.catalog.epoch:
            self._load(catalog)

    def _load(self, catalog) -> None:
        generations = catalog.epoch.generations
        layouts = self.shards.call("layout", lambda i: (generations[i],))
        self.view, self.catalog = merged_view(catalog.epoch.number, layouts), catalog

    def call(self, method: str, *args) -> list:
        """`method(generation, *args)` on every shard, at this epoch's generations."""
        generations = self.generations
        return self.shards.call(method, lambda i: (generations[i], *args))

    def passages(self, ids: list[int]) -> dict[int, Passage]:
        out: dict[int, Passage] = {}
        for found in self.shards.call("passages", lambda i: (ids,)):
            out.update(found)
        return out

    def article(self, article_id: str):
        """The stored article with this id, read from the one shard its hash places it in."""
        shard = catalogs.shard_of(article_id, self.catalog.shards)
        return self.shards.call("article", lambda i: (article_id,), only=shard)[0]

    def outlets(self) -> list[dict]:
        """Each outlet over all shards: article counts summed, date ranges joined, most
        articles first (as one index's `Rows.outlets` orders them).

        Example: [{'outlet': 'a', 'articles': 2, ...}] + [{'outlet': 'a', 'articles': 1, ...}]
                 -> [{'outlet': 'a', 'articles': 3, 'oldest': .., 'newest': ..}]
        """
        merged: dict[str, dict] = {}
        for found in self.shards.call("outlets", lambda i: ()):
            for row in found:
                into = merged.setdefault(row["outlet"], dict(row, articles=0))
                into["articles"] += row["articles"]
                into["oldest"] = min(into["oldest"], row["oldest"])
                into["newest"] = max(into["newest"], row["newest"])
        return sorted(merged.values(), key=lambda r: (-r["articles"], r["outlet"]))

    def stats(self) -> dict:
        """The collection's counts at the newest epoch, summed over shards, with each
        shard's own."""
        self.refresh()
        shards = self.call("stats")
        dates = [s[k] for s in shards for k in ("oldest", "newest") if s[k]]
        return {"articles": sum(s["articles"] for s in shards),
                "passages": sum(s["passages"] for s in shards),
                "oldest": min(dates, default=None), "newest": max(dates, default=None),
                "sources": len(self.view.source_names), "epoch": self.catalog.epoch.number,
                "model": shards[0]["model"], "dim": max(s["dim"] for s in shards),
                "index_bytes": sum(s["index_bytes"] for s in shards),
                "index": str(self.root.resolve()),
                "shards": [{k: s[k] for k in ("shard", "articles", "passages", "generation",
                                              "index_bytes")} for s in shards]}
