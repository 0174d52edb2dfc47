"""`assistant watch DIR`: files dropped into a folder (native .txt, .jsonl, .jsonl.gz) are
ingested once each, when complete.

A file is complete once its size and modification time have held still for `settle_s`: a
copy over a slow link, or a program appending articles, is never read half-written (a half
line would be a malformed article, a half .gz unreadable). What was ingested is recorded in
the index's database (feedstore.py) by size and mtime, so a restart does not read it again.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..reading.folders import JSONL_SUFFIXES, TEXT_SUFFIXES
from .feedstore import FeedStore


def wanted(path: Path) -> bool:
    """Example: 'a.jsonl.gz' -> True; '.a.jsonl' (hidden), 'a.jsonl.part' -> False."""
    return (not path.name.startswith(".")
            and path.name.lower().endswith(TEXT_SUFFIXES + JSONL_SUFFIXES))


class Settler:
    """Files seen changing, and which of them have held still for `settle_s` (thread-safe:
    the watcher's thread reports, the main thread asks)."""

    def __init__(self, settle_s: float, clock: Callable[[], float] = time.monotonic):
        self.settle_s, self.clock = settle_s, clock
        self._pending: dict[Path, tuple[tuple[int, int] | None, float]] = {}
        self._lock = threading.Lock()

    def saw(self, path: Path) -> None:
        if wanted(path):
            with self._lock:
                self._pending.setdefault(path, (None, self.clock()))

    def ready(self) -> list[tuple[Path, int, int]]:
        """(path, size, mtime_ns) of each pending file unchanged for `settle_s`; a file that
        changed starts its wait again, one that is gone is forgotten."""
        out, now = [], self.clock()
        with self._lock:
            for path, (last, since) in list(self._pending.items()):
                try:
                    stat = path.stat()
                except OSError:
                    del self._pending[path]
                    continue
                state = (stat.st_size, stat.st_mtime_ns)
                if state != last:
                    self._pending[path] = (state, now)
                elif now - since >= self.settle_s and stat.st_size > 0:
                    del self._pending[path]
                    out.append((path, *state))
        return out


def watch(assistant, folder: str | Path, stopped: threading.Event, settle_s: float = 2.0,
          log: Callable[[str], None] = print, tick_s: float = 0.25) -> None:
    """Ingest what arrives in `folder` (and what is there already) until `stopped` is set."""
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    settler, feeds = Settler(settle_s), FeedStore(assistant.folder)

    class Seen(FileSystemEventHandler):
        def on_any_event(self, event):
            if not event.is_directory:
                settler.saw(Path(os.fsdecode(getattr(event, "dest_path", "") or event.src_path)))

    observer = Observer()
    observer.schedule(Seen(), str(folder), recursive=True)
    observer.start()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            settler.saw(path)
    log(f"watching {folder} (a file is read once it has not grown for {settle_s:g}s)")
    try:
        while not stopped.wait(tick_s):
            for path, size, mtime_ns in settler.ready():
                if feeds.ingested_as(str(path.resolve())) == (size, mtime_ns):
                    continue
                report = assistant.ingest([path])
                for problem in report.skipped:
                    log(f"  skipped {problem}")
                feeds.ingested_file(str(path.resolve()), size, mtime_ns)
                log(f"{path.name}: {report.summary()}")
    finally:
        observer.stop()
        observer.join(timeout=5)
        feeds.close()
