"""Verify an index folder, and rebuild from its stored articles what can be rebuilt.

SQLite holds the articles, which are the truth; the FAISS and BM25 files and the manifest are
derived from them, so any damage there is repaired by re-deriving them. An index killed at any
point passes: a crash leaves whole batches, and a manifest at most behind the last commit.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

from .config import Settings
from .errors import AssistantError, NoIndex
from .store import DB_FILE, MANIFEST, Store
from .types import Article


def check(folder: Path, settings: Settings) -> list[str]:
    """What is wrong with the index at `folder`; an empty list when it is healthy. Raises
    NoIndex where there is none (nothing to check, and nothing to repair)."""
    folder = Path(folder)
    if not (folder / DB_FILE).is_file():
        raise NoIndex(folder)
    db_problems = _check_db(folder / DB_FILE)
    if db_problems:
        return db_problems
    try:
        store = Store(folder, settings, create=False)
    except AssistantError as e:
        return [str(e)]
    problems = []
    db = store.db
    passage_ids = {r[0] for r in db.execute("SELECT id FROM passages")}
    dense_ids = set(store.dense.ids().tolist()) if store.dense is not None else set()
    if dense_ids != passage_ids:
        problems.append(f"dense index: {len(passage_ids - dense_ids)} passages missing, "
                        f"{len(dense_ids - passage_ids)} vectors of no passage")
    missing = passage_ids - set(store.keyword.ids.tolist())
    if missing:  # ids in it but not in the database are tombstones: `assistant compact`
        problems.append(f"keyword index misses {len(missing)} of {len(passage_ids)} passages")
    bad_spans = db.execute(
        'SELECT count(*) FROM passages p JOIN articles a ON a.id = p.article_id WHERE '
        'p.start < 0 OR p."end" <= p.start OR p."end" > length(a.text) OR p."end" - p.start > ?',
        (settings.max_chars,)).fetchone()[0]
    if bad_spans:
        problems.append(f"{bad_spans} passages with spans outside their article or too long")
    empty = db.execute("SELECT count(*) FROM articles a WHERE NOT EXISTS "
                       "(SELECT 1 FROM passages p WHERE p.article_id = a.id)").fetchone()[0]
    if empty:
        problems.append(f"{empty} articles without passages")
    problems += _check_manifest(store)
    store.close()
    return problems


def _check_db(path: Path) -> list[str]:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
            orphans = db.execute("PRAGMA foreign_key_check").fetchall()
    except sqlite3.DatabaseError as e:
        return [f"{path}: SQLite cannot read it ({e}); restore it from a backup"]
    out = [] if verdict == "ok" else [f"{path}: SQLite integrity check: {verdict}"]
    return out + ([f"{len(orphans)} passages of no article"] if orphans else [])


def _check_manifest(store: Store) -> list[str]:
    """The manifest is rewritten after each commit, so a crash between the two leaves it
    describing an earlier generation: not damage (the next write rewrites it). One that
    claims the generation in force must count what it holds."""
    path = store.folder / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return [f"{path} is missing or unreadable"]
    if isinstance(manifest.get("generation"), int) and manifest["generation"] < store.generation:
        return []
    stats = store.stats()
    stale = [k for k in ("articles", "passages", "generation")
             if manifest.get(k) != (store.generation if k == "generation" else stats[k])]
    return [f"{path} is stale ({', '.join(stale)})"] if stale else []


def repair(folder: Path, settings: Settings, progress: bool = False) -> list[str]:
    """Rebuild the derived files of a damaged index; returns what was done."""
    from .assistant import Assistant

    folder = Path(folder)
    problems = check(folder, settings)
    if not problems:
        return []
    if any("SQLite" in p for p in problems):
        raise AssistantError("; ".join(problems) + " (the articles themselves are damaged: "
                             "nothing here can rebuild them)")
    if all(MANIFEST in p for p in problems):
        store = Store(folder, settings, create=False)
        store.write_manifest()
        return ["rewrote the manifest"]
    fresh = folder.with_name(folder.name + ".repairing")
    shutil.rmtree(fresh, ignore_errors=True)
    report = Assistant(fresh, settings).ingest_articles(stored_articles(folder / DB_FILE),
                                                        progress)
    damaged = folder.with_name(f"{folder.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    folder.rename(damaged)
    fresh.rename(folder)
    return [f"rebuilt the index from {report.read} stored articles "
            f"({report.passages} passages); the damaged folder is kept at {damaged}"]


def stored_articles(db_path: Path):
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        for row in db.execute("SELECT id, title, date, text, url, source FROM articles"):
            yield Article(*row)
