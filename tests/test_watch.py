"""`assistant watch`: a file is read once it stops growing, each file once."""
from __future__ import annotations

import gzip
import json
import threading
import time

import pytest
from helpers import small_settings

from assistant import Assistant
from assistant.live.watching import Settler, wanted, watch


def line(i: int) -> str:
    return json.dumps({"id": f"w{i}", "title": f"Harbour notice {i}", "date": "2024-03-01",
                       "text": f"The harbour master posted notice {i} about the tides."}) + "\n"


@pytest.mark.parametrize("name, ok", [("a.jsonl", True), ("a.jsonl.gz", True), ("a.txt", True),
                                      (".a.jsonl", False), ("a.jsonl.part", False),
                                      ("a.pdf", False)])
def test_wanted(tmp_path, name, ok):
    assert wanted(tmp_path / name) is ok


def test_a_file_is_ready_only_once_it_holds_still(tmp_path):
    now = [0.0]
    settler = Settler(2.0, clock=lambda: now[0])
    path = tmp_path / "a.jsonl"
    path.write_text(line(1))
    settler.saw(path)
    assert settler.ready() == []  # first look
    now[0] = 1.5
    with open(path, "a") as f:
        f.write(line(2))
    assert settler.ready() == []  # it grew: the wait starts again
    now[0] = 3.0
    assert settler.ready() == []
    now[0] = 3.6
    [(ready, size, _)] = settler.ready()
    assert (ready, size) == (path, path.stat().st_size)
    assert settler.ready() == []  # handed out once


@pytest.mark.slow
def test_a_file_written_slowly_in_pieces_is_ingested_once_whole(tmp_path):
    """A real watchdog observer over a real folder; the writer pauses shorter than the
    settle time between pieces, halfway through lines."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "early.txt").write_text(" date 2024-03-01 Ferry resumes\n\nThe ferry is back.\n")
    assistant = Assistant(tmp_path / "index", small_settings())
    reader = Assistant(tmp_path / "index", small_settings())  # the writer's is the watch's
    stopped, log = threading.Event(), []
    thread = threading.Thread(target=watch, args=(assistant, inbox, stopped),
                              kwargs=dict(settle_s=0.6, log=log.append, tick_s=0.05))
    thread.start()
    text = "".join(line(i) for i in range(6))
    with open(inbox / "notices.jsonl", "w") as f:
        for start in range(0, len(text), 90):
            f.write(text[start:start + 90])
            f.flush()
            time.sleep(0.15)
    with gzip.open(inbox / "more.jsonl.gz", "wt") as f:
        f.write(line(7))
    deadline = time.monotonic() + 10
    while reader.stats()["articles"] < 8 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)  # time enough for a second, wrong ingest of any file
    stopped.set()
    thread.join(timeout=10)
    assert reader.stats()["articles"] == 8
    done = [entry for entry in log if ": added" in entry]
    assert sorted(entry.split(":")[0] for entry in done) == [
        "early.txt", "more.jsonl.gz", "notices.jsonl"]
    assert "notices.jsonl: added 6, updated 0, unchanged 0, skipped 0" in " ".join(done)
    assert not [entry for entry in log if "skipped" in entry and "skipped 0" not in entry]
