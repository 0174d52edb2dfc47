"""A bounded load test of a running server: N clients asking questions for S seconds.

    python -m assistant.tools.loadtest http://127.0.0.1:7860 --clients 8 --seconds 60 [--pid PID]

Prints requests/s, latency percentiles, the status codes seen and (with --pid) the server's
memory before and after. Only for servers on this machine: it refuses any other host.
"""
from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

QUESTIONS = ["Who won the chess championship?", "What happened at the tidal station?",
             "Was the rail strike called off?", "Who won the marathon?",
             "When did the river flood?", "What did the library renovation cost?"]
LOCAL = {"127.0.0.1", "localhost", "::1"}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(url: str, clients: int = 8, seconds: float = 60.0, pid: int | None = None) -> dict:
    import httpx

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
                    status = http.get("/api/ask", params={"q": QUESTIONS[i % len(QUESTIONS)],
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant.tools.loadtest")
    parser.add_argument("url")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--pid", type=int, help="the server's process id, to report its memory")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.url, args.clients, args.seconds, args.pid), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
