"""Crash safety: SIGKILL an ingest at each named point; the index keeps whole batches only."""
import json
import os
import signal
import subprocess
import sys

import pytest

from assistant import Assistant, Settings
from assistant.check import check
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
POINTS = [("read", 2, 1), ("embed", 2, 1), ("generation", 2, 1), ("commit", 2, 1),
          ("after-commit", 2, 2), ("manifest", 2, 2)]


@pytest.mark.parametrize("point, occurrence, batches", POINTS)
def test_sigkill_at_each_point_keeps_whole_batches(tmp_path, extra, point, occurrence, batches):
    index = tmp_path / "idx"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ASSISTANT_CRASH_AT": f"{point}:{occurrence}"}
    killed = subprocess.run([sys.executable, "-c", INGEST, str(index), str(DEMO), str(extra)],
                            env=env, capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]

    problems = check(index, Settings())
    assert all("manifest" in p for p in problems), problems  # the manifest may lag one batch
    survivor = Assistant(index, Settings(batch_articles=BATCH))
    stats = survivor.stats()
    assert stats["articles"] == BATCH * batches
    assert len(survivor.store.dense) == len(survivor.store.keyword) == stats["passages"]
    assert survivor.ask("road works on Mill Lane", k=3)  # it answers

    report = survivor.ingest([DEMO, extra])  # the same ingest again finishes the job
    assert report.unchanged == BATCH * batches and report.added == 15 - BATCH * batches
    assert check(index, Settings()) == []
    assert survivor.stats()["articles"] == 15
    db = survivor.store.db
    assert db.execute("SELECT count(*) FROM passages").fetchone()[0] == survivor.stats()["passages"]
    assert not list(index.glob("*.partial")) and not list(index.glob("gen-*.partial"))
