"""Shared fixtures. Two demo indexes, each built once a session: `demo_index_dir` with the
real model, FAISS, SQLite and bm25s (for tests marked slow), and `small_index_dir`, the same
articles embedded by tests/helpers.py's WordHashEmbedder (for plumbing tests, in seconds), and
the browser tests' server, Chromium and axe-core. Plain helpers live in helpers.py (the browser
tests' in ui_browser.py); no test module imports another, nor this one."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import DEMO, SMALL_MODEL, WordHashEmbedder, small_settings, start_server
from ui_browser import AXE, CHROMIUM


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


@pytest.fixture(scope="session")
def demo_index_dir(tmp_path_factory) -> Path:
    """An index of the repo's demo articles with the real model; tests that write must copy
    it (`demo_copy`)."""
    return build_demo(tmp_path_factory.mktemp("demo-index"))


def private_copy(folder: Path, tmp_path: Path) -> Path:
    """A writable copy of a session's index, this test's alone."""
    return Path(shutil.copytree(folder, tmp_path / "index"))


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
    return build_demo(tmp_path_factory.mktemp("small-index"), small_settings())


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
    target = tmp_path_factory.mktemp("served") / "index"
    shutil.copytree(small_index_dir, target)
    return target


@pytest.fixture(scope="module")
def live(demo_index_dir, tmp_path_factory):
    """The chat and API on a free port over a writable copy of the demo index, one a module."""
    target = tmp_path_factory.mktemp("ui") / "index"
    shutil.copytree(demo_index_dir, target)
    url, stop = start_server(target)
    yield url
    stop()


def needed_in_ci(why: str) -> None:
    """A browser test's missing part: a failure in CI (`CI` set), which must run it, else a skip."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"CI runs the browser tests, but {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium the browser tests drive (`make test` installs it where it may)."""
    found = next(filter(None, map(shutil.which, CHROMIUM)), None)
    if found is None:
        needed_in_ci(f"no Chromium ({', '.join(CHROMIUM)}): the browser tests need one; install "
                     "it with `apt-get install chromium` (`make test` tries, as root)")
    return found


@pytest.fixture(scope="session")
def axe() -> Path:
    """axe-core from npm (`make test` runs `npm install`) for the accessibility checks."""
    if not AXE.exists():
        needed_in_ci(f"no {AXE.relative_to(AXE.parents[2])}: run `npm install` (make test does)")
    return AXE
