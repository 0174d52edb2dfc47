"""The catalog of a sharded collection: shard count, the hash that places articles, the epochs
committed so far, and the collection's one write lock.

A collection folder holds `catalog.json` and S shard folders (`shard-000` ...), each an
ordinary index folder. An epoch names the generation of every shard that readers use, and
the next passage id: replacing `catalog.json` whole is the one step that makes an ingest
batch visible in all shards at once (see ingest.py).
"""
from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import IndexMismatch, NoIndex
from ..storage.generations import Generations

FILE = "catalog.json"
FORMAT = 1
HASH = "crc32(article id) mod shards"
KEEP_EPOCHS = 8  # the newest epochs kept in the file, for whoever reads it by hand


def shard_of(article_id: str, shards: int) -> int:
    """Example: shard_of('bbc-1', 4) -> 2 (CRC-32 of the id's UTF-8, modulo the shards)."""
    return zlib.crc32(article_id.encode()) % shards


def shard_folder(root: Path, shard: int) -> Path:
    return Path(root) / f"shard-{shard:03d}"


@dataclass(frozen=True)
class Epoch:
    """One committed state of the whole collection."""

    number: int
    generations: tuple[int, ...]  # by shard: the generation readers use
    next_id: int  # the first passage id the next batch gives out

    def to_dict(self) -> dict:
        return {"number": self.number, "generations": list(self.generations),
                "next_id": self.next_id}


@dataclass(frozen=True)
class Catalog:
    shards: int
    fingerprint: dict  # the build settings every shard records
    epochs: tuple[Epoch, ...] = field(default=())

    @property
    def epoch(self) -> Epoch:
        return self.epochs[-1]

    def with_epoch(self, generations, next_id: int) -> Catalog:
        epoch = Epoch(self.epoch.number + 1, tuple(int(g) for g in generations), next_id)
        return Catalog(self.shards, self.fingerprint, (self.epochs + (epoch,))[-KEEP_EPOCHS:])

    def to_dict(self) -> dict:
        return {"format": FORMAT, "shards": self.shards, "hash": HASH,
                "fingerprint": self.fingerprint, "epochs": [e.to_dict() for e in self.epochs]}


def is_collection(root: str | Path) -> bool:
    return (Path(root) / FILE).is_file()


def read(root: str | Path) -> Catalog:
    """The catalog as last committed; NoIndex where `root` holds no collection."""
    path = Path(root) / FILE
    if not path.is_file():
        raise NoIndex(root)
    data = json.loads(path.read_text())
    if data.get("format") != FORMAT or data.get("hash") != HASH:
        raise IndexMismatch(f"{path}: catalog format {data.get('format')!r}, hash "
                            f"{data.get('hash')!r}; this version reads format {FORMAT}")
    epochs = tuple(Epoch(e["number"], tuple(e["generations"]), e["next_id"])
                   for e in data["epochs"])
    return Catalog(data["shards"], data["fingerprint"], epochs)


def commit(root: str | Path, catalog: Catalog) -> None:
    """Replace the catalog whole and durably: readers find the old one or the new one."""
    root = Path(root)
    tmp = root / (FILE + ".tmp")
    with open(tmp, "w") as f:
        f.write(json.dumps(catalog.to_dict(), indent=1) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, root / FILE)
    directory = os.open(root, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def lock(root: str | Path):
    """The collection's write lock: one writer for all its shards (IndexBusy for a second)."""
    return Generations(Path(root)).lock()


def create(root: str | Path, shards: int, settings) -> Catalog:
    """An empty collection of `shards` empty shard folders, built with `settings`; the
    catalog is written last, so a folder without it is no collection yet."""
    from ..errors import BadQuery
    from ..storage.rows import DB_FILE, FORMAT as ROWS_FORMAT
    from ..storage.store import Store

    root = Path(root)
    if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= 4096:
        raise BadQuery(f"--shards must be a whole number from 1 to 4096, got {shards!r}")
    if is_collection(root) or (root / DB_FILE).exists():
        raise IndexMismatch(f"{root} already holds an index or a collection")
    root.mkdir(parents=True, exist_ok=True)
    with lock(root):
        for shard in range(shards):
            Store(shard_folder(root, shard), settings).close()
        catalog = Catalog(shards, {"format": ROWS_FORMAT, **settings.index_fingerprint()},
                          (Epoch(0, (0,) * shards, 1),))
        commit(root, catalog)
    return catalog
