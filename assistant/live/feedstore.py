"""The followed feeds and what was fetched from the web, in tables of the index's own SQLite
database (beside rows.py's, which they never change): a feed's state travels with the index
it feeds, and `assistant follow --index DIR` needs nothing else.

`feeds`: one row a followed feed with its validators (ETag, Last-Modified), last fetch, counts
and last error. `feed_entries`: the entries already handled, by the version they had, so an
entry is fetched once and again only when its feed says it changed. `web_articles`: where each
fetched article's date came from and its text key, so a wire copy is stored once.
`watched_files`: the files `assistant watch` ingested, as they were (size, mtime).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import AssistantError, NoIndex
from ..storage.rows import DB_FILE

SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT UNIQUE NOT NULL,
    title TEXT NOT NULL DEFAULT '', etag TEXT, last_modified TEXT, last_fetch TEXT,
    last_error TEXT NOT NULL DEFAULT '', articles INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0, added TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS feed_entries (
    feed_id INTEGER NOT NULL, entry TEXT NOT NULL, version TEXT NOT NULL,
    article_id TEXT, seen TEXT NOT NULL, PRIMARY KEY (feed_id, entry));
CREATE TABLE IF NOT EXISTS web_articles (
    article_id TEXT PRIMARY KEY, url TEXT NOT NULL, text_key TEXT NOT NULL,
    date_source TEXT NOT NULL, fetched TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS web_articles_text ON web_articles(text_key);
CREATE TABLE IF NOT EXISTS watched_files (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    ingested TEXT NOT NULL);
"""


class NoFeed(AssistantError):
    """A feed id or URL that is not followed."""

    http_status = 404


class BadFeedUrl(AssistantError):
    """A feed address that is not an http(s) URL."""

    http_status = 400


@dataclass(frozen=True)
class Feed:
    id: int
    url: str
    title: str
    etag: str | None
    last_modified: str | None
    last_fetch: str | None
    last_error: str
    articles: int
    failures: int
    added: str

    def to_dict(self) -> dict:
        return asdict(self)


def now() -> str:
    """Example: '2024-03-01T09:00:00Z' (UTC, to the second)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FeedStore:
    """One connection to the live tables of the index at `folder` (which must exist). Each
    method commits on its own: entries are marked only after their articles are stored, so a
    process killed between the two fetches them again, and finds them unchanged."""

    def __init__(self, folder: str | Path):
        path = Path(folder) / DB_FILE
        if not path.is_file():
            raise NoIndex(folder)
        # Each write is one `with self.db:` transaction (committed at its end, rolled back
        # on an error), taking the write lock at its start.
        self.db = sqlite3.connect(path, isolation_level="IMMEDIATE", timeout=30,
                                  check_same_thread=False)
        self.db.executescript(SCHEMA)

    # -- feeds -----------------------------------------------------------------------------

    def add(self, url: str) -> Feed:
        """Follow `url` (again: a no-op); returns its row."""
        parts = urlsplit(url.strip() if isinstance(url, str) else "")
        if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
            raise BadFeedUrl(f"a feed is an http:// or https:// URL, not {str(url)[:80]!r}")
        url = url.strip()
        with self.db:
            self.db.execute("INSERT OR IGNORE INTO feeds (url, added) VALUES (?, ?)",
                            (url, now()))
        return self.get(url)

    def get(self, key: int | str) -> Feed:
        column = "id" if isinstance(key, int) else "url"
        row = self.db.execute(f"SELECT * FROM feeds WHERE {column} = ?", (key,)).fetchone()
        if row is None:
            raise NoFeed(f"no followed feed {key!r}; see: assistant feeds list")
        return Feed(*row)

    def list(self) -> list[Feed]:
        return [Feed(*row) for row in self.db.execute("SELECT * FROM feeds ORDER BY id")]

    def remove(self, key: int | str) -> Feed:
        """Stop following a feed; the articles it brought stay in the index."""
        feed = self.get(key)
        with self.db:
            self.db.execute("DELETE FROM feed_entries WHERE feed_id = ?", (feed.id,))
            self.db.execute("DELETE FROM feeds WHERE id = ?", (feed.id,))
        return feed

    def fetched(self, feed: Feed, title: str | None, etag: str | None,
                last_modified: str | None, added: int, error: str) -> None:
        """Record a pass over `feed`: its validators are kept only from a pass that handled
        every entry (else a 304 next time would hide the ones left)."""
        with self.db:
            self.db.execute(
                "UPDATE feeds SET title = coalesce(?, title), etag = ?, last_modified = ?, "
                "last_fetch = ?, last_error = ?, articles = articles + ?, "
                "failures = CASE WHEN ? = '' THEN 0 ELSE failures + 1 END WHERE id = ?",
                (title, etag, last_modified, now(), error, added, error, feed.id))

    # -- entries and articles --------------------------------------------------------------

    def versions(self, feed_id: int) -> dict[str, str]:
        """entry key -> the version handled."""
        return dict(self.db.execute(
            "SELECT entry, version FROM feed_entries WHERE feed_id = ?", (feed_id,)))

    def handled(self, feed_id: int, entries: Sequence[tuple[str, str, str | None]]) -> None:
        """Mark (entry, version, article id or None) handled, after their articles are stored."""
        stamp = now()
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO feed_entries VALUES (?, ?, ?, ?, ?)",
                [(feed_id, entry, version, article, stamp) for entry, version, article in entries])

    def copy_of(self, text_key: str, article_id: str) -> str | None:
        """The stored article (another id) whose text is `text_key`'s: a wire copy."""
        row = self.db.execute(
            "SELECT w.article_id FROM web_articles w JOIN articles a ON a.id = w.article_id "
            "WHERE w.text_key = ? AND w.article_id != ? LIMIT 1", (text_key, article_id))
        found = row.fetchone()
        return found[0] if found else None

    def stored(self, extracted: Sequence) -> None:
        """Record where each stored `pages.Extracted` article's date came from."""
        stamp = now()
        with self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO web_articles VALUES (?, ?, ?, ?, ?)",
                [(e.article.id, e.article.url, e.text_key, e.date_source, stamp)
                 for e in extracted])

    def date_source(self, article_id: str) -> str | None:
        row = self.db.execute("SELECT date_source FROM web_articles WHERE article_id = ?",
                              (article_id,)).fetchone()
        return row[0] if row else None

    # -- watched files ---------------------------------------------------------------------

    def ingested_as(self, path: str) -> tuple[int, int] | None:
        """(size, mtime_ns) of `path` when `watch` last ingested it."""
        row = self.db.execute("SELECT size, mtime_ns FROM watched_files WHERE path = ?",
                              (path,)).fetchone()
        return tuple(row) if row else None

    def ingested_file(self, path: str, size: int, mtime_ns: int) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO watched_files VALUES (?, ?, ?, ?)",
                            (path, size, mtime_ns, now()))

    def close(self) -> None:
        self.db.close()

