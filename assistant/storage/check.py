"""Verify an index folder, and rebuild from its stored articles what can be rebuilt.

SQLite holds the articles, which are the truth; the FAISS and BM25 files and the manifest are
derived from them, so any damage there is repaired by re-deriving them. An index killed at any
point passes: a crash leaves whole batches, and a manifest at most behind the last commit.
Each problem has a kind, and the kind alone says what `repair` does about it.
"""
from __future__ import annotations

import shutil
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np

from ..config import Settings
from ..errors import IndexDamaged, IndexMismatch, NoIndex
from .generations import MANIFEST
from .reads import stored_articles
from .rows import DB_FILE, read_only
from .store import Store, settings_for_index
from .view import Layout, layout_of_runs, recoded


class Kind(Enum):
    """What is damaged, which says what repairs it."""

    DATABASE = "database"  # SQLite cannot read its rows: only a backup restores the articles
    SETTINGS = "settings"  # the recorded build settings are unusable: nothing says how to rebuild
    SEARCH_FILES = "search files"  # FAISS or BM25 missing or out of step: rebuilt from articles
    PASSAGES = "passages"  # spans outside their article, articles without passages: rebuilt
    MANIFEST = "manifest"  # missing or stale: rewritten from the database
    TOKEN_COUNTS = "token counts"  # BM25 files of format 1, without them: BM25 rebuilt


REBUILT = {Kind.SEARCH_FILES, Kind.PASSAGES}


@dataclass(frozen=True)
class Problem:
    kind: Kind
    message: str

    def __str__(self) -> str:
        return self.message


def own_settings(folder: Path, settings: Settings | None = None) -> Settings:
    """`settings` (by default the defaults) with the build settings the index records."""
    built = settings_for_index(folder).index_fingerprint()
    return (settings or Settings()).with_(**built)


def check(folder: Path, settings: Settings | None = None) -> list[Problem]:
    """What is wrong with the index at `folder`; an empty list when it is healthy. The index
    is read with its own build settings (those of `settings` are not used). Raises NoIndex
    where there is none (nothing to check, and nothing to repair)."""
    folder = Path(folder)
    if not (folder / DB_FILE).is_file():
        raise NoIndex(folder)
    problems = _check_db(folder)
    if problems:
        return problems
    try:
        settings = own_settings(folder, settings)
    except IndexDamaged as e:
        return [Problem(Kind.SETTINGS, str(e))]
    try:
        store = Store(folder, settings, create=False)
    except (IndexDamaged, IndexMismatch) as e:  # files gone, or another format's
        return [Problem(Kind.SEARCH_FILES, str(e))]
    try:
        return _check_files(store) + _check_manifest(store)
    finally:
        store.close()


def _check_files(store: Store) -> list[Problem]:
    rows, view = store.rows, store.view
    passage_ids = rows.passage_ids()
    dense_ids = set(view.dense.ids().tolist()) if view.dense is not None else set()
    problems = []
    if dense_ids != passage_ids:
        problems.append(Problem(Kind.SEARCH_FILES, (
            f"dense index: {len(passage_ids - dense_ids)} passages missing, "
            f"{len(dense_ids - passage_ids)} vectors of no passage")))
    if view.dense is not None and view.dense.vectors.exists and dense_ids:
        _, held = view.dense.vectors.read(np.array(sorted(dense_ids)))
        if not held.all():
            problems.append(Problem(Kind.SEARCH_FILES, (
                f"vector file: {int((~held).sum())} of {len(held)} passages have no row")))
    if not view.keyword.exact:
        problems.append(Problem(Kind.TOKEN_COUNTS, "keyword index keeps no token counts "
                                "(written before format 2): BM25 cannot use the collection's "
                                "average length; run: assistant check --repair"))
    missing = passage_ids - set(view.keyword.ids.tolist())
    if missing:  # ids in it but not in the database are tombstones: `assistant compact`
        problems.append(Problem(Kind.SEARCH_FILES, f"keyword index misses {len(missing)} of "
                                                   f"{len(passage_ids)} passages"))
    wrong = _misplaced(view.layout, layout_of_runs(rows.view_rows()))
    if wrong:
        problems.append(Problem(Kind.SEARCH_FILES, f"layout: {wrong} passages with another "
                                                   "date or outlet than the database's"))
    bad_spans = rows.bad_spans(store.settings.max_chars)
    if bad_spans:
        problems.append(Problem(Kind.PASSAGES, f"{bad_spans} passages with spans outside "
                                               "their article or too long"))
    empty = rows.articles_without_passages()
    if empty:
        problems.append(Problem(Kind.PASSAGES, f"{empty} articles without passages"))
    return problems


def _misplaced(held: Layout, truth: Layout) -> int:
    """How many passage ids the generation's layout dates or places otherwise than the rows."""
    size = max(len(held[0]), len(truth[0]))
    names = sorted(set(held[2]) | set(truth[2]))

    def padded(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
        days, codes, own = layout
        return (np.pad(days, (0, size - len(days)), constant_values=-1),
                np.pad(recoded(codes, own, names), (0, size - len(codes)), constant_values=-1))

    (days, codes), (true_days, true_codes) = padded(held), padded(truth)
    return int(((days != true_days) | (codes != true_codes)).sum())


def _check_db(folder: Path) -> list[Problem]:
    path = folder / DB_FILE
    try:
        with closing(read_only(folder)) as db:
            verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
            orphans = db.execute("PRAGMA foreign_key_check").fetchall()
    except sqlite3.DatabaseError as e:
        return [Problem(Kind.DATABASE, f"{path}: SQLite cannot read it ({e}); "
                                       "restore it from a backup")]
    out = [] if verdict == "ok" else [Problem(Kind.DATABASE,
                                              f"{path}: SQLite integrity check: {verdict}")]
    return out + ([Problem(Kind.PASSAGES, f"{len(orphans)} passages of no article")]
                  if orphans else [])


def _check_manifest(store: Store) -> list[Problem]:
    """The manifest is rewritten after each commit, so a crash between the two leaves it
    describing an earlier generation: not damage (the next write rewrites it). One that
    claims the generation in force must count what it holds."""
    path, generation = store.folder / MANIFEST, store.view.generation
    try:
        manifest = store.generations.read_manifest()
    except (OSError, ValueError):
        return [Problem(Kind.MANIFEST, f"{path} is missing or unreadable")]
    if isinstance(manifest.get("generation"), int) and manifest["generation"] < generation:
        return []
    stats = store.stats()
    stale = [k for k in ("articles", "passages", "generation") if manifest.get(k) != stats[k]]
    return [Problem(Kind.MANIFEST, f"{path} is stale ({', '.join(stale)})")] if stale else []


def repair(folder: str | Path, /, settings: Settings | None = None, progress: bool = False
           ) -> list[str]:
    """Rebuild the derived files of a damaged index with its own build settings (`settings`
    gives the others, such as the batch size); returns what was done. The folder is
    positional, as in cluster.health.repair: the CLI calls one or the other."""
    from ..assistant import Assistant

    folder = Path(folder)
    problems = check(folder, settings)
    if not problems:
        return []
    kinds = {p.kind for p in problems}
    if kinds & {Kind.DATABASE, Kind.SETTINGS}:
        raise IndexDamaged("; ".join(map(str, problems)) + " (the articles or the settings "
                           "they were built with are damaged: nothing here can rebuild them)")
    settings = own_settings(folder, settings)
    if not kinds & REBUILT:  # the manifest or the BM25 files alone: no re-embedding
        store = Store(folder, settings, create=False)
        done = ["rewrote the manifest"]
        if Kind.TOKEN_COUNTS in kinds:
            with store.lock():
                store.compact(progress, force=True)
            done = ["rebuilt the keyword index with its passages' token counts"]
        store.write_manifest()
        store.close()
        return done
    fresh = folder.with_name(folder.name + ".repairing")
    shutil.rmtree(fresh, ignore_errors=True)
    report = Assistant(fresh, settings).ingest_articles(stored_articles(folder), progress)
    damaged = folder.with_name(f"{folder.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    folder.rename(damaged)
    fresh.rename(folder)
    return [(f"rebuilt the index from {report.read} stored articles "
             f"({report.passages} passages); the damaged folder is kept at {damaged}")]
