"""The store's two parts, without a model: rows (SQLite) return a frozen `Change` of what a
write adds and removes; generations (FAISS and BM25 folders) follow it, swapped in whole."""
import dataclasses
from datetime import date

import numpy as np
import pytest

from assistant import Settings
from assistant.errors import IndexBusy
from assistant.storage.rows import Change, Put
from assistant.storage.store import Store
from assistant.types import Article


def put(id, text, date="2024-01-01", dim=8):
    article = Article(id, f"Title {id}", date, text, f"https://ex/{id}", "ex.com")
    vectors = np.random.default_rng(len(text)).standard_normal((1, dim)).astype(np.float32)
    return Put(article, f"hash-{text}", [(0, len(text))], vectors / np.linalg.norm(vectors))


def test_a_write_returns_what_it_adds_and_removes(tmp_path):
    store = Store(tmp_path / "idx", Settings())
    with store.rows.transaction():
        first = store.rows.write([put("a", "The ferry sailed."), put("b", "The tram ran.")])
    assert first.added == (1, 2) and first.removed == () and first.vectors.shape == (2, 8)
    with store.rows.transaction():
        second = store.rows.write([put("a", "The ferry sank.")], ["b", "missing"])
    assert (second.removed, second.added, second.deleted) == ((2, 1), (3,), 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        second.deleted = 0
    assert Change().vectors is None and not Change().compact


def test_each_apply_is_one_generation_and_the_one_before_is_kept(tmp_path):
    store = Store(tmp_path / "idx", Settings())
    with store.lock():
        store.apply([put("a", "The ferry sailed."), put("b", "The tram ran.")])
        store.apply([put("c", "The bridge opened.")])
        assert store.apply([], ["a"]) == 1
    assert store.view.generation == 3 and len(store.view.dense) == 2
    assert sorted(p.name for p in (tmp_path / "idx").glob("gen-*")) == ["gen-000002",
                                                                         "gen-000003"]
    assert store.tombstones() == 1 and store.stats()["passages"] == 2
    with store.lock():
        assert store.compact() == 1
    assert sorted(store.view.keyword.ids.tolist()) == [2, 3]
    assert store.passages([2])[2].text == "The tram ran."
    reader = Store(tmp_path / "idx", Settings(), create=False)
    assert reader.view.generation == 4 and reader.stats()["articles"] == 2


def test_a_failed_write_changes_neither_rows_nor_files(tmp_path):
    store = Store(tmp_path / "idx", Settings())
    with store.lock():
        store.apply([put("a", "The ferry sailed.")])
        with pytest.raises(AssertionError):  # vectors of another width (FAISS asserts)
            store.apply([put("b", "The tram ran.", dim=4)])
    assert store.view.generation == 1 and store.stats()["articles"] == 1
    assert store.hashes(["a", "b"]) == {"a": "hash-The ferry sailed."}
    with store.lock(), pytest.raises(IndexBusy), Store(tmp_path / "idx", Settings()).lock():
        pass


def test_the_view_dates_every_passage_by_its_article(tmp_path):
    """The view reads one row an article (its passages' ids run on), not one a passage."""
    store = Store(tmp_path / "idx", Settings())
    spans = [(0, 9), (10, 19), (20, 29)]
    with store.lock():
        store.apply([dataclasses.replace(put("a", "x" * 30, "2024-03-01"), spans=spans,
                                         vectors=np.eye(3, 8, dtype=np.float32)),
                     put("b", "The tram ran.", "2024-03-02")])
        store.apply([put("c", "The bridge opened.", "2024-03-03")], ["b"])
    truth = dict(store.rows.db.execute(
        "SELECT p.id, a.date FROM passages p JOIN articles a ON a.id = p.article_id"))
    view = store.view
    assert len(truth) == 4
    assert {i: int(view.days[i]) for i in truth} == {
        i: date.fromisoformat(d).toordinal() for i, d in truth.items()}
    assert (view.days >= 0).sum() == 4 and view.source_names == ["ex.com"]
