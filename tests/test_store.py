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
from assistant.storage.view import LAYOUT_FILES, layout_after, layout_of_runs
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
    assert (second.dates, second.sources) == (("2024-01-01",), ("ex.com",))
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


def test_a_layout_follows_a_change_as_the_rows_would_give_it():
    """Removed ids leave, added ones take their article's day and outlet, and outlet names
    stay sorted with only those still holding a passage (as `layout_of_runs` reads them)."""
    before = layout_of_runs([(0, 1, "2024-01-01", "b.com"), (2, 2, "2024-01-02", "c.com")])
    after = layout_after(before, removed=[2], added=[3, 4], dates=["2024-01-03"] * 2,
                         sources=["a.com", "a.com"])
    truth = layout_of_runs([(0, 1, "2024-01-01", "b.com"), (3, 4, "2024-01-03", "a.com")])
    assert after[2] == truth[2] == ["a.com", "b.com"]
    assert after[0].tolist() == truth[0].tolist() and after[1].tolist() == truth[1].tolist()
    assert before[2] == ["b.com", "c.com"] and before[0][2] >= 0  # the old layout is untouched


def test_a_generation_keeps_its_layout_and_older_folders_open_from_the_rows(tmp_path):
    """Opening reads the layout the generation saved, not every passage row; a folder
    written before layouts were saved opens from the rows and gets one at its next write."""
    store = Store(tmp_path / "idx", Settings())
    with store.lock():
        store.apply([put("a", "The ferry sailed.", "2024-03-01"),
                     put("b", "The tram ran.", "2024-03-02")])
        store.apply([put("c", "The bridge opened.", "2024-03-03")], ["b"])
    folder = store.generations.path(store.view.generation)
    assert all((folder / name).is_file() for name in LAYOUT_FILES)
    truth = layout_of_runs(store.rows.view_rows())
    reopened = Store(tmp_path / "idx", Settings(), create=False).view
    assert reopened.days.tolist()[:len(truth[0])] == truth[0].tolist()
    assert (reopened.days[len(truth[0]):] == -1).all() and reopened.source_names == ["ex.com"]
    for name in LAYOUT_FILES:
        (folder / name).unlink()
    older = Store(tmp_path / "idx", Settings(), create=False)
    assert older.view.days.tolist() == truth[0].tolist()
    with older.lock():
        older.apply([put("d", "The port closed.", "2024-03-04")])
    written = older.generations.path(older.view.generation)
    assert np.load(written / LAYOUT_FILES[0]).tolist() == layout_of_runs(
        older.rows.view_rows())[0].tolist()


def test_the_date_mask_is_since_to_as_of_and_never_a_missing_passage():
    from assistant.storage.view import View, day

    rng = np.random.default_rng(0)
    days = rng.integers(738000, 738100, 5000).astype(np.int32)
    days[rng.random(5000) < 0.2] = -1  # no passage at these ids
    view = View(0, None, None, days, np.zeros(5000, np.int32), ["a.example"])

    def iso(ordinal: int) -> str:
        return date.fromordinal(ordinal).isoformat()

    for as_of, since in [(None, None), (iso(738050), None), (None, iso(738050)),
                         (iso(738060), iso(738040)), (iso(738040), iso(738060)),
                         (iso(738050), iso(738050)), (iso(737000), None), (None, iso(739000))]:
        want = days >= 0
        if as_of:
            want &= days <= day(as_of)
        if since:
            want &= days >= day(since)
        assert view.allowed(as_of, since).tolist() == want.tolist(), (as_of, since)
