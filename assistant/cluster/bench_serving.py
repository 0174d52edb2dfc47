"""The benchmark's serving figures: HTTP requests/s through Ray Serve at each replica count
and number of clients (a bounded load from tools/loadtest.py, on this machine only), and how
long a collection takes to answer again after a shard actor is killed and Ray restarts it.
"""
from __future__ import annotations

import socket
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_rates(root, address: str, settings, replicas=(1, 2), clients=(1, 4),
               seconds: float = 10.0, embedder=None, port: int | None = None) -> list[dict]:
    """Requests/s and latency for each replica count and number of clients. Each replica
    embeds its questions itself (embedder: with what; by default it loads the settings'
    model, as `assistant serve --ray` does). port: Serve's, where Serve is up already."""
    import httpx
    from ray import serve

    from ..access import Access
    from ..tools.loadtest import run as load
    from . import serving

    port, rows = port or free_port(), []
    try:
        for count in replicas:
            url = serving.run(root, address, count, port=port, access=Access(None),
                              settings=settings, embedder=embedder)
            for _ in range(3):  # warm each replica's model and the shards' pages
                httpx.get(url + "api/ask", params={"q": "warm up", "k": 5}, timeout=120)
            for n in clients:
                got = load(url, n, seconds)
                rows.append({"replicas": count, **got})
                print(f"HTTP {count} replica(s), {n} client(s): {got['requests_per_s']} "
                      f"requests/s, p50 / p95 {got['p50_ms']} / {got['p95_ms']} ms, "
                      f"{got['ok']} of {got['requests']} answered", flush=True)
    finally:
        serve.shutdown()
    return rows


def recovery_s(assistant, question: str, as_of: str | None, shard: int = 0,
               limit_s: float = 120.0) -> float:
    """Seconds from killing shard `shard`'s actor (Ray restarts it: no_restart=False) to the
    first question answered again by the new process; until then questions get 503."""
    import ray

    from ..errors import ShardUnavailable

    shards = assistant.collection.shards
    before = ray.get(shards.actors[shard].ping.remote())
    started = time.perf_counter()
    ray.kill(shards.actors[shard], no_restart=False)
    while time.perf_counter() - started < limit_s:
        try:
            assistant.ask(question, k=5, as_of=as_of)
            if shards.call("ping", lambda i: (), only=shard)[0] != before:
                return time.perf_counter() - started
        except ShardUnavailable:
            pass
        time.sleep(0.02)
    raise TimeoutError(f"shard {shard} did not answer again within {limit_s:.0f} s")
