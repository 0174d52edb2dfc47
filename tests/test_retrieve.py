"""Retrieval over an in-memory snapshot: fusion, the as-of rule, outlets and the recency boost
run on a View and a dict of passages, with no SQLite file and no model."""
from __future__ import annotations

import numpy as np
from helpers import WordHashEmbedder, small_settings

from assistant.search.retrieve import Query, search
from assistant.search.stages import recording
from assistant.storage.dense import DenseIndex
from assistant.storage.keyword import KeywordIndex
from assistant.storage.view import build_view
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
        self.view = build_view(1, dense, KeywordIndex.build(ids, texts),
                               [(i, i, p.date, p.source) for i, p in self.rows.items()])

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
    assert {"embedding", "dense search", "keyword search", "fusion", "database"} <= set(seconds)
    assert all(s >= 0 for s in seconds.values())
