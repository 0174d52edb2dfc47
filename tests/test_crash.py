"""Crash safety: SIGKILL an ingest at each named point; the index keeps whole batches only."""
import json
import os
import signal
import subprocess
import sys

import pytest

from assistant import Assistant, Settings
from assistant.check import check
from assistant.errors import NoIndex
from conftest import DEMO, ROOT

BATCH = 3
INGEST = """
import sys
from assistant import Assistant, Settings
Assistant(sys.argv[1], Settings(batch_articles=%d)).ingest(sys.argv[2:])
""" % BATCH


@pytest.fixture(scope="module")
def extra(tmp_path_factory):
    """Seven more articles beside the eight demo ones: five batches of three in all."""
    path = tmp_path_factory.mktemp("extra") / "extra.jsonl"
    path.write_text("".join(json.dumps({
        "id": f"x{i}", "title": f"Council notice {i}", "date": f"2025-04-{i + 10}",
        "source": "town.example", "url": f"https://town.example/{i}",
        "text": f"The council published notice number {i} about road works on Mill Lane."})
        + "\n" for i in range(7)))
    return path


# (point, occurrence at which to die, batches that must be in the index afterwards)
POINTS = [("read", 1, 0), ("embed", 1, 0), ("generation", 1, 0), ("commit", 1, 0),
          ("after-commit", 1, 1), ("manifest", 1, 1),
          ("read", 2, 1), ("embed", 2, 1), ("generation", 2, 1), ("commit", 2, 1),
          ("after-commit", 2, 2), ("manifest", 2, 2)]


def ingest_killed_at(index, paths, point, occurrence):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ASSISTANT_CRASH_AT": f"{point}:{occurrence}"}
    killed = subprocess.run([sys.executable, "-c", INGEST, str(index), *map(str, paths)],
                            env=env, capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]


@pytest.mark.parametrize("point, occurrence, batches", POINTS)
def test_sigkill_at_each_point_keeps_whole_batches(tmp_path, extra, point, occurrence, batches):
    """The first ingest into a new folder, killed at each point of its first and second batch:
    `check` passes as it stands (no repair), and the same ingest again finishes the job."""
    index = tmp_path / "idx"
    ingest_killed_at(index, [DEMO, extra], point, occurrence)

    assert check(index, Settings()) == []
    survivor = Assistant(index, Settings(batch_articles=BATCH))
    stats = survivor.stats()
    assert stats["articles"] == BATCH * batches
    assert len(survivor.store.dense or ()) == len(survivor.store.keyword) == stats["passages"]
    if batches:
        assert survivor.ask("road works on Mill Lane", k=3)  # it answers

    report = survivor.ingest([DEMO, extra])  # the same ingest again finishes the job
    assert report.unchanged == BATCH * batches and report.added == 15 - BATCH * batches
    assert check(index, Settings()) == []
    assert survivor.stats()["articles"] == 15
    db = survivor.store.db
    assert db.execute("SELECT count(*) FROM passages").fetchone()[0] == survivor.stats()["passages"]
    assert not list(index.glob("*.partial")) and not list(index.glob("gen-*.partial"))


def test_sigkill_while_the_index_is_created_leaves_none(tmp_path, extra):
    """Killed after the manifest is written but before the database takes its name: no index
    is there (readers are told so), and the next ingest creates it whole."""
    index = tmp_path / "idx"
    ingest_killed_at(index, [DEMO, extra], "create", 1)
    with pytest.raises(NoIndex, match="assistant ingest FILES"):
        check(index, Settings())
    with pytest.raises(NoIndex):
        Assistant(index, create=False)

    assert Assistant(index, Settings(batch_articles=BATCH)).ingest([DEMO, extra]).added == 15
    assert check(index, Settings()) == []
    assert not list(index.glob("*.new"))  # the database the killed process built aside
