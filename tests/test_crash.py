"""Crash safety: SIGKILL an ingest at each named point; the index keeps whole batches only."""
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import DEMO, ROOT, shared_path, small_settings

from assistant import Assistant, Settings
from assistant.errors import NoIndex
from assistant.storage.check import check

BATCH = 3
INGEST = f"""
import sys
from assistant import Assistant, Settings
Assistant(sys.argv[1], Settings(batch_articles={BATCH})).ingest(sys.argv[2:])
"""


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
                            env=env, capture_output=True, timeout=300, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]


@pytest.mark.slow
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
    view = survivor.store.view
    assert len(view.dense or ()) == len(view.keyword) == stats["passages"]
    if batches:
        assert survivor.ask("road works on Mill Lane", k=3)  # it answers

    report = survivor.ingest([DEMO, extra])  # the same ingest again finishes the job
    assert report.unchanged == BATCH * batches and report.added == 15 - BATCH * batches
    assert check(index, Settings()) == []
    assert survivor.stats()["articles"] == 15
    db = sqlite3.connect(index / "assistant.sqlite")
    assert db.execute("SELECT count(*) FROM passages").fetchone()[0] == survivor.stats()["passages"]
    assert not list(index.glob("*.partial")) and not list(index.glob("gen-*.partial"))


@pytest.mark.slow  # a child process or three feeds: seconds, not the quick suite's
def test_sigkill_while_the_index_is_created_leaves_none(tmp_path, extra):
    """Killed after the manifest is written but before the database takes its name: no index
    is there (readers are told so), and the next ingest creates it whole."""
    index = tmp_path / "idx"
    ingest_killed_at(index, [DEMO, extra], "create", 1)
    with pytest.raises(NoIndex, match="assistant ingest FILES"):
        check(index, Settings())
    with pytest.raises(NoIndex):
        Assistant(index, create=False)

    assert Assistant(index, small_settings(batch_articles=BATCH)).ingest([DEMO, extra]).added == 15
    assert check(index, small_settings()) == []
    assert not list(index.glob("*.new"))  # the database the killed process built aside


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    """The demo articles and 150 Wikinews ones: one batch (1,000 articles a batch by default)
    of about 800 passages, whose embedding takes seconds: the kills below land mid-ingest."""
    lines = shared_path("samples", "wikinews-2019-2020.jsonl").read_text().splitlines()[:150]
    path = tmp_path_factory.mktemp("feed") / "wikinews.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return [DEMO, path], 150 + len(list(DEMO.glob("*.txt")))


def cli(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "assistant", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=600, check=False)


def contents(index):
    """What an index holds, keyed so that two builds compare: articles with their hashes,
    passage spans, and each passage's vector."""
    with sqlite3.connect(index / "assistant.sqlite") as db:
        articles = db.execute("SELECT id, hash FROM articles ORDER BY id").fetchall()
        rows = db.execute('SELECT id, article_id, seq, start, "end" FROM passages '
                          "ORDER BY article_id, seq").fetchall()
    store = Assistant(index, create=False).store
    vectors = store.view.dense._index.reconstruct_batch(np.array([r[0] for r in rows], np.int64))
    return articles, [r[1:] for r in rows], vectors


@pytest.mark.slow
def test_a_first_ingest_killed_at_creation_9_and_15_seconds_passes_check_and_resumes(tmp_path, feed):
    """The issue's trial as a user runs it: `assistant ingest` into a new folder, SIGKILL as soon
    as its database exists (before the first commit, whatever the CPU: a fixed 4 s was after it
    on a fast one), then at 9 and 15 s after its start (not before its database exists: a kill
    before that leaves no index, the `create` point above), `assistant check` exits 0 with no
    repair, and the same ingest again completes the index: every index ends with the same
    articles, passage spans and vectors."""
    paths, total = feed
    built = []
    for seconds in (0, 9, 15):
        index = tmp_path / f"killed-at-{seconds}s"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        started = time.monotonic()
        ingest = subprocess.Popen([sys.executable, "-m", "assistant", "ingest", *map(str, paths),
                                   "--quiet", "--index", str(index)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while ingest.poll() is None and (time.monotonic() - started < seconds
                                         or not (index / "assistant.sqlite").exists()):
            time.sleep(0.05)
        ingest.send_signal(signal.SIGKILL)  # a no-op if it finished first (a fast machine)
        ingest.wait(timeout=60)
        generation = json.loads(cli("stats", "--json", "--index", index).stdout)["generation"]
        if seconds == 0:
            assert generation == 0, "the first kill came after the first commit"

        checked = cli("check", "--index", index)
        assert checked.returncode == 0 and "index is healthy" in checked.stdout, (
            f"killed at {seconds} s (generation {generation}): {checked.stdout}{checked.stderr}")

        resumed = cli("ingest", *paths, "--quiet", "--index", index)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        added, updated, unchanged, skipped = map(int, re.findall(
            r"added (\d+), updated (\d+), unchanged (\d+), skipped (\d+)", resumed.stdout)[0])
        assert added + unchanged == total and updated == skipped == 0, resumed.stdout
        assert cli("check", "--index", index).returncode == 0
        built.append(contents(index))

    articles, spans, vectors = built[0]
    assert len(articles) == total
    for other_articles, other_spans, other_vectors in built[1:]:
        assert other_articles == articles and other_spans == spans
        assert np.allclose(other_vectors, vectors, atol=1e-4)
