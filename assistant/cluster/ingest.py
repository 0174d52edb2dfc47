"""The one writer of a sharded collection: a batch becomes visible in every shard in one step.

`Writer` offers what `Assistant`'s ingest, delete and compact use of a Store (lock, hashes,
indexed_text, known_vectors, apply, compact), so the single-machine ingest code runs unchanged over shards.
A batch is written in three steps:
1. stage: each shard's part (articles, spans, vectors, passage ids, deletes) is written
   whole under `shard-i/incoming/`, fsynced;
2. commit: the catalog's next epoch names each shard's next generation and the next
   passage id: the one step that makes the batch visible;
3. apply: each shard stores its part (an ordinary `Store.apply`), and drops the file.
A crash before 2 leaves readers on the previous epoch; the next writer removes the staged
files of no epoch and a re-run redoes the batch with the same ids. A crash after 2 leaves
shards behind the catalog: the first shard to notice applies what was committed (`settle`),
as does the next writer before anything else.
"""
from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from ..config import Settings
from ..errors import IndexBusy
from ..storage.faults import crash_point
from ..storage.rows import Put, indexed_text
from ..storage.store import Store
from . import catalog as catalogs
from .catalog import shard_folder, shard_of

INCOMING = "incoming"


def staged_path(root: Path, shard: int, epoch: int) -> Path:
    return shard_folder(root, shard) / INCOMING / f"epoch-{epoch:06d}.pkl"


def numbered(puts: list[Put], next_id: int) -> tuple[list[Put], int]:
    """Puts with their passages' global ids, given out in order from `next_id`, as one
    index's database numbers them: a collection and one index of the same batches agree.

    Example: spans of 2 and 3 passages from id 7 -> ids (7, 8), (9, 10, 11); next 12
    """
    out = []
    for put in puts:
        out.append(replace(put, ids=tuple(range(next_id, next_id + len(put.spans)))))
        next_id += len(put.spans)
    return out, next_id


class Writer:
    """Writes the collection at `root` with `settings`; opens shards as it needs them."""

    def __init__(self, root: str | Path, settings: Settings):
        self.root = Path(root)
        self.settings = settings
        self.shards = catalogs.read(self.root).shards
        self._stores: dict[int, Store] = {}

    def store(self, shard: int) -> Store:
        if shard not in self._stores:
            self._stores[shard] = Store(shard_folder(self.root, shard), self.settings,
                                        create=False)
        return self._stores[shard]

    @contextmanager
    def lock(self):
        """The collection's write lock; what a crashed writer left is settled first."""
        with catalogs.lock(self.root):
            self.recover()
            yield

    def recover(self) -> None:
        """Apply staged parts of committed epochs; remove those of epochs never committed."""
        epoch = catalogs.read(self.root).epoch
        for shard in range(self.shards):
            for path in sorted((shard_folder(self.root, shard) / INCOMING).glob("*.pkl")):
                if int(path.stem.split("-")[1]) <= epoch.number:
                    self._apply(shard, path)
                else:
                    path.unlink()

    def hashes(self, ids: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for shard, some in self._by_shard(ids).items():
            out.update(self.store(shard).hashes(some))
        return out

    def indexed_text(self, title: str, text: str) -> str:
        return indexed_text(title, text, self.settings.title_context)

    def known_vectors(self, ids: list[str]) -> dict:
        out: dict = {}
        for shard, some in self._by_shard(ids).items():
            out.update(self.store(shard).known_vectors(some))
        return out

    def apply(self, puts: list[Put], deletes: Sequence[str] = (), progress: bool = False) -> int:
        """Store `puts` and drop `deletes` in every shard, visible in one step; returns the
        number of articles deleted. Call it with the lock held."""
        catalog = catalogs.read(self.root)
        puts, next_id = numbered(puts, catalog.epoch.next_id)
        deleted = len(self.hashes(list(deletes)))
        parts: dict[int, tuple[list[Put], list[str]]] = {}
        for put in puts:
            parts.setdefault(shard_of(put.article.id, self.shards), ([], []))[0].append(put)
        for shard, some in self._by_shard(list(deletes)).items():
            parts.setdefault(shard, ([], []))[1].extend(some)
        number = catalog.epoch.number + 1
        generations = list(catalog.epoch.generations)
        for shard, part in sorted(parts.items()):
            generations[shard] = self.store(shard).view.generation + 1
            _write_whole(staged_path(self.root, shard, number),
                         pickle.dumps((generations[shard], *part), protocol=5))
            crash_point("shard-staged")
        crash_point("catalog")
        catalogs.commit(self.root, catalog.with_epoch(generations, next_id))
        for shard in sorted(parts):
            self._apply(shard, staged_path(self.root, shard, number), progress)
        return deleted

    def compact(self, progress: bool = False) -> int:
        """Drop tombstones in every shard, then name the new generations in an epoch (a
        shard ahead of its epoch answers from its newest generation: the same passages)."""
        dropped = sum(self.store(s).compact(progress) for s in range(self.shards))
        catalog = catalogs.read(self.root)
        generations = [self.store(s).view.generation for s in range(self.shards)]
        catalogs.commit(self.root, catalog.with_epoch(generations, catalog.epoch.next_id))
        return dropped

    def _apply(self, shard: int, path: Path, progress: bool = False) -> None:
        generation, puts, deletes = pickle.loads(path.read_bytes())
        store = self.store(shard)
        with store.lock():
            store.refresh()
            if store.view.generation < generation:  # else applied before a crash
                store.apply(puts, deletes, progress)
        path.unlink()
        crash_point("shard-applied")

    def _by_shard(self, ids: list[str]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for i in ids:
            out.setdefault(shard_of(i, self.shards), []).append(i)
        return out

    def close(self) -> None:
        for store in self._stores.values():
            store.close()


def settle(root: Path, settings: Settings) -> bool:
    """Apply what a killed writer committed but left unapplied, unless a writer is at work
    (then it applies it itself); False while one is."""
    writer = Writer(root, settings)
    try:
        with writer.lock():
            return True
    except IndexBusy:
        return False
    finally:
        writer.close()


def _write_whole(path: Path, data: bytes) -> None:
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
