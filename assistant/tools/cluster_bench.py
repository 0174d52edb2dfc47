"""`assistant bench --ray ADDRESS --shards 1,2,4 [SET_DIR]`: one index against collections of
S shards on Ray, built from the same articles: shard sizes, start time and memory, latency
(single and sharded asked in turn, question by question) and the share of identical answers;
on the most shards, the time to answer again after a shard actor is killed, and HTTP
requests/s through Ray Serve by replicas and clients (a bounded load from tools/loadtest.py).

Collections are split from the single index (cluster/split.py: the same ids and vectors, no
second embedding). The question embedding is cached, so single and sharded pay the same for
it and the figures compare what differs: one index against a fan-out to shard actors. The
cross-encoder is off (it costs both the same ~80 ms on 2 cores and would hide the difference).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..config import Settings
from .measure import percentiles, timed

DEFAULT_SET = Path(__file__).resolve().parents[3] / "shared" / "eval" / "rtqa-2023-spring"


def compare_ingest(corpus: Path, articles: int, shards: int, settings, work: Path) -> None:
    """Passages/s of the first `articles` into a fresh collection: serial, then with Ray
    Data's pool (its model loads included), on the same machine."""
    import gzip

    from ..cluster import catalog as catalogs, connect

    part = work / "part.jsonl"
    with gzip.open(corpus, "rt") as source:
        part.write_text("".join(line for _, line in zip(range(articles), source)))
    for name, ray in (("serial", None), ("Ray Data", "auto")):
        root = work / f"ingest-{name.split()[0].lower()}"
        shutil.rmtree(root, ignore_errors=True)
        catalogs.create(root, shards, settings)
        a = connect(root, ray=ray, settings=settings)
        report = a.ingest([part])
        print(f"ingest {name}: {report.passages / report.seconds:.1f} passages/s "
              f"({report.passages} passages, {report.seconds:.1f} s)")
        if ray:
            a.collection.shards.stop()
        a.close()


class Cached:
    """An embedder that computes each text once: a question costs single and sharded the
    same."""

    def __init__(self, embedder):
        self.embedder, self.seen = embedder, {}

    def embed(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self.seen]
        if todo:
            self.seen.update(zip(todo, self.embedder.embed(todo)))
        return np.stack([self.seen[t] for t in texts]).astype(np.float32)


def ray_memory_mb() -> dict[str, float]:
    """PSS (MB) of this machine's Ray processes, by kind: Ray's own, shard actors, others."""
    import psutil

    out = {"ray": 0.0, "shards": 0.0}
    for p in psutil.process_iter(["name", "cmdline"]):
        line = " ".join(p.info["cmdline"] or [])
        if "ray" not in line or p.pid == os.getpid():
            continue
        try:
            pss = p.memory_full_info().pss / 2 ** 20
        except (psutil.Error, AttributeError):
            continue
        out["shards" if "Shard" in (p.info["name"] or "") + line else "ray"] += pss
    return {k: round(v) for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="assistant bench --ray", description=__doc__)
    parser.add_argument("set_dir", nargs="?", type=Path, default=DEFAULT_SET,
                        help="corpus.jsonl.gz and questions.jsonl (RealTime-QA layout)")
    parser.add_argument("--ray", default="local", help="Ray address ('local': start it here)")
    parser.add_argument("--shards", default="1,2,4")
    parser.add_argument("--work", type=Path, default=None, help="where to build (a temp dir)")
    parser.add_argument("--ingest", type=int, default=0, metavar="N",
                        help="also time ingesting the first N articles, serial and with Ray Data")
    parser.add_argument("--http", type=float, default=10.0, metavar="SECONDS",
                        help="each HTTP load through Ray Serve (1 and 4 clients, 1 and 2 "
                             "replicas, on the most shards); 0: none")
    parser.add_argument("--kills", type=int, default=3,
                        help="times a shard actor is killed to time its recovery; 0: none")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="cluster-bench-"))
    try:
        run(args.set_dir, args.ray, [int(s) for s in args.shards.split(",")], work, args.ingest,
            args.http, args.kills)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def run(set_dir: Path, address: str, shard_counts: list[int], work: Path, ingest: int = 0,
        http_s: float = 0.0, kills: int = 0) -> None:
    from ..assistant import Assistant
    from ..cluster import catalog as catalogs, connect
    from ..cluster.ray_shards import init
    from ..cluster.split import split
    from ..embedding.embedder import load_embedder

    settings = Settings(cross_encoder=False)
    embedder = Cached(load_embedder(settings.model, settings.embed_batch,
                                    settings.embed_backend))
    corpus = set_dir / "corpus.jsonl.gz"
    questions = [json.loads(line) for line in (set_dir / "questions.jsonl").open()]
    single = Assistant(work / "single", settings, embedder=embedder)
    if not single.stats()["articles"]:  # kept from an earlier run with the same --work
        print(f"single index: {single.ingest([corpus]).summary()}")
    with timed() as up:
        started = init(address)
    print(f"Ray up: {up.s:.1f} s")
    print(f"memory, Ray alone: {ray_memory_mb()} MB PSS")
    for shards in shard_counts:
        root = work / f"sharded-{shards}"
        shutil.rmtree(root, ignore_errors=True)  # left by an earlier run
        catalogs.create(root, shards, settings)
        with timed() as built:
            split(work / "single", root, settings)
        print(f"S={shards}: split from the single index in {built.s:.1f} s")
        with timed() as up:
            sharded = connect(root, ray="auto", settings=settings, embedder=embedder)
        print(f"S={shards}: shard actors up and loaded in {up.s:.1f} s")
        sizes = [(s["passages"], round(s["index_bytes"] / 2 ** 20, 1))
                 for s in sharded.stats()["shards"]]
        print(f"S={shards}: shards (passages, MB): {sizes}; memory: {ray_memory_mb()} MB PSS")
        compare(single, sharded, questions)
        if shards == max(shard_counts):
            serving_figures(sharded, root, address, settings, questions[0], http_s, kills)
        sharded.collection.shards.stop()
    single.close()
    if ingest:
        compare_ingest(corpus, ingest, max(shard_counts), settings, work)
    if started:
        import ray

        ray.shutdown()


def serving_figures(sharded, root: Path, address: str, settings, question: dict,
                    http_s: float, kills: int) -> None:
    """Recovery after a shard actor is killed, then HTTP requests/s through Ray Serve."""
    for kill in range(kills):
        shard = kill % sharded.collection.catalog.shards
        took = recovery_s(sharded, question["question"], question["date"], shard)
        print(f"  shard {shard} killed: answering again after {took:.2f} s")
    if http_s:
        http_rates(root, address, settings, seconds=http_s)


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

    from ..serving import ray_serve
    from ..serving.access import Access
    from .loadtest import run as load

    port, rows = port or free_port(), []
    try:
        for count in replicas:
            url = ray_serve.run(root, address, count, port=port, access=Access(None),
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


def compare(single, sharded, questions: list[dict]) -> None:
    """Each question to the single index then to the collection, in turn; percentiles of
    each and the share of questions whose passages are identical."""
    for q in questions[:3]:  # warm both
        single.ask(q["question"], k=5, as_of=q["date"])
        sharded.ask(q["question"], k=5, as_of=q["date"])
    one, many, same = [], [], 0
    for q in questions:
        t0 = time.perf_counter()
        a = single.ask(q["question"], k=5, as_of=q["date"])
        t1 = time.perf_counter()
        b = sharded.ask(q["question"], k=5, as_of=q["date"])
        t2 = time.perf_counter()
        one.append(t1 - t0)
        many.append(t2 - t1)
        same += a == b
    print(f"  latency ms p50/p95/p99: single {percentiles(one)}, sharded {percentiles(many)}; "
          f"identical answers {same}/{len(questions)}")


if __name__ == "__main__":
    sys.exit(main())
