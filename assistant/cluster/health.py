"""`assistant check` for a sharded collection: each shard folder as an index, the shards
against the catalog's epoch, and with --ray the shard actors answering at that epoch.

Repair settles what a killed writer left (applies what an epoch committed), and repairs in
each shard what keeps its passage ids (token counts, manifest). A shard whose search files
must be rebuilt from its articles is refused: a rebuild would number its passages afresh,
and the collection's ids are global.
"""
from __future__ import annotations

from pathlib import Path

from ..config import Settings
from ..errors import AssistantError, IndexDamaged
from ..storage import check as single
from ..storage.check import REBUILT, Kind, Problem
from ..storage.rows import read_fingerprint
from . import catalog as catalogs
from .catalog import is_collection, shard_folder  # noqa: F401 (the CLI asks through here)
from .ingest import Writer


def check(root: str | Path, settings: Settings | None = None, ray: str | None = None
          ) -> list[Problem]:
    """What is wrong with the collection at `root`; empty when it is healthy."""
    root = Path(root)
    catalog = catalogs.read(root)
    problems = []
    for shard in range(catalog.shards):
        folder = shard_folder(root, shard)
        found = [Problem(p.kind, f"shard {shard}: {p}") for p in single.check(folder)]
        problems += found
        if read_fingerprint(folder) is not None and not found:
            generation = _generation(folder)
            if generation < catalog.epoch.generations[shard]:
                problems.append(Problem(Kind.SEARCH_FILES, (
                    f"shard {shard}: at generation {generation}, behind epoch "
                    f"{catalog.epoch.number} ({catalog.epoch.generations[shard]}): a writer "
                    "was stopped after its commit; run: assistant check --repair")))
    if ray is not None and not problems:
        from . import connect

        try:
            assistant = connect(root, ray)
            try:
                assistant.stats()
            finally:
                assistant.close()
        except AssistantError as e:
            problems.append(Problem(Kind.SEARCH_FILES, str(e)))
    return problems


def _generation(folder: Path) -> int:
    from ..storage.store import Store, settings_for_index

    store = Store(folder, settings_for_index(folder), create=False)
    try:
        return store.view.generation
    finally:
        store.close()


def repair(root: str | Path, /, settings: Settings | None = None, progress: bool = False
           ) -> list[str]:
    """Settle a killed writer's epoch, then repair each shard where ids survive it. The root
    is positional, as check.repair's folder: the CLI calls one or the other."""
    root = Path(root)
    catalog = catalogs.read(root)
    done = []
    writer = Writer(root, single.own_settings(shard_folder(root, 0), settings))
    try:
        with writer.lock():  # recovers: applies what the last epoch committed
            pass
    finally:
        writer.close()
    for shard in range(catalog.shards):
        folder = shard_folder(root, shard)
        kinds = {p.kind for p in single.check(folder, settings)}
        if kinds & (REBUILT | {Kind.DATABASE, Kind.SETTINGS}):
            raise IndexDamaged(f"shard {shard} at {folder} needs its search files rebuilt, "
                               "which would renumber its passages; rebuild the collection: "
                               "assistant cluster init, then ingest its articles again")
        done += [f"shard {shard}: {line}" for line in single.repair(folder, settings, progress)]
    return done
