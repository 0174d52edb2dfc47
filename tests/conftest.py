"""Shared fixtures: a small real index (real model, FAISS, SQLite, bm25s) built once a session."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def demo_index_dir(tmp_path_factory) -> Path:
    """An index of the repo's demo articles; tests that write must copy it (`demo_copy`)."""
    from assistant import Assistant

    folder = tmp_path_factory.mktemp("demo-index")
    report = Assistant(folder).ingest([DEMO])
    assert report.added == len(list(DEMO.glob("*.txt")))
    return folder


@pytest.fixture()
def demo_copy(demo_index_dir, tmp_path) -> Path:
    """A private, writable copy of the demo index."""
    target = tmp_path / "index"
    shutil.copytree(demo_index_dir, target)
    return target


@pytest.fixture()
def demo_assistant(demo_index_dir):
    from assistant import Assistant

    return Assistant(demo_index_dir)


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or a skip saying why when this clone has none (a user's)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not here: ../shared exists only on the project's machines")
    return path
