"""Measure `assistant follow` against a local news site that this script serves on 127.0.0.1.

Two figures for the README, both with the real model:
  throughput: a feed of N articles, one `assistant follow` pass into a new index, timed
      (python scripts/live_news_run.py throughput --articles 300 --delay 0)
  memory: `assistant follow --every 1m` for MINUTES against a feed that grows by PER_MINUTE
      articles a minute; the follower's resident memory sampled every minute into a CSV
      (python scripts/live_news_run.py memory --minutes 60 --out live-memory.csv)
"""
from __future__ import annotations

import argparse
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

WORDS = ("harbour council ferry storm mayor vote budget school hospital river bridge road rail "
         "strike union wage price market bank rate inflation election party minister court "
         "judge police fire flood drought farm harvest wheat fish port ship cargo airport "
         "flight museum festival theatre music team match goal season coach player league "
         "record crowd weather winter summer energy power wind solar grid fuel tax housing rent "
         "tenant landlord plan permit library park street traffic bus tram cycle lane repair "
         "contract company profit loss jobs factory export import tariff deal talks treaty "
         "border visa student exam teacher nurse doctor patient vaccine research science data "
         "report survey study warning alert rescue crew island village town city region").split()


class NewsSite:
    """A site whose feed lists its newest `window` articles; `count()` says how many exist."""

    def __init__(self, count, window: int = 100):
        self.count, self.window = count, window
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/feed.xml":
                    body, kind = site.feed(), "application/rss+xml"
                elif self.path.startswith("/a/") and self.path[3:].isdigit():
                    body, kind = site.page(int(self.path[3:])), "text/html; charset=utf-8"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def feed(self) -> bytes:
        n = self.count()
        items = "".join(
            f"<item><title>{self.title(i)}</title><link>{self.url}/a/{i}</link>"
            f"<guid>{self.url}/a/{i}</guid><pubDate>{formatdate(1.7e9 + i * 600)}</pubDate></item>"
            for i in range(max(0, n - self.window), n))
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>Local Gazette</title><link>{self.url}/</link><description>news"
                f"</description>{items}</channel></rss>").encode()

    def title(self, i: int) -> str:
        words = random.Random(i).sample(WORDS, 5)
        return f"Story {i}: {' '.join(words).capitalize()}"

    def page(self, i: int) -> bytes:
        rng = random.Random(i)
        paragraphs = "".join(
            "<p>" + " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 90))).capitalize()
            + ".</p>" for _ in range(rng.randint(3, 7)))
        return (f"<html><head><title>{self.title(i)}</title><meta property='article:published_"
                f"time' content='2024-03-{1 + i % 28:02d}T09:00:00Z'></head><body><nav>Home</nav>"
                f"<article><h1>{self.title(i)}</h1>{paragraphs}</article>"
                f"<footer>Local Gazette</footer></body></html>").encode()


def follow(index: Path, url: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "assistant", "follow", url, "--index",
                             str(index), "--allow-private", *extra])


def articles(index: Path) -> int:
    try:
        with sqlite3.connect(f"file:{index / 'assistant.sqlite'}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.Error:
        return 0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def throughput(args) -> None:
    site = NewsSite(lambda: args.articles, window=args.articles)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        follow(Path(tmp) / "index", site.url + "/feed.xml", "--delay", str(args.delay)).wait()
        seconds = time.monotonic() - started
        n = articles(Path(tmp) / "index")
    print(f"{n} articles fetched and ingested in {seconds:.1f}s (model load included): "
          f"{60 * n / seconds:.0f} a minute, fetch delay {args.delay}s")


def memory(args) -> None:
    started = time.monotonic()
    site = NewsSite(lambda: 20 + args.per_minute * int((time.monotonic() - started) // 60))
    index = Path(args.index or tempfile.mkdtemp()) / "index"
    child = follow(index, site.url + "/feed.xml", "--every", "1m")
    with open(args.out, "w") as out:
        out.write("minute,rss_mb,articles\n")
        for minute in range(args.minutes + 1):
            time.sleep(max(0.0, started + 60 * minute + 30 - time.monotonic()))
            if child.poll() is not None:
                raise SystemExit(f"the follower exited with {child.returncode}")
            out.write(f"{minute},{rss_mb(child.pid):.1f},{articles(index)}\n")
            out.flush()
    child.send_signal(signal.SIGTERM)
    print(f"follower exited with {child.wait(timeout=120)}; samples in {args.out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("throughput")
    p.add_argument("--articles", type=int, default=300)
    p.add_argument("--delay", type=float, default=0.0)
    p = sub.add_parser("memory")
    p.add_argument("--minutes", type=int, default=60)
    p.add_argument("--per-minute", type=int, default=5)
    p.add_argument("--out", default="live-memory.csv")
    p.add_argument("--index", help="a folder for the index (default: a new temporary one)")
    args = parser.parse_args()
    (throughput if args.mode == "throughput" else memory)(args)


if __name__ == "__main__":
    main()
