"""Retrieval over an in-memory snapshot: fusion, the as-of rule, outlets and the recency boost
run on a View and a dict of passages, with no SQLite file and no model."""
from __future__ import annotations

import json
import os
import signal
import time

import numpy as np
from helpers import WordHashEmbedder, small_settings

from assistant.search.retrieve import Query, search
from assistant.search.stages import recording
from assistant.storage.dense import DenseIndex
from assistant.storage.keyword import KeywordIndex
from assistant.storage.view import build_view, layout_of_runs
from assistant.types import Passage

ROWS = [  # (title, text, date, source)
    ("Floods", "Heavy rain flooded the river road in Millbrook.", "2024-01-02", "a.example"),
    ("Mayor", "The council elected Dana Reyes as mayor of Millbrook.", "2024-01-03", "b.example"),
    ("Mayor again", "Dana Reyes was elected mayor once more.", "2024-03-01", "a.example"),
    ("Bakery", "A bakery in Eastport won the national bread prize.", "2024-01-05", "b.example"),
]


class Snapshot:
    """What `retrieve` reads (`retrieve.Reader`), held in memory."""

    def __init__(self, embedder):
        self.rows = {i: Passage(text, title, f"https://{src}/{i}", src, date, f"a{i}")
                     for i, (title, text, date, src) in enumerate(ROWS)}
        ids = np.arange(len(ROWS))
        texts = [f"{p.title}. {p.text}" for p in self.rows.values()]
        dense = DenseIndex(embedder.dim)
        dense.add(ids, embedder.embed(texts))
        self.view = build_view(1, dense, KeywordIndex.build(ids, texts), layout_of_runs(
            [(i, i, p.date, p.source) for i, p in self.rows.items()]))

    def passages(self, ids: list[int]) -> dict[int, Passage]:
        return {i: self.rows[i] for i in ids if i in self.rows}


def ask(question: str, **filters) -> list[str]:
    embedder = WordHashEmbedder()
    found = search(Snapshot(embedder), embedder.embed, Query(question, 3, **filters),
                   small_settings())
    return [p.title for p in found]


def test_search_ranks_and_obeys_the_as_of_date_without_sqlite():
    assert ask("Who was elected mayor?")[0] == "Mayor again"  # the newest first, unbounded
    assert ask("Who was elected mayor?", as_of="2024-01-04")[0] == "Mayor"
    assert "Mayor again" not in ask("Who was elected mayor?", as_of="2024-01-04")


def test_search_keeps_to_the_named_outlets():
    assert set(ask("Who was elected mayor?", sources=("b.example",))) <= {"Mayor", "Bakery"}


def test_recording_times_each_stage_of_the_search():
    with recording() as seconds:
        ask("Which road flooded?")
    # "keyword search" is timed on the worker thread that runs it beside the dense search.
    assert {"embedding", "dense search", "keyword search", "fusion", "database", "filters"
            } <= set(seconds)
    assert all(s >= 0 for s in seconds.values())


def test_a_forked_child_still_runs_the_keyword_search_beside_the_dense_one():
    """The keyword search runs on a worker thread; a child forked after the parent used it
    inherits no threads, and must start its own rather than wait forever."""
    ask("Which road flooded?")  # the parent's worker exists now
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (runs in the child)
        os.write(write, json.dumps(ask("Which road flooded?")).encode())
        os._exit(0)
    os.close(write)
    deadline = time.monotonic() + 30
    while (done := os.waitpid(child, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    assert done[0] == child, "the child's search hung on the parent's keyword worker"
    assert os.waitstatus_to_exitcode(done[1]) == 0
    assert json.loads(os.read(read, 10_000)) == ask("Which road flooded?")
