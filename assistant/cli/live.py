"""The live-news commands of the command line: `follow`, `feeds list|add|remove`, `watch`,
and the article URLs `ingest` accepts beside files. main.py adds them with one call each."""
from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import threading
from typing import Any

from ..errors import BadQuery

EVERY = re.compile(r"(\d+(?:\.\d+)?)\s*([smh]?)")


def add_live_commands(sub, common: argparse.ArgumentParser) -> None:
    """The live-news subcommands, on `cli.build_parser`'s subparsers."""
    fetch = argparse.ArgumentParser(add_help=False)
    fetch.add_argument("--allow-private", action="store_true", default=None,
                       help="fetch private, loopback and link-local addresses too")
    fetch.add_argument("--delay", type=float, default=None, metavar="SECONDS",
                       help="between two requests to one host (default: 1)")

    p = sub.add_parser("follow", parents=[common, fetch],
                       help="fetch new articles from feeds (RSS, Atom), once or --every")
    p.add_argument("feeds", nargs="*", metavar="FEED_URL",
                   help="followed from now on; none: every followed feed")
    p.add_argument("--every", type=every_seconds, metavar="INTERVAL",
                   help="keep following, a pass every INTERVAL (30s, 15m, 1h) until Ctrl-C")

    p = sub.add_parser("feeds", parents=[common], help="the followed feeds: list, add, remove")
    p.add_argument("action", choices=["list", "add", "remove"])
    p.add_argument("targets", nargs="*", metavar="URL_OR_ID")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("watch", parents=[common],
                       help="ingest files (.txt, .jsonl, .jsonl.gz) dropped into a folder")
    p.add_argument("folder")
    p.add_argument("--settle", type=float, default=2.0, metavar="SECONDS",
                   help="a file is complete once it has not grown for this long")


def add_ingest_options(parser: argparse.ArgumentParser) -> None:
    """`ingest URL` fetches as `follow` does, with the same options."""
    parser.add_argument("--allow-private", action="store_true", default=None,
                        help="URLs: fetch private, loopback and link-local addresses too")
    parser.add_argument("--delay", type=float, default=None, metavar="SECONDS",
                        help="URLs: between two requests to one host (default: 1)")


def add_serve_options(parser: argparse.ArgumentParser) -> None:
    """`serve --follow`: the stored feeds, kept fresh in the background."""
    parser.add_argument("--follow", type=every_seconds, nargs="?", const=900.0, default=None,
                        metavar="INTERVAL", help="follow the stored feeds in the background, "
                        "a pass every INTERVAL (default 15m)")
    parser.add_argument("--allow-private", action="store_true", default=None,
                        help="--follow: fetch private, loopback and link-local addresses too")


def every_seconds(text: str) -> float:
    """Example: '15m' -> 900.0; '30s' -> 30.0; '1h' -> 3600.0; '90' -> 90.0."""
    match = EVERY.fullmatch(text.strip().lower())
    if not match or float(match[1]) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an interval like 30s, 15m or 1h")
    return float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match[2]]


def open_index(args, create: bool = False, settings=None):
    """What `--index` names, as every command opens it (`assistant.connect`): one index, or
    a sharded collection through its shards (in this process, or Ray's with --ray). Only
    commands that add articles (ingest, follow FEED_URL, watch, serve) create an index
    (create=True); the rest, given a folder without one, say so and make nothing. settings:
    what a new index is built with (`ingest --max-tokens`). (Here, not in main.py, which
    imports this module.)"""
    from .. import connect

    return connect(index_folder(args), args.ray, create=create, settings=settings,
                   **({"pin": True} if args.pin_shards else {}))


def index_folder(args):
    from ..config import default_index_dir

    return args.index if args.index is not None else default_index_dir()


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def follower_for(assistant, args, log=None):
    from ..live.feeds import Follower

    assistant.feeds.close()  # where they live exists (a collection's root database)
    settings = assistant.settings
    if args.delay is not None:
        settings = settings.with_(fetch_delay_s=args.delay)
    return Follower(assistant.folder, assistant.ingest_articles, settings, args.allow_private,
                    log or (lambda line: print(line, file=sys.stderr, flush=True)))


def ingest_urls(assistant, urls: list[str], args) -> int:
    """Fetch and store article URLs; prints what happened, returns the exit status."""
    if not urls:
        return 0
    report = follower_for(assistant, args).fetch_articles(urls)
    print_report(report)
    return 1 if not (report.added + report.updated + report.unchanged) else 0


def print_report(report) -> None:
    for reason, url in report.skipped:
        print(f"skipped ({reason}) {url}", file=sys.stderr)
    for url, detail in report.failed:
        print(f"failed {url}: {detail}", file=sys.stderr)
    print(report.summary(), flush=True)


def cmd_follow(args) -> int:
    from ..live.feeds import keep_following

    assistant = open_index(args, create=bool(args.feeds))  # new feeds: it will add articles
    follower = follower_for(assistant, args)
    if not args.feeds and not follower.feeds.list():
        raise BadQuery("no feeds are followed: assistant follow FEED_URL (or: assistant feeds "
                       "add FEED_URL)")
    stopped = threading.Event()
    with stop_signals(stopped):
        report = keep_following(follower, args.feeds, args.every, stopped,
                                lambda line: print(line, flush=True))
    if stopped.is_set():
        print("stopped between batches; every batch stored is kept", file=sys.stderr)
    follower.close()
    return 1 if report.failed and not (report.fetched or report.skipped) else 0


class stop_signals:
    """Ctrl-C and SIGTERM set `stopped` (the pass stops at its next batch) instead of killing
    the process mid-write; a second Ctrl-C interrupts at once."""

    def __init__(self, stopped: threading.Event):
        self.stopped = stopped
        self.old: dict[int, Any] = {}  # signal -> the handler it had

    def __enter__(self):
        def stop(signum, frame):
            if self.stopped.is_set() and signum == signal.SIGINT:
                raise KeyboardInterrupt
            print("stopping after this batch (Ctrl-C again to interrupt now)", file=sys.stderr)
            self.stopped.set()

        for signum in (signal.SIGINT, signal.SIGTERM):
            self.old[signum] = signal.signal(signum, stop)
        return self

    def __exit__(self, *exc):
        for signum, handler in self.old.items():
            signal.signal(signum, handler)


def cmd_feeds(args) -> int:
    """The feeds of the index or collection `--index` names (Assistant.feeds); a folder
    without one is an error: `follow FEED_URL` or `ingest` make the index."""
    feeds = open_index(args).feeds
    if args.action == "add":
        for url in args.targets:
            print(f"following {feeds.add(url).url}")
        return 0
    if args.action == "remove":
        for target in args.targets:
            feed = feeds.remove(int(target) if target.isdigit() else target)
            print(f"no longer following {feed.url} (its {feed.articles} articles stay)")
        return 0
    rows = feeds.list()
    if args.json:
        print(json.dumps([feed.to_dict() for feed in rows], indent=2))
    for feed in [] if args.json else rows:
        print(f"{feed.id:>4}  {feed.url}\n      {feed.title or '(not fetched yet)'}; last "
              f"fetch {feed.last_fetch or 'never'}; {feed.articles} articles"
              + (f"; last error: {feed.last_error}" if feed.last_error else ""))
    return 0


def cmd_watch(args) -> int:
    from ..live.watching import watch

    stopped = threading.Event()
    with stop_signals(stopped):
        watch(open_index(args, create=True), args.folder, stopped, settle_s=args.settle,
              log=lambda line: print(line, flush=True))
    return 0


LIVE_COMMANDS = {"follow": cmd_follow, "feeds": cmd_feeds, "watch": cmd_watch}
