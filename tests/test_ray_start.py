"""The collection on a Ray cluster started as a user starts one (docs/cluster.md): `ray start
--head` and `ray start --address` for a second node, each its own processes, temp dir and
custom resource, then the CLI in processes of its own: cluster init, ingest --ray, ask --ray,
serve --ray --replicas 2 and cluster stop, answering as one plain index of the same articles.

test_ray.py runs Ray inside the test process (ray.cluster_utils.Cluster); this is the path a
README reader takes. Both nodes stand on 127.0.0.1 with ports of their own, and are stopped
by their own process groups: `ray stop` would end every Ray process on the machine."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from helpers import DEMO, ROOT, free_port, wait_until_healthy

# Ray runs its workers at nice 15, so a CPU-bound test beside them starved them (under xdist, a
# Serve replica took 6 minutes to start beside an OpenVINO export): env() asks for nice 0.
pytestmark = pytest.mark.slow
MB = 1024 ** 2
UP_S = 90  # a node's `ray start` on 2 busy cores took 4-13 s
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


def ray_bin() -> str:
    pytest.importorskip("ray", reason="the Ray tests need ray: pip install '.[ray]'")
    path = os.path.join(os.path.dirname(sys.executable), "ray")
    if not os.access(path, os.X_OK):
        pytest.skip(f"no `ray` command beside {sys.executable}: pip install '.[ray]'")
    return path


# Ray's token authentication, as docs/cluster.md has a user set it up: every process (both
# nodes, `ray status`, the CLI) told the mode and the cluster's token. Left to Ray, `ray start
# --head` turns it on where ~/.ray/auth_token exists (any local ray.init makes one), while a
# command given an address never does, and `ray status` was refused for 180 s.
RAY_TOKEN = "5eed" * 16


def env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_worker_niceness": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": RAY_TOKEN}


def start_node(ray: str, temp_dir, log, *args) -> subprocess.Popen:
    """`ray start --block` in a process group of its own (what teardown ends), on 127.0.0.1
    with every port chosen here: the two nodes share one machine, so no default may meet."""
    ports = {"--node-manager-port", "--object-manager-port", "--dashboard-port",
             "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port",
             "--metrics-export-port", "--runtime-env-agent-port"}
    command = [ray, "start", "--block", "--node-ip-address", "127.0.0.1",
               "--temp-dir", str(temp_dir), "--num-cpus", "1",
               "--object-store-memory", str(100 * MB), "--disable-usage-stats", *args]
    for port in sorted(ports):
        command += [port, str(free_port())]
    return subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True, env=env())


def wait_for(ray: str, address: str, wanted: str, node: subprocess.Popen, log) -> None:
    """Until `ray status` names `wanted` (a node's custom resource), for at most UP_S. It is
    asked once `ray start` says the node is up: each `ray status` costs a second of CPU, and
    asked every half second from the start it took 8 CPU-s of the two nodes' start."""
    deadline, said = time.monotonic() + UP_S, "no answer"
    while "Ray runtime started" not in log.read_text() and time.monotonic() < deadline:
        assert node.poll() is None, f"ray start exited: {log.read_text()[-3000:]}"
        time.sleep(0.1)
    while time.monotonic() < deadline:
        assert node.poll() is None, f"ray start exited: {log.read_text()[-3000:]}"
        try:  # before the head listens, `ray status` may wait on it longer than this
            status = subprocess.run([ray, "status", "--address", address], capture_output=True,
                                    text=True, timeout=30, env=env(), check=False)
        except subprocess.TimeoutExpired:
            said = "`ray status` ran past 30 s"
            continue
        if status.returncode == 0 and wanted in status.stdout:
            return
        said = f"exit {status.returncode}: {(status.stdout + status.stderr)[-1500:]}"
        time.sleep(0.5)
    pytest.fail(f"{wanted} not in `ray status` within {UP_S} s; its last answer: {said}\n"
                f"the node's log: {log.read_text()[-2000:]}")


def stop(process: subprocess.Popen, first=signal.SIGTERM, wait_s: float = 15) -> None:
    """End `process` and everything in its process group: `first`, then SIGKILL."""
    for sig in (first, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait_s)
            if sig == signal.SIGKILL:
                break
        except subprocess.TimeoutExpired:
            continue
    process.wait(timeout=wait_s)


@pytest.fixture(scope="module")
def address(tmp_path_factory):
    """The address of a head offering the resource shard-0 and a second node offering shard-1
    (with --pin-shards, shard i runs on the node offering shard-i), 1 CPU each."""
    ray, where = ray_bin(), tmp_path_factory.mktemp("ray")
    # Ray's sockets lie under --temp-dir, and a socket's path has at most 107 bytes: pytest's
    # temp folders (under xdist, .../popen-gw0/ray0/head/session_.../sockets/...) are too long.
    short = Path(tempfile.mkdtemp(prefix="ray-"))
    port = free_port()
    address = f"127.0.0.1:{port}"
    nodes = []
    try:
        nodes.append(start_node(ray, short / "head", where / "head.log", "--head",
                                "--port", str(port), "--include-dashboard", "false",
                                "--ray-client-server-port", str(free_port()),
                                "--resources", json.dumps({"shard-0": 1})))
        wait_for(ray, address, "shard-0", nodes[0], where / "head.log")
        nodes.append(start_node(ray, short / "node", where / "node.log", "--address", address,
                                "--resources", json.dumps({"shard-1": 1})))
        wait_for(ray, address, "shard-1", nodes[1], where / "node.log")
        yield address
    finally:
        for node in reversed(nodes):
            stop(node, wait_s=5)  # SIGTERM leaves some of its processes up: then SIGKILL
        shutil.rmtree(short, ignore_errors=True)


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


def test_a_cluster_from_ray_start_answers_as_one_index(address, tmp_path):
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
