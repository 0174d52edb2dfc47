"""A Ray cluster started as docs/cluster.md has a user start one: `ray start --head`, then
`ray start --address` for each further node, each `--block` in a process group of its own,
with its own temp dir, 1 CPU and one custom resource (shard-i: with --pin-shards, shard i runs
on the node offering it). Every node stands on 127.0.0.1 with ports of its own, and each is
stopped by its own process group: `ray stop` would end every Ray process on the machine.

test_ray.py and test_ray_start.py share one (conftest's `ray_nodes`): its start and stop took
a fifth of their time when each module had a cluster of its own."""
from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import pytest
from helpers import ROOT, free_port

MB = 1024 ** 2
UP_S = 90  # a node's `ray start` on 2 busy cores took 4-13 s
# Ray's token authentication, as docs/cluster.md has a user set it up: every process (the
# nodes, `ray status`, the CLI, a test's own ray.init) told the mode and the cluster's token.
# Left to Ray, `ray start --head` turns it on where ~/.ray/auth_token exists (any local
# ray.init makes one), while a command given an address never does, and `ray status` was
# refused for 180 s.
RAY_TOKEN = "5eed" * 16
# Ray runs its workers at nice 15, so a CPU-bound test beside them starved them (under xdist,
# a Serve replica took 6 minutes to start beside an OpenVINO export): nice 0 here.
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_worker_niceness": "0",
           "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": RAY_TOKEN}


def ray_bin() -> str:
    pytest.importorskip("ray", reason="the Ray tests need ray: pip install '.[ray]'")
    path = os.path.join(os.path.dirname(sys.executable), "ray")
    if not os.access(path, os.X_OK):
        pytest.skip(f"no `ray` command beside {sys.executable}: pip install '.[ray]'")
    return path


def env() -> dict:
    """A process's environment on this cluster: the repo importable, and RAY_ENV."""
    return {**os.environ, "PYTHONPATH": str(ROOT), **RAY_ENV}


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


class Node(NamedTuple):
    process: subprocess.Popen  # its `ray start --block`
    resource: str  # the custom resource it offers


class Nodes:
    """The cluster's nodes by name; `address` is the head's."""

    def __init__(self, logs: Path):
        self.ray, self.logs = ray_bin(), logs
        # Ray's sockets lie under --temp-dir, and a socket's path has at most 107 bytes:
        # pytest's temp folders (.../popen-gw0/ray0/head/session_.../sockets/...) are too long.
        self.short = Path(tempfile.mkdtemp(prefix="ray-"))
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        self.nodes: dict[str, Node] = {}
        self._names = (f"node-{n}" for n in itertools.count())
        self._head = ["--head", "--port", str(port), "--include-dashboard", "false",
                      "--ray-client-server-port", str(free_port())]

    def start(self, resources: list[str]) -> None:
        """The head offering resources[0], then a node for each other resource, started
        together."""
        self._wait(self._start(resources[0], self._head))
        for name in [self._start(r, ["--address", self.address]) for r in resources[1:]]:
            self._wait(name)

    def add(self, resource: str) -> str:
        """One more node offering `resource` (beside any that offers it already); its name."""
        name = self._start(resource, ["--address", self.address])
        self._wait(name)
        return name

    def remove(self, name: str) -> None:
        """The node stopped as a machine leaves: its raylet told (SIGTERM), then killed."""
        stop(self.nodes.pop(name).process, wait_s=5)

    def stop(self) -> None:
        for name in reversed(list(self.nodes)):
            self.remove(name)  # SIGTERM leaves some of a node's processes up: then SIGKILL
        shutil.rmtree(self.short, ignore_errors=True)

    def _start(self, resource: str, args: list[str]) -> str:
        name = next(self._names)
        command = [self.ray, "start", "--block", "--node-ip-address", "127.0.0.1",
                   "--temp-dir", str(self.short / name), "--num-cpus", "1",
                   "--object-store-memory", str(100 * MB), "--disable-usage-stats",
                   "--resources", json.dumps({resource: 1}), *args]
        for port in ("--node-manager-port", "--object-manager-port", "--dashboard-port",
                     "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port",
                     "--metrics-export-port", "--runtime-env-agent-port"):
            command += [port, str(free_port())]  # two nodes on one machine: no default
        self.nodes[name] = Node(subprocess.Popen(
            command, stdout=(self.logs / f"{name}.log").open("w"), stderr=subprocess.STDOUT,
            start_new_session=True, env=env()), resource)
        return name

    def _wait(self, name: str) -> None:
        """Until `ray status` counts every node offering this one's resource, for at most UP_S.
        It is asked once `ray start` says the node is up: each `ray status` costs a second of
        CPU, and asked every half second from the start it took 8 CPU-s of two nodes' start."""
        (node, resource), log = self.nodes[name], self.logs / f"{name}.log"
        wanted = f"/{sum(n.resource == resource for n in self.nodes.values())}.0 {resource}"
        deadline, said = time.monotonic() + UP_S, "no answer"
        while "Ray runtime started" not in log.read_text() and time.monotonic() < deadline:
            assert node.poll() is None, f"ray start exited: {log.read_text()[-3000:]}"
            time.sleep(0.1)
        while time.monotonic() < deadline:
            assert node.poll() is None, f"ray start exited: {log.read_text()[-3000:]}"
            try:  # before the head listens, `ray status` may wait on it longer than this
                status = subprocess.run([self.ray, "status", "--address", self.address],
                                        capture_output=True, text=True, timeout=30, env=env(),
                                        check=False)
            except subprocess.TimeoutExpired:
                said = "`ray status` ran past 30 s"
                continue
            if status.returncode == 0 and wanted in status.stdout:
                return
            said = f"exit {status.returncode}: {(status.stdout + status.stderr)[-1500:]}"
            time.sleep(0.5)
        pytest.fail(f"{wanted} not in `ray status` within {UP_S} s; its last answer: {said}\n"
                    f"the node's log: {log.read_text()[-2000:]}")
