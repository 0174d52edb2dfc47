"""Question latency while a hostile upload is ingested, the way `assistant serve` runs both.

In process (default), as the server shares one assistant: questions go to a read handle in
one thread while the write handle ingests one hostile file in another (`server.Shared`).
With --http, through a real `assistant serve`: the file is uploaded (POST /api/articles) while
GET /api/ask questions run. Prints one JSON line per file: how long the writer was held and
the question latencies (p50, p95, max) meanwhile.

    python scripts/hostile_questions.py [--http] [--budget 60] [--repeat-for 0]
                                        [--kinds blank,nul-bomb,...]

A writer still busy after `--budget` seconds is reported as such ("gave up") and the
process exits: the old code needs minutes for some of these files.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

QUESTIONS = [("Who won the Northern Open chess championship?", "2025-12-31"),
             ("What happened to the tidal power station?", "2025-06-01"),
             ("Coastline Rail strike", "2025-11-30"), ("river flood", None)]
LINE = json.dumps({"title": "Same story", "date": "2024-01-01", "text": "The same words."})


def write_gzip(path: Path, piece: bytes, compressed_size: int) -> Path:
    """A gzip of `piece` repeated until the file is about `compressed_size` bytes."""
    with gzip.open(path, "wb", compresslevel=9) as f:
        while path.stat().st_size < compressed_size:
            for _ in range(1000):
                f.write(piece)
            f.flush()
    return path


def long_text() -> str:
    """About 2 MB of distinct paragraphs: the article that made 2,075 passages."""
    return "\n\n".join(f"Paragraph {i} says something new about the harbour {i}."
                       for i in range(40_000))


def long_jsonl(path: Path) -> Path:
    article = {"id": "big", "title": "A very long article", "date": "2024-01-01",
               "text": long_text()}
    path.write_text(json.dumps(article) + "\n")
    return path


def long_txt(path: Path) -> Path:
    path.write_text(f" date 2024-01-01 A very long article\n\n{long_text()}")
    return path


HOSTILE = {  # kind -> how to make it in a folder
    "blank": lambda d: write_gzip(d / "blank.jsonl.gz", b"\n" * 1000, 100_000),
    "nul-bomb": lambda d: write_gzip(d / "nul.jsonl.gz", b"\0" * 100_000, 1_000_000),
    "newline-bomb": lambda d: write_gzip(d / "newlines.jsonl.gz", b"\n" * 100_000, 1_000_000),
    "repeated": lambda d: write_gzip(d / "repeated.jsonl.gz", (LINE + "\n").encode() * 10,
                                     1_000_000),
    "big-jsonl": lambda d: long_jsonl(d / "big.jsonl"),
    "big-txt": lambda d: long_txt(d / "big.txt"),
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def measure(shared, path: Path, budget: float, repeat_for: float = 0) -> dict:
    """Questions while `path` is ingested; again and again for `repeat_for` seconds when set
    (a sustained attack: one upload of it may take well under a second)."""
    done, latencies, out, holds = threading.Event(), [], {}, []

    def write():
        started = time.perf_counter()
        while True:
            began = time.perf_counter()
            report = shared.ingest([path])
            holds.append(time.perf_counter() - began)
            if time.perf_counter() - started >= repeat_for:
                break
        out["writer_s"] = round(max(holds), 2)
        out["uploads"] = len(holds)
        out["report"] = report.summary()
        out["first_problem"] = str(report.skipped[0])[-160:] if report.skipped else ""
        done.set()

    threading.Thread(target=write, daemon=True).start()
    started, i = time.perf_counter(), 0
    while not done.is_set() and time.perf_counter() - started < budget:
        q, as_of = QUESTIONS[i % len(QUESTIONS)]
        t = time.perf_counter()
        shared.ask(q, k=5, as_of=as_of)
        latencies.append(time.perf_counter() - t)
        i += 1
    if not done.is_set():
        out["writer_s"] = f"gave up after {budget:.0f}s, still reading"
    out.update(questions=len(latencies), p50_ms=round(1000 * percentile(latencies, 0.5)),
               p95_ms=round(1000 * percentile(latencies, 0.95)),
               max_ms=round(1000 * max(latencies, default=0)))
    return out


TOKEN = "hostile-measure-token"


def serve(index: Path, port: int) -> subprocess.Popen:
    """`assistant serve` of the code on sys.path (PYTHONPATH picks old or new), once healthy."""
    import assistant  # run from where this process imports it (`-m` puts the cwd first)

    server = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--index", str(index),
                               "--port", str(port), "--token", TOKEN],
                              cwd=Path(assistant.__file__).parent.parent,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(240):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5)
            return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("the server did not start")


def upload(port: int, path: Path) -> dict:
    boundary = "hostile-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
            f"filename=\"{path.name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/articles", data=body, method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                 "Authorization": f"Bearer {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:  # 422: nothing could be read, the report inside
        answer = json.load(e)
        return {"status": e.code, **answer.get("report", answer)}


class Http:
    """What `measure` needs of an assistant, over HTTP."""

    def __init__(self, port: int):
        self.port = port

    def ingest(self, paths):
        report = upload(self.port, paths[0])
        return type("Report", (), {"summary": lambda _: {k: v for k, v in report.items()
                                                         if k != "skipped"},
                                   "skipped": report.get("skipped", [])})()

    def ask(self, q, k, as_of):
        query = urllib.parse.urlencode({"q": q, "k": k, **({"as_of": as_of} if as_of else {})})
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/ask?{query}",
                                    timeout=600) as response:
            return json.load(response)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=60)
    parser.add_argument("--kinds", default="")
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--port", type=int, default=7871)
    parser.add_argument("--repeat-for", type=float, default=0,
                        help="upload the file again and again for this many seconds")
    args = parser.parse_args()
    from assistant import Assistant
    from assistant.serving.server import Shared

    demo = Path(__file__).resolve().parent.parent / "demo"
    folder = Path(tempfile.mkdtemp(prefix="hostile-"))
    server = None
    try:
        for kind in args.kinds.split(",") if args.kinds else list(HOSTILE):
            path = HOSTILE[kind](folder)
            index = folder / f"index-{kind}"
            Assistant(index).ingest([demo])
            if args.http:
                server = serve(index, args.port)
                shared = Http(args.port)
            else:
                shared = Shared(Assistant(index))
            for q, as_of in QUESTIONS:  # warm: the model and the caches, as a running server
                shared.ask(q, k=5, as_of=as_of)
            row = {"kind": kind, "via": "http" if args.http else "in process",
                   "file_bytes": path.stat().st_size}
            row.update(measure(shared, path, args.budget, args.repeat_for))
            print(json.dumps(row), flush=True)
            if server is not None:
                server.kill()
                server.wait()
                server = None
            if isinstance(row["writer_s"], str):  # a thread we cannot stop: leave at once
                shutil.rmtree(folder, ignore_errors=True)
                os._exit(0)
    finally:
        if server is not None:
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
