"""A bounded load test of a server: N clients asking questions for S seconds.

    python -m assistant.tools.loadtest http://127.0.0.1:7860 --clients 8 --seconds 60 [--pid PID]
    python -m assistant.tools.loadtest --index DIR --clients 8 --seconds 30 [--questions FILE]

Prints requests/s, latency percentiles, the status codes seen and (with --pid) the server's
memory before and after. Only for servers on this machine: it refuses any other host. With
--index it starts the servers itself, one after the other on the same index: the first stage
alone (no reranker, no lead scorer), the shipped settings, and the shipped settings with the
cross-encoder, and prints each one's requests/s and p95 as ratios to the first stage's,
measured in the same run, so a stage's cost under load is never compared across machines or
hours.
"""
from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlparse

from .measure import rss_mb

QUESTIONS = ["Who won the chess championship?", "What happened at the tidal station?",
             "Was the rail strike called off?", "Who won the marathon?",
             "When did the river flood?", "What did the library renovation cost?"]
LOCAL = {"127.0.0.1", "localhost", "::1"}


def read_questions(path: str | None) -> list[dict]:
    """The questions to send: a JSON Lines file's `question` (and `date`, sent as as_of), or
    the demo's few."""
    if not path:
        return [{"q": q} for q in QUESTIONS]
    with open(path) as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return [{"q": r["question"], **({"as_of": r["date"]} if r.get("date") else {})}
            for r in rows]


def run(url: str, clients: int = 8, seconds: float = 60.0, pid: int | None = None,
        questions: list[dict] | None = None) -> dict:
    import httpx

    questions = questions or read_questions(None)
    if urlparse(url).hostname not in LOCAL:
        raise SystemExit(f"refusing to load-test {url}: only servers on this machine")
    statuses: Counter = Counter()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    before = rss_mb(pid) if pid else None

    def client(n: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            i = n
            while time.monotonic() < stop:
                started = time.perf_counter()
                try:
                    status = http.get("/api/ask", params={**questions[i % len(questions)],
                                                         "k": 5}).status_code
                except httpx.HTTPError as e:
                    status = None
                    with lock:
                        errors.append(type(e).__name__)
                with lock:
                    statuses[status] += 1
                    if status == 200:
                        latencies.append(time.perf_counter() - started)
                i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    ordered = sorted(latencies) or [0.0]
    return {"clients": clients, "seconds": round(elapsed, 1),
            "requests": sum(statuses.values()), "ok": statuses[200],
            "busy_503": statuses[503], "other": {str(k): v for k, v in statuses.items()
                                                 if k not in (200, 503)},
            "errors": len(errors), "requests_per_s": round(sum(statuses.values()) / elapsed, 1),
            "p50_ms": round(1000 * statistics.median(ordered), 1),
            "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 1),
            "rss_mb_before": before and round(before), "rss_mb_after": pid and round(rss_mb(pid))}


# What each compared server runs: the first stage alone, the settings as shipped, and the
# shipped settings with the (opt-in) cross-encoder.
VARIANTS = {"first stage": {"cross_encoder": False, "rerank": False, "lead_scorer": False},
            "shipped": {}, "with cross-encoder": {"cross_encoder": True}}


def serve_variant(index: str, port: int, variant: str) -> None:
    """The child process of `compare`: one server over `index` with a variant's settings."""
    from ..assistant import Assistant
    from ..serving.server import serve
    from ..storage.store import settings_for_index

    settings = settings_for_index(index).with_(**VARIANTS[variant])
    serve(Assistant(index, settings, create=False), port=port, no_token=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def compare(index: str, clients: int = 8, seconds: float = 30.0, start_s: float = 300.0,
            questions: list[dict] | None = None) -> dict:
    """Each variant's server started fresh (warm before it listens), loaded, and stopped."""
    import httpx

    out = {}
    for variant in VARIANTS:
        port = free_port()
        child = subprocess.Popen([sys.executable, "-m", "assistant.tools.loadtest", "--serve",
                                  index, "--port", str(port), "--variant", variant],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + start_s
        try:
            while True:
                if child.poll() is not None:
                    assert child.stderr is not None  # stderr=PIPE
                    raise SystemExit(f"the {variant} server stopped: "
                                     f"{child.stderr.read().decode()[-2000:]}")
                try:
                    if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"the {variant} server did not answer in {start_s:.0f} s")
                time.sleep(0.5)
            out[variant] = run(url, clients, seconds, child.pid, questions)
        finally:
            child.terminate()
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
    first = out["first stage"]
    for variant in [v for v in VARIANTS if v != "first stage"]:
        out[f"{variant} / first stage"] = {
            key: round(out[variant][key] / max(first[key], 1e-9), 3)
            for key in ("requests_per_s", "p95_ms")}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant.tools.loadtest")
    parser.add_argument("url", nargs="?", help="a running server (else --index)")
    parser.add_argument("--index", help="start the first-stage and the shipped server on it")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--pid", type=int, help="the server's process id, to report its memory")
    parser.add_argument("--questions", help="JSON Lines of {question, date} to send (date as "
                                            "as_of); default: a few demo questions")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # compare's child: an index to serve
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--variant", choices=list(VARIANTS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve_variant(args.serve, args.port, args.variant)
        return 0
    if args.index:
        print(json.dumps(compare(args.index, args.clients, args.seconds,
                                 questions=read_questions(args.questions)), indent=2))
        return 0
    if not args.url:
        parser.error("give a server's URL or --index DIR")
    print(json.dumps(run(args.url, args.clients, args.seconds, args.pid,
                         read_questions(args.questions)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
