"""The index's rows: articles and passages in SQLite, with the schema and the build fingerprint.

SQLite is the truth of an index: its articles, their passage spans, the generation in force
and the settings it was built with (the fingerprint; manifest.json is a readable copy).
Writes return a `Change`, what the generation files must follow; `store.Store` joins the two.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import overload

import numpy as np

from ..errors import IndexDamaged, IndexMismatch
from ..types import Article, Passage

FORMAT = 1
DB_FILE = "assistant.sqlite"
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
CHUNK = 900  # SQLite's bound-parameter limit, with room to spare


@dataclass(frozen=True)
class Put:
    """One article to store with its passage spans and their vectors (one row a span)."""

    article: Article
    hash: str
    spans: list[tuple[int, int]]
    vectors: np.ndarray
    # Passage ids to store the spans under (a sharded collection numbers passages across
    # its shards); None: the database numbers them.
    ids: tuple[int, ...] | None = None


@dataclass(frozen=True, eq=False)
class Change:
    """What one write does, which the next generation's files must follow: `removed` passage
    ids leave; `added` ones arrive with `vectors` (a row each, or None), `dates` and `sources`
    (their articles'). `deleted`: articles deleted. `compact`: BM25 without tombstones."""

    removed: tuple[int, ...] = ()
    added: tuple[int, ...] = ()
    dates: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    vectors: np.ndarray | None = None
    deleted: int = 0
    compact: bool = False


def indexed_text(title: str, text: str, title_context: bool) -> str:
    """What the models see of a passage: its title gives it context."""
    return f"{title}\n{text}" if title_context else text


def indexed_texts(db: sqlite3.Connection, column: str, values: list, title_context: bool
                  ) -> dict[int, str]:
    """{passage id: indexed text} of the passages whose `column` ('p.id' or 'a.id') is in
    `values`."""
    return {r[0]: indexed_text(r[1], r[2], title_context) for r in db.execute(
        'SELECT p.id, a.title, substr(a.text, p.start + 1, p."end" - p.start) FROM passages p'
        f" JOIN articles a ON a.id = p.article_id WHERE {column} IN (SELECT value FROM "
        "json_each(?))", (json.dumps(values),))}


def read_only(folder: str | Path) -> sqlite3.Connection:
    """A connection to the index at `folder` that never writes: no write lock, no journal, so
    it waits on no writer (a Ray task, a check, a split) and leaves no file behind."""
    return sqlite3.connect(f"file:{Path(folder) / DB_FILE}?mode=ro", uri=True)


def read_fingerprint(folder: str | Path) -> dict | None:
    """The build settings the index at `folder` records, read without writing anything; None
    where the folder holds no index. Raises IndexDamaged where the database cannot say."""
    path = Path(folder) / DB_FILE
    if not path.is_file():
        return None
    try:
        with closing(read_only(folder)) as db:
            row = db.execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()
            if row is None and db.execute("SELECT count(*) FROM articles").fetchone()[0]:
                raise sqlite3.DatabaseError("articles but no fingerprint")
            return json.loads(row[0]) if row else None  # None: empty, as the settings say
    except (sqlite3.Error, ValueError) as e:
        raise IndexDamaged(f"{folder}: cannot read the settings it was built with ({e}); "
                           f"run: assistant check --index {folder}") from None


def build_aside(folder: Path, fingerprint: dict) -> Path:
    """An empty database recording `fingerprint`, under a name no reader opens; the caller
    renames it to DB_FILE once the index may be seen (see `Store`)."""
    aside = folder / (DB_FILE + ".new")
    aside.unlink(missing_ok=True)  # left by a creation killed before its rename
    with closing(sqlite3.connect(aside, isolation_level=None)) as db:
        db.executescript(SCHEMA)
        db.execute("INSERT INTO meta VALUES ('fingerprint', ?)", (json.dumps(fingerprint),))
    return aside


class Rows:
    """One connection to an index's database, whose fingerprint is `fingerprint` (checked on
    opening: another one raises IndexMismatch). Safe to share between threads."""

    def __init__(self, folder: Path, fingerprint: dict):
        self.folder = folder
        self.title_context = bool(fingerprint.get("title_context"))
        self.db = sqlite3.connect(folder / DB_FILE, isolation_level=None,
                                  check_same_thread=False)
        self.db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                              "PRAGMA foreign_keys=ON;" + SCHEMA)
        self._check_fingerprint(fingerprint)

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def snapshot(self):
        """Reads inside see one committed state of the database."""
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("COMMIT")

    @contextmanager
    def transaction(self):
        """Writes inside are committed together at its end, or rolled back on any error."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- reading ---------------------------------------------------------------------------

    @overload
    def meta(self, key: str, default: str) -> str: ...
    @overload
    def meta(self, key: str, default: None = None) -> str | None: ...

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(value)))

    def view_rows(self) -> list[tuple[int, int, str, str]]:
        """(first passage id, last, article date, article source) for each run of consecutive
        ids in an article: one an article (written together), 10M passages in 1M rows."""
        runs = []
        for first, last, count, date, source, article in self.db.execute(
                "SELECT min(p.id), max(p.id), count(*), a.date, a.source, p.article_id "
                "FROM passages p JOIN articles a ON a.id = p.article_id GROUP BY p.article_id"):
            if last - first + 1 == count:
                runs.append((first, last, date, source))
            else:  # not written together (never, so far): one run a passage
                runs += [(i, i, date, source) for (i,) in self.db.execute(
                    "SELECT id FROM passages WHERE article_id = ?", (article,))]
        return runs

    def passages(self, ids: list[int]) -> dict[int, Passage]:
        """The passages with these ids, text cut from the stored article."""
        out = {}
        for start in range(0, len(ids), CHUNK):
            chunk = [int(i) for i in ids[start:start + CHUNK]]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                    'SELECT p.id, substr(a.text, p.start + 1, p."end" - p.start), a.title, a.url,'
                    ' a.source, a.date, a.id, p.seq, p.start, p."end" FROM passages p'
                    f" JOIN articles a ON a.id = p.article_id WHERE p.id IN ({marks})", chunk):
                out[row[0]] = Passage(*row[1:])
        return out

    def hashes(self, ids: list[str]) -> dict[str, str]:
        """The content hash of each stored article among `ids`."""
        return article_hashes(self.db, ids)

    def keyword_texts(self, ids) -> list[str]:
        """These passages' indexed texts in order (read in the transaction in progress)."""
        rows = self.indexed_texts("p.id", [int(i) for i in ids])
        return [rows[int(i)] for i in ids]

    def indexed_texts(self, column: str, values: list) -> dict[int, str]:
        """The indexed text of each passage whose `column` ('p.id' or 'a.id') is in `values`."""
        return indexed_texts(self.db, column, values, self.title_context)

    def counts(self) -> dict:
        """How many articles and passages, and the oldest and newest article date."""
        articles, oldest, newest = self.db.execute(
            "SELECT count(*), min(date), max(date) FROM articles").fetchone()
        passages = self.db.execute("SELECT count(*) FROM passages").fetchone()[0]
        return {"articles": articles, "passages": passages, "oldest": oldest, "newest": newest}

    def article(self, article_id: str) -> Article | None:
        """The stored article with this id, whole (what an agent reads after a search)."""
        row = self.db.execute("SELECT id, title, date, text, url, source FROM articles "
                              "WHERE id=?", (article_id,)).fetchone()
        return Article(*row) if row else None

    def outlets(self) -> list[dict]:
        """Each outlet with its article count and date range, most articles first."""
        return [{"outlet": r[0], "articles": r[1], "oldest": r[2], "newest": r[3]}
                for r in self.db.execute("SELECT source, count(*), min(date), max(date) FROM "
                                         "articles GROUP BY source ORDER BY 2 DESC, 1")]

    # -- what `check` asks -----------------------------------------------------------------

    def passage_ids(self) -> set[int]:
        return {r[0] for r in self.db.execute("SELECT id FROM passages")}

    def bad_spans(self, max_chars: int) -> int:
        """Passages whose span lies outside their article or is longer than `max_chars`."""
        return self.db.execute(
            'SELECT count(*) FROM passages p JOIN articles a ON a.id = p.article_id WHERE '
            'p.start < 0 OR p."end" <= p.start OR p."end" > length(a.text) OR '
            'p."end" - p.start > ?', (max_chars,)).fetchone()[0]

    def articles_without_passages(self) -> int:
        return self.db.execute("SELECT count(*) FROM articles a WHERE NOT EXISTS "
                               "(SELECT 1 FROM passages p WHERE p.article_id = a.id)"
                               ).fetchone()[0]

    # -- writing ---------------------------------------------------------------------------

    def write(self, puts: list[Put], deletes=()) -> Change:
        """Store `puts` (replacing their old passages) and drop the articles `deletes` names;
        call it inside `transaction()`."""
        db, removed, added, vectors, deleted, dates, sources = self.db, [], [], [], 0, [], []
        for article_id in deletes:
            removed += self._passages_of(article_id)
            deleted += db.execute("DELETE FROM articles WHERE id=?", (article_id,)).rowcount
        for put in puts:
            a = put.article
            removed += self._passages_of(a.id)
            db.execute("DELETE FROM articles WHERE id=?", (a.id,))
            db.execute("INSERT INTO articles VALUES (?,?,?,?,?,?,?)",
                       (a.id, a.url, a.title, a.date, a.source, a.text, put.hash))
            for seq, (start, end) in enumerate(put.spans):
                row = db.execute(
                    'INSERT INTO passages (id, article_id, seq, start, "end") VALUES (?,?,?,?,?)',
                    (put.ids and put.ids[seq], a.id, seq, start, end)).lastrowid
                assert row is not None  # an INSERT always sets it
                added.append(row)
            dates += [a.date] * len(put.spans)
            sources += [a.source] * len(put.spans)
            vectors.append(put.vectors)
        stacked = np.vstack(vectors) if vectors and sum(len(v) for v in vectors) else None
        return Change(tuple(removed), tuple(added), tuple(dates), tuple(sources), stacked,
                      deleted)

    def _passages_of(self, article_id: str) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT id FROM passages WHERE article_id=?",
                                              (article_id,))]

    def _check_fingerprint(self, wanted: dict) -> None:
        stored = self.meta("fingerprint")
        if stored is None:
            if self.db.execute("SELECT count(*) FROM articles").fetchone()[0]:
                raise IndexMismatch(f"{self.folder} holds articles but no fingerprint")
            self.set_meta("fingerprint", json.dumps(wanted))
            return
        have = json.loads(stored)
        if have != wanted:
            diff = ", ".join(f"{k}: index has {have.get(k)!r}, settings want {wanted.get(k)!r}"
                             for k in sorted(have.keys() | wanted.keys())
                             if have.get(k) != wanted.get(k))
            raise IndexMismatch(f"{self.folder} was built with other settings ({diff}); "
                                "use a new index folder or rebuild this one")

    def close(self) -> None:
        self.db.close()


def article_hashes(db: sqlite3.Connection, ids: list[str]) -> dict[str, str]:
    """The content hash of each stored article among `ids`, asked in pieces SQLite can bind."""
    out: dict[str, str] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        marks = ",".join("?" * len(chunk))
        out.update(db.execute(f"SELECT id, hash FROM articles WHERE id IN ({marks})",
                              chunk).fetchall())
    return out

