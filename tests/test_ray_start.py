"""The collection on a Ray cluster started as a user starts one (docs/cluster.md): `ray start
--head` and `ray start --address` for further nodes, each its own processes, temp dir and
custom resource (conftest's `ray_nodes`, shared with test_ray.py), then the CLI in processes of
its own: cluster init, ingest --ray, ask --ray, serve --ray --replicas 2 and cluster stop,
answering as one plain index of the same articles.

test_ray.py joins the same cluster from the test process; this is the path a README reader
takes."""
import json
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from helpers import DEMO, free_port, wait_until_healthy
from ray_nodes import env, stop

pytestmark = pytest.mark.slow
TOKEN = "ray-start-token"
ARTICLES = [
    {"id": "ferry-1", "title": "Night ferry to Valmora resumes", "date": "2025-03-10",
     "source": "outlet1.example", "url": "https://outlet1.example/ferry",
     "text": "The port authority said the night ferry to Valmora resumes on Monday."},
    {"id": "ferry-2", "title": "Night ferry to Valmora resumes", "date": "2025-04-10",
     "source": "outlet2.example", "url": "https://outlet2.example/ferry",
     "text": "The port authority said the night ferry to Valmora resumes on Monday."},
    {"id": "budget-1", "title": "Council passes harbour budget", "date": "2025-04-02",
     "source": "outlet1.example", "url": "https://outlet1.example/budget",
     "text": "The council passed the harbour budget by nine votes to four."},
]
QUESTIONS = [("Who won the Northern Open chess championship?", "2025-07-01"),
             ("When does the night ferry to Valmora resume?", "2025-05-01"),
             ("rail strike union deal", "2026-03-01"), ("harbour budget vote", "2025-12-31")]


def cli(*args, timeout: float = 240) -> str:
    """`assistant ARGS` as a user runs it; its stdout, or a failure with its stderr."""
    done = subprocess.run([sys.executable, "-m", "assistant", *map(str, args)], env=env(),
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"assistant {' '.join(map(str, args))}: {done.stderr[-3000:]}"
    return done.stdout


def serve(root, address: str, port: int, log) -> subprocess.Popen:
    """`assistant serve --ray --replicas 2`, once /api/health answers (replicas warm)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "assistant", "serve", "--index", str(root), "--ray", address,
         "--pin-shards", "--replicas", "2", "--port", str(port), "--token", TOKEN],
        env=env(), stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_healthy(server, f"http://127.0.0.1:{port}", 240, log)
    except BaseException:  # pytest's failure too
        stop(server, signal.SIGINT)
        raise
    return server


def test_a_cluster_from_ray_start_answers_as_one_index(ray_nodes, tmp_path):
    address = ray_nodes.address
    written = tmp_path / "written.jsonl"
    written.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES))
    plain, root = tmp_path / "plain", tmp_path / "news"
    # The plain index's commands, two processes at a time while the nodes idle (no actor is
    # up yet): beside a command with --ray, they would starve its actors (nice 15 in Ray).
    with ThreadPoolExecutor(2) as pool:
        ingested = pool.submit(cli, "ingest", DEMO, written, "--index", plain, "--quiet")
        assert "2 shards" in cli("cluster", "init", "--index", root, "--shards", 2)
        ingested.result()
        asked = pool.map(lambda qa: cli("ask", qa[0], "--as-of", qa[1], "--json", "--index",
                                        plain), QUESTIONS)
        want = {question: json.loads(out) for (question, _), out in zip(QUESTIONS, asked)}
    on = ["--index", root, "--ray", address, "--pin-shards"]
    added = cli("ingest", DEMO, written, *on, "--quiet")
    assert f"added {len(list(DEMO.glob('*.txt'))) + len(ARTICLES)}," in added, added

    for question, as_of in QUESTIONS[:2]:  # each a process loading the model: two of them
        got = json.loads(cli("ask", question, "--as-of", as_of, "--json", *on))
        assert got == want[question], question

    port = free_port()
    server = serve(root, address, port, tmp_path / "serve.log")
    try:
        for question, as_of in QUESTIONS:
            got = httpx.get(f"http://127.0.0.1:{port}/api/ask",
                            params={"q": question, "as_of": as_of}, timeout=60)
            assert got.status_code == 200, got.text
            assert got.json() == want[question], question
    finally:
        stop(server, wait_s=60)  # SIGTERM, as ^C: serve shuts Ray Serve down (30 s at most)
    # 0: it took its way out through serve.shutdown (killed by the signal, it would be -15).
    assert server.returncode == 0, (tmp_path / "serve.log").read_text()[-3000:]

    stopped = cli("cluster", "stop", "--index", root, "--ray", address)
    assert stopped.startswith("stopped ") and not stopped.startswith("stopped 0"), stopped
    assert cli("cluster", "stop", "--index", root, "--ray", address).startswith("stopped 0")
