"""Following feeds (RSS 2.0, RSS 1.0, Atom) and fetching article URLs into the index: one pass
reads each feed (conditionally), fetches the pages of its new or changed entries, and stores
their articles through the same `ingest_articles` path as files, in batches.

A pass can die anywhere (SIGKILL) and the next one loses nothing and adds nothing twice: an
entry is marked handled only after its batch is stored, a feed's validators are kept only from
a pass that handled all of its entries, and an article fetched again has the same id (its
canonical URL) and so is found unchanged.
"""
from __future__ import annotations

import hashlib
import io
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..config import Settings
from ..errors import AssistantError
from ..reading.words import plain
from .feedstore import Feed, FeedStore
from .fetching import Fetched, Fetcher, FetchFailed
from .pages import Extracted, Hint, extract

BATCH = 20  # pages a batch: a killed pass refetches at most this many
SKIP_REASONS = ("not modified", "robots", "too large", "not an article", "duplicate",
                "private address")


@dataclass(frozen=True)
class Entry:
    """One feed entry: `key` names it across passes, `version` changes when it does."""

    key: str
    version: str
    link: str
    hint: Hint


@dataclass
class PassReport:
    """What one pass did: responses fetched, articles added / updated / unchanged, URLs
    skipped with a reason (SKIP_REASONS) and URLs that failed, with why."""

    fetched: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (reason, url)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (url, detail)

    def summary(self) -> str:
        """Example: 'fetched 4, added 2, updated 0, unchanged 1, skipped 1 (robots 1),
        failed 0'."""
        reasons = Counter(reason for reason, _ in self.skipped)
        why = ", ".join(f"{reason} {n}" for reason, n in sorted(reasons.items()))
        return (f"fetched {self.fetched}, added {self.added}, updated {self.updated}, "
                f"unchanged {self.unchanged}, skipped {len(self.skipped)}"
                f"{f' ({why})' if why else ''}, failed {len(self.failed)}")

    def to_dict(self) -> dict:
        return {"fetched": self.fetched, "added": self.added, "updated": self.updated,
                "unchanged": self.unchanged,
                "skipped": [{"reason": r, "url": u} for r, u in self.skipped],
                "failed": [{"url": u, "error": d} for u, d in self.failed]}


def read_feed(fetched: Fetched) -> tuple[str, list[Entry]]:
    """(feed title, entries) of an RSS or Atom document; FetchFailed where it is none."""
    import feedparser

    charset = f"; charset={fetched.charset}" if fetched.charset else ""
    # A byte stream, never a string: feedparser fetches a string that looks like a URL.
    parsed = feedparser.parse(io.BytesIO(fetched.body), response_headers={
        "content-type": fetched.content_type + charset, "content-location": fetched.url})
    title = plain(parsed.feed.get("title", ""))
    entries = []
    for item in parsed.entries:
        link = item.get("link") or ""
        if not link.startswith(("http://", "https://")):
            continue
        # dict.get: feedparser's own get maps a missing 'updated' to 'published', warning.
        day = dict.get(item, "published_parsed") or dict.get(item, "updated_parsed")
        hint = Hint(title=item.get("title", ""), summary=item.get("summary", ""), source=title,
                    date=time.strftime("%Y-%m-%d", day) if day else "")
        stamp = "\x1f".join((dict.get(item, "updated") or item.get("published", ""), hint.title,
                             link, hint.summary))
        entries.append(Entry(item.get("id") or link, hashlib.sha256(stamp.encode()).hexdigest()[:16],
                             link, hint))
    if not entries and (parsed.bozo or not parsed.version):  # broken, or no feed at all
        why = getattr(parsed, "bozo_exception", None) or "no RSS or Atom entries"
        raise FetchFailed(fetched.url, "failed", f"not a readable feed ({str(why)[:120]})")
    return title, entries


class Follower:
    """Passes over followed feeds, and fetches of article URLs, for one index. `ingest`
    stores a list of Articles and returns an IngestReport: `Assistant.ingest_articles`, or the
    server's `Shared.ingest_articles` (one writer at a time)."""

    def __init__(self, folder, ingest: Callable, settings: Settings | None = None,
                 allow_private: bool | None = None, log: Callable[[str], None] | None = None):
        self.settings = settings or Settings()
        self.fetcher = Fetcher(self.settings, allow_private)
        self.feeds = FeedStore(folder)
        self.ingest = ingest
        self.log = log or (lambda line: None)

    def follow(self, urls: Iterable[str] = (), stop: Callable[[], bool] = lambda: False
               ) -> PassReport:
        """One pass over `urls` (followed from now on) or, with none, every followed feed;
        `stop()` is asked between batches."""
        feeds = [self.feeds.add(url) for url in urls] or self.feeds.list()
        report = PassReport()
        for feed in feeds:
            if stop():
                break
            self._feed(feed, report, stop)
        return report

    def fetch_articles(self, urls: Iterable[str]) -> PassReport:
        """Fetch and store article URLs (`assistant ingest URL...`)."""
        report, urls = PassReport(), list(urls)
        for start in range(0, len(urls), BATCH):
            pages = [self._page(url, Hint(), report) for url in urls[start:start + BATCH]]
            self._store([p for p in pages if isinstance(p, Extracted)], report)
        return report

    def _feed(self, feed: Feed, report: PassReport, stop) -> None:
        failed_before = len(report.failed)
        try:
            fetched = self.fetcher.get(feed.url, feed.etag, feed.last_modified)
            if fetched.not_modified:
                report.skipped.append(("not modified", feed.url))
                self.feeds.fetched(feed, None, feed.etag, feed.last_modified, 0, "")
                return
            report.fetched += 1
            title, entries = read_feed(fetched)
        except FetchFailed as e:
            report.failed.append((feed.url, e.detail))
            self.feeds.fetched(feed, None, feed.etag, feed.last_modified, 0, e.detail)
            return
        seen = self.feeds.versions(feed.id)
        todo = [e for e in entries if seen.get(e.key) != e.version]
        self.log(f"{feed.url}: {len(entries)} entries, {len(todo)} new or changed")
        added, complete = report.added, True
        for start in range(0, len(todo), BATCH):
            if stop():
                complete = False
                break
            complete &= self._batch(feed, todo[start:start + BATCH], report)
        errors = [detail for _, detail in report.failed[failed_before:]]
        self.feeds.fetched(feed, title, *((fetched.etag, fetched.last_modified) if complete
                                          else (feed.etag, feed.last_modified)),
                           report.added - added, errors[0] if errors else "")

    def _batch(self, feed: Feed, entries: list[Entry], report: PassReport) -> bool:
        """Fetch, extract and store one batch; mark its entries handled except those that
        failed for a reason that may pass (those come back next pass). True if none did."""
        pages = [self._page(entry.link, entry.hint, report) for entry in entries]
        self._store([p for p in pages if isinstance(p, Extracted)], report)
        self.feeds.handled(feed.id, [
            (entry.key, entry.version, page.article.id if isinstance(page, Extracted) else None)
            for entry, page in zip(entries, pages) if page is not None])
        return all(page is not None for page in pages)

    def _page(self, url: str, hint: Hint, report: PassReport) -> Extracted | str | None:
        """The article at `url`; else the reason it is skipped for good (a str), or None
        where it failed for now (HTTP error, timeout)."""
        try:
            fetched = self.fetcher.get(url)
            report.fetched += 1
            return extract(fetched, hint, self.settings)
        except FetchFailed as e:
            if e.reason == "failed":
                report.failed.append((url, e.detail))
                return None
            report.skipped.append((e.reason, url))
            return e.reason

    def _store(self, pages: list[Extracted], report: PassReport) -> None:
        """Store a batch, each story once: a second URL with the same canonical id, or a
        text already stored under another id (a wire copy), is a duplicate."""
        unique: dict[str, Extracted] = {}
        texts: dict[str, str] = {}
        for page in pages:
            first = texts.get(page.text_key) or self.feeds.copy_of(page.text_key,
                                                                   page.article.id)
            if page.article.id in unique or (first and first != page.article.id):
                report.skipped.append(("duplicate", page.article.url))
                continue
            unique[page.article.id] = page
            texts[page.text_key] = page.article.id
        if not unique:
            return
        stored = self.ingest([page.article for page in unique.values()])
        report.added += stored.added
        report.updated += stored.updated
        report.unchanged += stored.unchanged
        report.skipped += [("not an article", problem.path) for problem in stored.skipped]
        self.feeds.stored(list(unique.values()))

    def close(self) -> None:
        self.feeds.close()


def keep_following(follower: Follower, urls: Iterable[str], every_s: float | None,
                   stopped, log: Callable[[str], None]) -> PassReport:
    """Passes every `every_s` seconds (once if None) until the `stopped` event is set; a pass
    under way stops at its next batch. Returns the last pass's report."""
    urls, report = list(urls), PassReport()
    while not stopped.is_set():
        started = time.monotonic()
        try:
            report = follower.follow(urls, stop=stopped.is_set)
        except AssistantError as e:  # the index busy, a disk full: the next pass may do
            report = PassReport(failed=[("(pass)", str(e))])
        log(f"{time.strftime('%H:%M:%S')} {report.summary()}")
        for url, detail in report.failed:
            log(f"  failed {url}: {detail}")
        if every_s is None:
            break
        stopped.wait(max(0.0, every_s - (time.monotonic() - started)))
    return report
