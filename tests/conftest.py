"""Shared fixtures. Two demo indexes, each built once a run (under xdist by one worker for
all: `built_once`): `demo_index_dir` with the real model, FAISS, SQLite and bm25s (for tests
marked slow), and `small_index_dir`, the same articles embedded by tests/helpers.py's
WordHashEmbedder (for plumbing tests, in seconds), the browser tests' server, Chromium
and axe-core, and the Ray modules' cluster. Plain helpers live in helpers.py (the browser
tests' in ui_browser.py, the Ray cluster's in ray_nodes.py); no test module imports another,
nor this one.

Under pytest-xdist (`make test` runs `-n 2 --dist loadfile`), the hooks below keep each test
module on one worker (its module fixtures built once) and both Ray modules on the same one,
start the modules that take minutes first, and make the call of a test marked `alone` while
no other test runs."""
from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import pytest
from helpers import DEMO, SMALL_MODEL, WordHashEmbedder, private_copy, small_settings, start_server
from ray_nodes import Nodes
from ui_browser import AXE, CHROMIUM

# Modules that take a minute or more (`pytest --durations`): under xdist they start first, so
# that neither worker is left with one of them at the end. Only the order depends on this list.
FIRST = ["test_ray.py", "test_ray_start.py", "test_embed_stress.py", "test_server_first_use.py",
         "test_embedding.py", "test_bench.py", "test_crash.py", "test_load.py"]
# Modules with a test marked `alone`, in this order after all others: an `alone` test started
# beside a long one waited for it to end (18 s beside the Ray Serve test), then held the other
# worker up while it ran; at the end of a run there is little left to hold up. The warm-speed
# module first: its setup, two servers starting (7 s), runs beside the other worker's tests.
LAST = ["test_server_warm_speed.py", "test_ui_session.py", "test_feeds.py"]
# Modules that must run on one worker, one after the other: they share one Ray cluster.
TOGETHER = {"test_ray.py": "ray", "test_ray_start.py": "ray"}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile` (what `make test` runs), with the modules of TOGETHER as one unit and
    the units in the order collected (FIRST first). xdist's own `xdist_group` marks would say
    the same, but pytest 9.2's node ids break `--dist loadgroup` (pytest-xdist issue 1386):
    it runs grouped tests apart without a word."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return TOGETHER.get(path.rsplit("/", 1)[-1], path)

    config.option.loadscopereorder = False  # else the units with most tests go first
    return Scheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """Under xdist, the modules in FIRST go first and those in LAST last (each worker
    collects, and so orders, the same way); elsewhere, the order is pytest's."""
    if hasattr(config, "workerinput"):
        # Every other module ranks len(FIRST), where "" stands: after FIRST, before LAST.
        rank = {name: n for n, name in enumerate(FIRST + [""] + LAST)}
        items.sort(key=lambda item: rank.get(item.path.name, len(FIRST)))  # stable


_RUN: list[int] = []  # under xdist, this worker's hold on the run lock while a test runs


def alone(item) -> bool:
    return item.get_closest_marker("alone") is not None


def _lock(item, name: str) -> int:
    """A lock file in the run's temporary folder, which holds each worker's (popen-gw0, ...):
    theirs to share."""
    folder = item.config._tmp_path_factory.getbasetemp().parent
    return os.open(folder / f"xdist-{name}.lock", os.O_CREAT | os.O_RDWR)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Under xdist, every test holds the run lock, shared, from its setup to its teardown,
    once it has passed the gate, which a test marked `alone` holds while it waits for its
    call (pytest_runtest_call): the others' tests, coming one after another, never keep it
    waiting."""
    if not hasattr(item.config, "workerinput"):
        return (yield)
    gate, run = _lock(item, "gate"), _lock(item, "run")
    fcntl.flock(gate, fcntl.LOCK_EX)
    fcntl.flock(run, fcntl.LOCK_SH)
    os.close(gate)  # closing a file ends its lock
    _RUN.append(run)
    try:
        return (yield)
    finally:
        os.close(_RUN.pop())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Under xdist, the call of a test marked `alone` waits until the other workers' tests
    have ended, and holds theirs back until it has; its setup (servers started, say) runs
    beside them, since only the call asserts a bound on time. It lets its shared hold go
    before it waits at the gate: another worker's `alone` call may hold the gate, waiting
    for that hold."""
    if not _RUN or not alone(item):
        return (yield)
    run = _RUN[-1]
    fcntl.flock(run, fcntl.LOCK_UN)
    gate = _lock(item, "gate")
    fcntl.flock(gate, fcntl.LOCK_EX)
    fcntl.flock(run, fcntl.LOCK_EX)
    try:
        return (yield)
    finally:
        fcntl.flock(run, fcntl.LOCK_SH)
        os.close(gate)


_RAY: list[Nodes] = []  # the Ray cluster while it runs (`ray_nodes`)


@pytest.fixture(scope="session")
def ray_nodes(tmp_path_factory) -> Nodes:
    """One Ray cluster for test_ray.py and test_ray_start.py (ray_nodes.py): a head and two
    nodes, 1 CPU each, offering shard-0, shard-1 and shard-2. It stops after the last test of
    those modules (the hook below), not at the end of the run: the others' tests would share
    the CPU with its idle daemons."""
    nodes = Nodes(tmp_path_factory.mktemp("ray"))
    _RAY.append(nodes)
    try:
        nodes.start(["shard-0", "shard-1", "shard-2"])
    except BaseException:
        _stop_ray()
        raise
    yield nodes
    _stop_ray()


def _stop_ray() -> None:
    while _RAY:
        _RAY.pop().stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After the last test that shares the Ray cluster (TOGETHER), the cluster stops."""
    try:
        return (yield)
    finally:
        if item.path.name in TOGETHER and (nextitem is None
                                           or nextitem.path.name not in TOGETHER):
            _stop_ray()


@pytest.fixture(scope="session", autouse=True)
def small_model_by_name():
    """`load_embedder(SMALL_MODEL, ...)` gives a WordHashEmbedder in this process; every
    other name loads as it does in the package."""
    from assistant.embedding import embedder as embedding

    real, small = embedding.load_embedder, WordHashEmbedder()

    def load_embedder(model, *args, **kwargs):
        return small if model == SMALL_MODEL else real(model, *args, **kwargs)

    embedding.load_embedder = load_embedder
    yield small
    embedding.load_embedder = real


def build_demo(folder: Path, settings=None) -> Path:
    from assistant import Assistant

    assistant = Assistant(folder, settings)
    report = assistant.ingest([DEMO])
    assistant.close()
    assert report.added == len(list(DEMO.glob("*.txt")))
    return folder


def built_once(tmp_path_factory, name: str, build) -> Path:
    """`build(folder)` once a run, read by every worker: under xdist, the first worker to ask
    builds it in the run's temporary folder while the others wait on a lock, and a marker
    file says it is whole (a worker that died half way leaves none: the next builds afresh).
    Without xdist, once a session, as any session fixture."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return build(tmp_path_factory.mktemp(name))
    run = tmp_path_factory.getbasetemp().parent  # each worker's folder is in it (popen-gw0)
    folder, whole = run / name, run / f"{name}.whole"
    with open(run / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the file's closing ends the lock
        if not whole.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            whole.touch()
    return folder


@pytest.fixture(scope="session")
def demo_index_dir(tmp_path_factory) -> Path:
    """An index of the repo's demo articles with the real model, built once a run (the model's
    load and the embedding, seconds, not once a worker); tests that write must copy it
    (`demo_copy`)."""
    return built_once(tmp_path_factory, "demo-index", build_demo)


@pytest.fixture()
def demo_copy(demo_index_dir, tmp_path) -> Path:
    """A private, writable copy of the demo index."""
    return private_copy(demo_index_dir, tmp_path)


@pytest.fixture()
def demo_assistant(demo_index_dir):
    from assistant import Assistant

    return Assistant(demo_index_dir)


@pytest.fixture(scope="session")
def small_index_dir(tmp_path_factory) -> Path:
    """The demo articles embedded by WordHashEmbedder (no model loads); copy it to write."""
    return built_once(tmp_path_factory, "small-index",
                      lambda folder: build_demo(folder, small_settings()))


@pytest.fixture()
def small_copy(small_index_dir, tmp_path) -> Path:
    """A private, writable copy of the small demo index."""
    return private_copy(small_index_dir, tmp_path)


@pytest.fixture()
def small_assistant(small_index_dir):
    """An Assistant over the small demo index, without second stages."""
    from assistant import Assistant

    assistant = Assistant(small_index_dir, small_settings())
    yield assistant
    assistant.close()


@pytest.fixture(scope="module")
def served_index(small_index_dir, tmp_path_factory) -> Path:
    """A writable copy of the small demo index, shared by one module's tests (a live server's)."""
    return private_copy(small_index_dir, tmp_path_factory.mktemp("served"))


@pytest.fixture(scope="module")
def live(demo_index_dir, tmp_path_factory):
    """The chat and API on a free port over a writable copy of the demo index, one a module."""
    url, stop = start_server(private_copy(demo_index_dir, tmp_path_factory.mktemp("ui")))
    yield url
    stop()


def needed_in_ci(why: str) -> None:
    """A browser test's missing part: a failure in CI (`CI` set), which must run it, else a skip."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"CI runs the browser tests, but {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def chromium():
    """Headless Chromium for the browser tests (`make test` installs it where it may), one a
    worker: a launch costs a second of CPU, and eight tests launched their own. Each test
    opens contexts of its own (ui_browser.browser closes them after it)."""
    found = next(filter(None, map(shutil.which, CHROMIUM)), None)
    if found is None:
        needed_in_ci(f"no Chromium ({', '.join(CHROMIUM)}): the browser tests need one; install "
                     "it with `apt-get install chromium` (`make test` tries, as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=found, args=["--no-sandbox", "--headless"])
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def axe() -> Path:
    """axe-core from npm (`make test` runs `npm install`) for the accessibility checks."""
    if not AXE.exists():
        needed_in_ci(f"no {AXE.relative_to(AXE.parents[2])}: run `npm install` (make test does)")
    return AXE
