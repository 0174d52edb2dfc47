"""The index folder: SQLite for articles and passages, FAISS and BM25 files per generation.

A batch becomes visible in one step, the SQLite commit that names its generation folder: a
crash before it leaves the previous generation in force; after it, the new one is complete.
An index comes into being in one step too: its database appears under its name only once the
manifest beside it records the build settings.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import sqlite3
import threading
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import Settings
from .dense import FILE as DENSE_FILE
from .dense import DenseIndex
from .errors import IndexBusy, IndexDamaged, IndexMismatch, NoIndex
from .faults import crash_point
from .keyword import KeywordIndex, Segment, by_id
from .types import Article, Passage
from .view import View, build_view

FORMAT = 1
DB_FILE = "assistant.sqlite"
MANIFEST = "manifest.json"
LOCK = ".lock"
# What the manifest says of the index's contents, beside the build settings.
STATE = ("dim", "generation", "articles", "passages", "oldest", "newest", "sources")
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, url TEXT NOT NULL, title TEXT NOT NULL, date TEXT NOT NULL,
    source TEXT NOT NULL, text TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS passages_article ON passages(article_id);
CREATE INDEX IF NOT EXISTS articles_date ON articles(date);
"""


@dataclass(frozen=True)
class Put:
    """One article to store with its passage spans and their vectors (one row a span)."""

    article: Article
    hash: str
    spans: list[tuple[int, int]]
    vectors: np.ndarray


class Store:
    """Opens (or, with `create`, creates) an index folder; reads are cheap, writes go through
    `apply`. A folder without an index raises NoIndex unless `create` is set.

    Many threads may read through one Store; a writer needs a Store of its own, since `apply`
    changes the dense index of its view in place before committing.
    """

    def __init__(self, folder: str | Path, settings: Settings, create: bool = True):
        self.folder = Path(folder)
        self.settings = settings
        if not (self.folder / DB_FILE).is_file():
            if not create:
                raise NoIndex(self.folder)
            self._create()
        self.db = sqlite3.connect(self.folder / DB_FILE, isolation_level=None,
                                  check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)
        self._check_fingerprint()
        self._refreshing = threading.Lock()
        self.view = View(-1, None, KeywordIndex([]), np.zeros(0, np.int32),
                         np.zeros(0, np.int32), [])
        self.refresh()

    # The parts of the view in force, for callers that need only one of them.
    generation = property(lambda self: self.view.generation)
    dense = property(lambda self: self.view.dense)
    keyword = property(lambda self: self.view.keyword)
    days = property(lambda self: self.view.days)
    source_names = property(lambda self: self.view.source_names)

    # -- reading ---------------------------------------------------------------------------

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def refresh(self, force: bool = False, dense: DenseIndex | None = None) -> None:
        """Load the generation in force if another process (or we) committed a newer one.

        The generation number and the passage rows are read in one SQLite snapshot, so a
        reader sees the old state or the new one, never a mix. A writer that has just
        committed passes the dense index it wrote, sparing a re-read of the whole file.
        """
        with self._refreshing:
            for attempt in range(3):
                self.db.execute("BEGIN")
                try:
                    generation = int(self.meta("generation", "0"))
                    if generation == self.generation and not force:
                        return
                    dim = int(self.meta("dim", "0"))
                    rows = self.db.execute("SELECT p.id, a.date, a.source FROM passages p "
                                           "JOIN articles a ON a.id = p.article_id").fetchall()
                    loaded, keyword = self._load_generation(generation, dim, dense is None)
                    dense = loaded if dense is None else dense  # an empty index is falsy
                    break
                except FileNotFoundError as e:
                    if attempt == 2:  # not a writer's clean-up racing us: the files are gone
                        raise IndexDamaged(f"{self.folder}: {e}; run: assistant check --repair "
                                           f"--index {self.folder}") from None
                finally:
                    self.db.execute("COMMIT")
            self.view = build_view(generation, dense, keyword, rows)

    def _load_generation(self, generation: int, dim: int, with_dense: bool = True):
        if not generation:
            return None, KeywordIndex([])
        folder = self._gen_dir(generation)
        if not folder.is_dir():
            raise FileNotFoundError(f"generation folder {folder.name} is missing")
        dense = (DenseIndex.load(folder, dim)
                 if with_dense and (folder / DENSE_FILE).exists() else None)
        return dense, KeywordIndex.load(folder)

    def passages(self, ids: list[int]) -> dict[int, Passage]:
        """The passages with these ids, text cut from the stored article."""
        out = {}
        for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
            chunk = [int(i) for i in ids[start:start + 900]]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                    'SELECT p.id, substr(a.text, p.start + 1, p."end" - p.start), a.title, a.url,'
                    ' a.source, a.date, a.id, p.seq, p.start, p."end" FROM passages p'
                    f" JOIN articles a ON a.id = p.article_id WHERE p.id IN ({marks})", chunk):
                out[row[0]] = Passage(*row[1:])
        return out

    def stats(self) -> dict:
        articles, oldest, newest = self.db.execute(
            "SELECT count(*), min(date), max(date) FROM articles").fetchone()
        passages = self.db.execute("SELECT count(*) FROM passages").fetchone()[0]
        size = folder_bytes(self.folder)
        return {"articles": articles, "passages": passages, "oldest": oldest, "newest": newest,
                "model": self.settings.model, "dim": int(self.meta("dim", "0")),
                "sources": len(self.source_names), "generation": self.generation,
                "keyword_tombstones": self.tombstones(),
                "keyword_segments": len(self.keyword.segments),
                "index_bytes": size, "index": str(self.folder.resolve())}

    def hashes(self, ids: list[str]) -> dict[str, str]:
        out = {}
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            marks = ",".join("?" * len(chunk))
            out.update(self.db.execute(f"SELECT id, hash FROM articles WHERE id IN ({marks})",
                                       chunk).fetchall())
        return out

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def lock(self):
        """Hold the index's write lock; a second writer is refused, never interleaved."""
        with open(self.folder / LOCK, "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise IndexBusy(f"{self.folder} is being written by another process; "
                                "try again when it has finished") from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def apply(self, puts: list[Put], deletes: list[str] = (), progress: bool = False) -> int:
        """Store `puts` (replacing their old passages) and drop `deletes`, all or nothing.

        Returns the number of articles deleted. Call it with the lock held. progress: bars
        for the BM25 merges this batch may set off (minutes at millions of passages).
        """
        deleted = 0

        def change() -> dict:
            nonlocal deleted
            db, removed, new_ids, vectors = self.db, [], [], []
            for article_id in deletes:
                removed += self._passage_ids(article_id)
                deleted += db.execute("DELETE FROM articles WHERE id=?", (article_id,)).rowcount
            for put in puts:
                a = put.article
                removed += self._passage_ids(a.id)
                db.execute("DELETE FROM articles WHERE id=?", (a.id,))
                db.execute("INSERT INTO articles VALUES (?,?,?,?,?,?,?)",
                           (a.id, a.url, a.title, a.date, a.source, a.text, put.hash))
                for seq, (start, end) in enumerate(put.spans):
                    new_ids.append(db.execute(
                        'INSERT INTO passages (article_id, seq, start, "end") VALUES (?,?,?,?)',
                        (a.id, seq, start, end)).lastrowid)
                vectors.append(put.vectors)
            return {"removed": removed, "new_ids": new_ids, "vectors": vectors,
                    "progress": progress}

        self._commit_generation(change)
        return deleted

    def _commit_generation(self, change) -> None:
        """Run `change` (table edits, returning `_write_generation`'s arguments) and write the
        generation in one transaction: its commit makes both visible, or neither."""
        self.refresh()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            generation, dense = self._write_generation(**change())
            crash_point("commit")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            self.refresh(force=True)  # the in-memory dense index may have changed: reload it
            raise
        crash_point("after-commit")
        self._after_commit(generation, dense)

    def _passage_ids(self, article_id: str) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT id FROM passages WHERE article_id=?",
                                              (article_id,))]

    def _write_generation(self, removed: list[int], new_ids: list[int],
                          vectors: list[np.ndarray], keyword: KeywordIndex | None = None,
                          progress: bool = False) -> tuple[int, DenseIndex | None]:
        dense = self.dense
        if vectors and sum(len(v) for v in vectors):
            matrix = np.vstack(vectors)
            if dense is None:
                dense = DenseIndex(matrix.shape[1])
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('dim', ?)",
                                (str(matrix.shape[1]),))
            dense.add(np.asarray(new_ids), matrix)
        if dense is not None:
            dense.remove(removed)
        generation = int(self.meta("generation", "0")) + 1
        if keyword is None:  # deleted passages stay in their segments as tombstones
            keyword = self.keyword
            if new_ids:
                keyword = keyword.added(Segment.build(f"s{generation:06d}", new_ids,
                                                      self._keyword_texts(new_ids)))
            new, gone = np.asarray(new_ids, np.int64), np.asarray(removed, np.int64)
            keyword = keyword.merged(
                lambda ids: (self._live(ids) | np.isin(ids, new)) & ~np.isin(ids, gone),
                self._keyword_texts, f"s{generation:06d}m", progress)
        final = self._gen_dir(generation)
        partial = final.with_name(final.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)  # left by a crash after its rename
        partial.mkdir()
        if dense is not None:
            dense.save(partial)
        keyword.save(partial)
        _fsync_tree(partial)
        crash_point("generation")
        os.replace(partial, final)
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(generation),))
        return generation, dense

    def _keyword_texts(self, ids) -> list[str]:
        """The indexed texts of these passages, in the order given (read in the transaction
        in progress, so a batch's own new passages are there)."""
        rows = {r[0]: self.indexed_text(r[1], r[2]) for r in self.db.execute(
            'SELECT p.id, a.title, substr(a.text, p.start + 1, p."end" - p.start) FROM passages p'
            " JOIN articles a ON a.id = p.article_id WHERE p.id IN (SELECT value FROM json_each(?))",
            (json.dumps([int(i) for i in ids]),))}
        return [rows[int(i)] for i in ids]

    def _live(self, ids: np.ndarray) -> np.ndarray:
        """True where a passage id is stored in the generation in force."""
        return by_id(self.view.days, ids, -1) >= 0

    def tombstones(self) -> int:
        """Deleted passages still in the BM25 files (masked at search; `compact` drops them)."""
        ids = self.keyword.ids
        return int(len(ids) - self._live(ids).sum())

    def compact(self, progress: bool = False) -> int:
        """Rebuild the BM25 index without tombstones, as a new generation; returns how many
        were dropped. Call it with the lock held."""
        self.refresh()
        dropped = self.tombstones()
        if dropped:
            self._commit_generation(lambda: {"removed": [], "new_ids": [], "vectors": [],
                                             "keyword": self.keyword.compacted(
                                                 self._live, self._keyword_texts,
                                                 f"s{self.generation + 1:06d}c", progress)})
        return dropped

    def indexed_text(self, title: str, text: str) -> str:
        """What the models see of a passage: its title gives it context."""
        return f"{title}\n{text}" if self.settings.title_context else text

    def _after_commit(self, generation: int, dense: DenseIndex | None) -> None:
        self.refresh(dense=dense)
        for old in self.folder.glob("gen-*"):  # keep the previous one for readers mid-load
            number = int(old.name[4:].split(".")[0])
            if number < generation - 1 or old.name.endswith(".partial"):
                shutil.rmtree(old, ignore_errors=True)
        self.write_manifest()

    def write_manifest(self) -> None:
        stats = self.stats()
        self._write_manifest({key: stats[key] for key in STATE}, "manifest")

    def _write_manifest(self, state: dict, point: str) -> None:
        """Replace manifest.json whole (a reader finds the old one or the new one); `point`
        names the crash point between writing it aside and putting it in place."""
        manifest = {"format": FORMAT, **self.settings.index_fingerprint(), **state,
                    "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        tmp = self.folder / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(manifest, indent=2) + "\n")
        crash_point(point)
        os.replace(tmp, self.folder / MANIFEST)

    def _create(self) -> None:
        """Make an empty index, in one step as far as anyone can see: the database is built
        aside, the manifest (the build settings `Settings.for_index` reads) is put in place,
        and only then is the database renamed to its name. A process killed at any point
        leaves no index or an empty, complete one, which `check` passes; the folder's first
        commit can be minutes away, behind the model's loading and a batch's embedding."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.lock():  # of two processes creating it at once, the second is refused
            if (self.folder / DB_FILE).is_file():
                return
            aside = self.folder / (DB_FILE + ".new")
            aside.unlink(missing_ok=True)  # left by a creation killed before its rename
            with closing(sqlite3.connect(aside, isolation_level=None)) as db:
                db.executescript(SCHEMA)
                db.execute("INSERT INTO meta VALUES ('fingerprint', ?)",
                           (json.dumps(self._fingerprint()),))
            self._write_manifest(dict.fromkeys(STATE, 0) | {"oldest": None, "newest": None},
                                 "create")
            os.replace(aside, self.folder / DB_FILE)

    def _gen_dir(self, generation: int) -> Path:
        return self.folder / f"gen-{generation:06d}"

    def _fingerprint(self) -> dict:
        return {"format": FORMAT, **self.settings.index_fingerprint()}

    def _check_fingerprint(self) -> None:
        wanted = self._fingerprint()
        stored = self.meta("fingerprint")
        if stored is None:
            if self.db.execute("SELECT count(*) FROM articles").fetchone()[0]:
                raise IndexMismatch(f"{self.folder} holds articles but no fingerprint")
            self.db.execute("INSERT INTO meta VALUES ('fingerprint', ?)", (json.dumps(wanted),))
            return
        have = json.loads(stored)
        if have != wanted:
            diff = ", ".join(f"{k}: index has {have.get(k)!r}, settings want {v!r}"
                             for k, v in wanted.items() if have.get(k) != v)
            raise IndexMismatch(f"{self.folder} was built with other settings ({diff}); "
                                "use a new index folder or rebuild this one")

    def close(self) -> None:
        self.db.close()


def folder_bytes(folder: Path) -> int:
    """Bytes under `folder`; what a writer removes meanwhile (an old generation) just does not
    count, so stats never fail during an ingest."""
    total = 0
    for root, _, files in os.walk(folder):  # os.walk skips folders that vanish under it
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass
    return total


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
