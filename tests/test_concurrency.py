"""Readers keep answering during an ingest and see whole batches; a second writer is refused."""
import json
import os
import subprocess
import sys
import time

import pytest
from helpers import ROOT

from assistant import Assistant

BATCH = 10
INGEST = f"""
import sys
from assistant import Assistant, Settings
Assistant(sys.argv[1], Settings(batch_articles={BATCH})).ingest(sys.argv[2:])
"""


def articles(path, n):
    path.write_text("".join(json.dumps({
        "id": f"w{i}", "title": f"Weather report {i}", "date": "2025-05-01",
        "source": "met.example", "url": f"https://met.example/{i}",
        "text": f"Report {i}: heavy rain is expected over the northern hills tonight. " * 8})
        + "\n"
        for i in range(n)))
    return path


@pytest.mark.slow
def test_readers_see_old_or_new_batches_never_a_mix(demo_copy, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    feed = articles(tmp_path / "feed.jsonl", 200)
    reader = Assistant(demo_copy)
    reader.ask("warm up the model before the writer starts", k=1)
    writer = subprocess.Popen([sys.executable, "-c", INGEST, str(demo_copy), str(feed)],
                              env=env, stderr=subprocess.PIPE)
    seen = set()
    deadline = time.monotonic() + 280
    while writer.poll() is None and time.monotonic() < deadline:
        passages = reader.ask("heavy rain over the northern hills", k=20, as_of="2025-12-31")
        stats = reader.stats()  # SQLite now: a batch may have landed since the ask
        assert (stats["articles"] - 8) % BATCH == 0, stats  # whole batches only
        view = reader.store.view  # what a search holds: one generation, all parts agreeing
        passages_in_view = int((view.days >= 0).sum())
        assert len(view.dense) == len(view.keyword) == passages_in_view
        assert (passages_in_view - 8) % BATCH == 0  # one passage per article here
        assert all(p.date <= "2025-12-31" for p in passages)
        seen.add(stats["articles"])
    assert writer.wait(timeout=300) == 0, writer.stderr.read()[-2000:]
    assert reader.stats()["articles"] == 208
    assert len(reader.ask("heavy rain over the northern hills", k=20)) == 20
    assert len(seen) >= 2  # the reader answered while batches landed


@pytest.mark.slow  # a child process or three feeds: seconds, not the quick suite's
def test_a_second_writer_process_is_refused_with_a_message(small_copy, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    hold = ("import sys, time\nfrom assistant.storage.store import Store, settings_for_index\n"
            "with Store(sys.argv[1], settings_for_index(sys.argv[1])).lock():\n"
            "    print('locked', flush=True)\n    time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", hold, str(small_copy)], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        second = subprocess.run([sys.executable, "-m", "assistant", "ingest",
                                 str(articles(tmp_path / "f.jsonl", 2)), "--quiet", "--index",
                                 str(small_copy)], env=env, capture_output=True, text=True,
                                timeout=120, check=False)
        assert second.returncode == 2
        assert "being written by another process" in second.stderr
    finally:
        holder.kill()
    assert Assistant(small_copy).stats()["articles"] == 8  # nothing was interleaved


@pytest.mark.slow
def test_the_server_answers_questions_while_an_upload_is_embedded(demo_copy):
    import threading

    from assistant.serving.server import Shared
    from assistant.types import Article

    shared = Shared(Assistant(demo_copy))
    shared.ask("warm up the model", k=1)
    feed = [Article(id=f"u{i}", title=f"Upload {i}", date="2025-06-01",
                    text=f"Item {i}: the ferry timetable changes on Monday. " * 15)
            for i in range(150)]
    writer = threading.Thread(target=shared.ingest_articles, args=(feed,))
    writer.start()
    during = 0
    while writer.is_alive():
        passages = shared.ask("Who won the chess championship?", k=3)
        assert passages[0].title.startswith("Amara Osei")
        during += writer.is_alive()
    writer.join()
    assert during >= 3  # questions did not wait for the upload
    assert shared.stats()["articles"] == 158
    assert shared.ask("ferry timetable changes", k=1)[0].title.startswith("Upload")
