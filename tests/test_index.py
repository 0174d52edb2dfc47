"""The index end to end with real parts: ingest, re-ingest, update, delete, ask as of a date."""
import json
import sqlite3

import numpy as np
import pytest
from helpers import DEMO, SMALL_MODEL, WordHashEmbedder, gzip_repeated, small_settings

from assistant import Assistant, Settings
from assistant.errors import BadQuery, IndexBusy, IndexMismatch, UnknownSource
from assistant.storage.keyword import KeywordIndex
from assistant.storage.store import settings_for_index
from assistant.types import Article


def article(id, date, text, title="Harbour news"):
    return Article(id=id, title=title, date=date, text=text, url=f"https://news.example/{id}",
                   source="news.example")


def test_ask_returns_cited_passages_best_first(small_assistant):
    passages = small_assistant.ask("Who won the Northern Open chess championship?", k=3)
    best = passages[0]
    assert "Amara Osei" in best.text
    assert best.title.startswith("Amara Osei wins") and best.date == "2025-06-14"
    assert best.url.startswith("file://") and best.citation.startswith(best.title)
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


def test_every_passage_is_verbatim_in_its_stored_article(small_assistant):
    db = sqlite3.connect(small_assistant.folder / "assistant.sqlite")
    for p in small_assistant.ask("tidal power station turbines", k=10):
        text = db.execute("SELECT text FROM articles WHERE id=?", (p.article_id,)).fetchone()[0]
        assert text[p.start:p.end] == p.text and len(p.text) <= 1000


@pytest.mark.parametrize("k", [1, 2, 5, 20, 100])
@pytest.mark.parametrize("as_of", ["2025-03-01", "2025-03-02", "2025-03-19", "2025-12-01",
                                   "2026-01-10"])
def test_as_of_is_a_hard_limit_at_every_k(small_assistant, k, as_of):
    passages = small_assistant.ask("What happened to the tidal power station?", k=k, as_of=as_of)
    assert all(p.date <= as_of for p in passages)
    assert len(passages) == min(k, sum(1 for f in DEMO.glob("*.txt") if f.name[:10] <= as_of))


def test_as_of_changes_the_answer(small_assistant):
    before = small_assistant.ask("Coastline Rail strike", k=1, as_of="2025-11-30")[0]
    after = small_assistant.ask("Coastline Rail strike deal", k=1, as_of="2025-12-05")[0]
    assert before.date == "2025-11-18" and after.date == "2025-12-02"


def test_since_and_sources_filters(small_assistant):
    found = small_assistant.ask("river", k=5, since="2026-01-01")
    assert all(p.date >= "2026-01-01" for p in found)
    with pytest.raises(UnknownSource, match="no article comes from 'no-such-outlet'"):
        small_assistant.ask("river", k=5, sources=["no-such-outlet"])  # not a silent []


@pytest.mark.parametrize("kwargs, message", [
    ({"question": ""}, "empty"),
    ({"question": "x" * 100_000}, "limit"),
    ({"question": "q", "k": 0}, "k must be"),
    ({"question": "q", "k": -1}, "k must be"),
    ({"question": "q", "k": 10**9}, "k must be"),
    ({"question": "q", "as_of": "2024-02-30"}, "not a real date"),
    ({"question": "q", "as_of": "05/01/2024"}, "YYYY-MM-DD"),
    ({"question": "\u200b\u200d\ufeff \u2060"}, "empty"),  # zero-width characters only
    ({"question": "<b> </b>&nbsp;"}, "empty"),  # markup only
    ({"question": "What happened yesterday?", "as_of": "9999-12-31"}, "from 1600 to 2100"),
    ({"question": "q", "as_of": "2025-01-01", "since": "2025-01-02"}, "is after the as_of"),
    ({"question": "q", "since": "0001-01-01"}, "from 1600 to 2100"),
])
def test_bad_questions_raise_bad_query(small_assistant, kwargs, message):
    with pytest.raises(BadQuery, match=message):
        small_assistant.ask(**kwargs)


def test_a_question_pasted_with_markup_is_searched_by_its_words(small_assistant):
    """The attribute words of a pasted link ('href', 'data', a URL) must not be searched for:
    the same passages, in the same order, as the plain question."""
    pasted = ('Which <a data-analytics-id="inline-link" href="https://ex.org/tag/river">river'
              '</a> flooded&nbsp;the town?')
    assert small_assistant.query(pasted).question == "Which river flooded the town?"
    assert ([(p.article_id, p.seq) for p in small_assistant.ask(pasted, k=5)]
            == [(p.article_id, p.seq) for p in small_assistant.ask("Which river flooded the town?", k=5)])


def test_reingest_update_and_delete(tmp_path):
    a = Assistant(tmp_path / "idx", small_settings())
    first = a.ingest_articles([article("s1", "2024-01-01", "The ferry sank near the pier."),
                               article("s2", "2024-01-02", "The council met on Tuesday.")])
    assert (first.added, first.updated, first.unchanged) == (2, 0, 0)
    again = a.ingest_articles([article("s1", "2024-01-01", "The ferry sank near the pier.")])
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1)
    changed = a.ingest_articles([article("s1", "2024-01-01", "The ferry was refloated.")])
    assert changed.updated == 1
    stats = a.stats()
    assert (stats["articles"], stats["passages"]) == (2, 2)
    texts = [p.text for p in a.ask("ferry", k=10)]
    assert texts.count("The ferry was refloated.") == 1 and "The ferry sank near the pier." not in texts
    assert len(a.store.view.dense) == 2  # the replaced passage stays in BM25 as a masked tombstone:
    assert len(a.store.view.keyword) == 3 and a.stats()["keyword_tombstones"] == 1
    assert a.delete(["s1", "missing"]) == 1
    assert a.stats()["articles"] == 1 and len(a.store.view.dense) == 1
    assert all(p.article_id == "s2" for p in a.ask("ferry", k=10))
    # Another process opening the folder sees the same state.
    assert Assistant(tmp_path / "idx").stats()["passages"] == 1


def test_manifest_is_readable_and_other_settings_are_refused(small_copy):
    manifest = json.loads((small_copy / "manifest.json").read_text())
    assert manifest["model"] == SMALL_MODEL and manifest["dim"] == 256
    assert manifest["max_chars"] == 1000 and manifest["articles"] == 8
    with pytest.raises(IndexMismatch, match="max_chars"):
        Assistant(small_copy, small_settings(max_chars=500))


def test_an_index_opens_with_the_settings_it_was_built_with(tmp_path):
    """Built when another backend was the default, it still opens and answers without
    settings; asking it for other build settings is refused."""
    other = next(b for b in ("onnx-int8", "openvino-int8") if b != Settings().embed_backend)
    built = small_settings(embed_backend=other, title_context=False)
    Assistant(tmp_path / "idx", built).ingest_articles(
        [article("o1", "2024-01-01", "The observatory found a new comet.")])
    reopened = Assistant(tmp_path / "idx")
    assert reopened.settings.embed_backend == other and not reopened.settings.title_context
    assert reopened.ask("comet", k=1)[0].article_id == "o1"
    assert settings_for_index(tmp_path / "nothing-here") == Settings()
    with pytest.raises(IndexMismatch, match="embed_backend"):
        Assistant(tmp_path / "idx", small_settings())


@pytest.mark.slow
def test_the_embedder_takes_its_stall_bound_from_the_settings(tmp_path):
    """embed_stall_s reaches the embedder, whose watchdog fails a call stalled past it."""
    a = Assistant(tmp_path / "idx", Settings(embed_stall_s=7.5))
    assert a.embedder.stall_s == 7.5


def test_a_second_writer_is_refused(small_copy):
    writer = Assistant(small_copy)
    with writer.store.lock(), pytest.raises(IndexBusy, match="another process"):
        Assistant(small_copy).delete(["anything"])


def test_failure_mid_ingest_keeps_completed_batches_only(tmp_path):
    a = Assistant(tmp_path / "idx", small_settings(batch_articles=2))

    def articles():
        for i in range(5):
            yield article(f"c{i}", "2024-01-0" + str(i + 1), f"Story number {i} about the canal.")
        raise KeyboardInterrupt  # Ctrl-C while reading the sixth article

    with pytest.raises(KeyboardInterrupt):
        a.ingest_articles(articles())
    reopened = Assistant(tmp_path / "idx")
    stats = reopened.stats()
    assert (stats["articles"], stats["passages"]) == (4, 4)  # batches [c0,c1] and [c2,c3]
    assert len(reopened.store.view.dense) == 4 and len(reopened.store.view.keyword) == 4
    report = reopened.ingest_articles(article(f"c{i}", "2024-01-0" + str(i + 1),
                                              f"Story number {i} about the canal.")
                                      for i in range(5))
    assert (report.added, report.unchanged) == (1, 4)
    with sqlite3.connect(tmp_path / "idx" / "assistant.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT count(*) FROM passages").fetchone()[0] == 5


def test_article_that_is_all_page_furniture_is_skipped_with_a_reason(tmp_path):
    a = Assistant(tmp_path / "idx", small_settings())
    report = a.ingest_articles([article("f1", "2024-01-01", "Sign up for our newsletter here.")])
    assert report.added == 0 and "page furniture" in report.skipped[0].message


@pytest.mark.parametrize("as_of", ["2025-03-01", "2025-06-14", "2025-12-01"])
def test_as_of_holds_at_every_retrieval_stage(small_assistant, as_of):
    from assistant.search.rerank import second_stages
    from assistant.search.retrieve import Query, search
    from assistant.tools.evaluate import stages

    shipped = small_assistant.settings.with_(cross_encoder=True)  # the default second stage
    for name, variant in stages(shipped).items():
        passages = search(small_assistant.store, small_assistant.embedder.embed,
                          Query("tidal station strike marathon flood", 20, as_of), variant,
                          second_stages(variant))
        assert all(p.date <= as_of for p in passages), name


def test_deleting_keeps_bm25_files_with_tombstones_until_compact(tmp_path):
    a = Assistant(tmp_path / "idx", small_settings())
    a.ingest_articles([article(f"t{i}", "2024-01-01", f"Tram line {i} reopens after repairs.")
                       for i in range(4)])
    keyword_before = a.store.view.keyword.ids.tolist()
    assert a.delete(["t3", "t0"]) == 2  # t3 holds the newest passage id
    assert a.store.view.keyword.ids.tolist() == keyword_before  # no rebuild for a deletion
    assert a.stats()["keyword_tombstones"] == 2
    found = a.ask("tram line reopens", k=10)
    assert sorted(p.article_id for p in found) == ["t1", "t2"]
    from assistant.storage.check import check

    assert check(tmp_path / "idx", a.settings) == []
    assert a.compact() == 2
    assert len(a.store.view.keyword) == 2 and a.stats()["keyword_tombstones"] == 0
    assert sorted(p.article_id for p in a.ask("tram line reopens", k=10)) == ["t1", "t2"]
    assert a.compact() == 0


def test_each_batch_adds_a_keyword_segment_and_full_tiers_merge(tmp_path):
    from assistant.storage.keyword import MERGE_FACTOR

    a = Assistant(tmp_path / "idx", small_settings(batch_articles=1))
    subjects = ["ferry", "tram", "bridge", "harbour", "canal", "market"]
    a.ingest_articles([article(f"b{i}", f"2024-01-0{i + 1}", f"The {word} reopened on Monday.")
                       for i, word in enumerate(subjects)])
    # Six one-passage batches: the first MERGE_FACTOR merged into one, then two more.
    assert a.stats()["keyword_segments"] == 1 + len(subjects) - MERGE_FACTOR
    # All passages share one length, so the segments score exactly as one index would.
    ids = a.store.view.keyword.ids
    whole = KeywordIndex.build(ids, a.store.rows.keyword_texts(ids))
    found = a.store.view.keyword.search("canal reopened tram", 10)
    expected = whole.search("canal reopened tram", 10)
    assert len(found[0]) == len(subjects) and found[0][:2].tolist() == expected[0][:2].tolist()
    by_id = dict(zip(expected[0].tolist(), expected[1]))  # the other four tie on 'reopened'
    assert np.allclose(found[1], [by_id[i] for i in found[0].tolist()], rtol=1e-5)
    assert a.delete(["b0"]) == 1 and a.compact() == 1
    assert a.stats()["keyword_segments"] == 1 and len(a.store.view.keyword) == len(subjects) - 1
    from assistant.storage.check import check

    assert check(tmp_path / "idx", a.settings) == []


@pytest.mark.slow
def test_the_same_articles_read_from_another_line_or_folder_are_unchanged(tmp_path):
    """Identity is what an article is: a blank line added at the top of its file, or the file
    moved, changes only where it was read, and nothing is embedded again."""
    rows = [{"title": f"Harbour story {i}", "date": "2024-01-0" + str(i), "text": f"Boat {i}."}
            for i in range(1, 4)]
    lines = "".join(json.dumps(r) + "\n" for r in rows)
    first = tmp_path / "one" / "news.jsonl"
    first.parent.mkdir()
    first.write_text(lines)
    (tmp_path / "one" / "story.txt").write_text(" date 2024-01-05 Tide\n\nThe tide came in.\n")
    a = Assistant(tmp_path / "idx")
    assert a.ingest([first.parent]).added == 4
    first.write_text("\n" + lines)
    moved = tmp_path / "two"
    moved.mkdir()
    (moved / "news.jsonl").write_text(lines)
    (moved / "story.txt").write_text((tmp_path / "one" / "story.txt").read_text())
    for paths in ([first], [moved]):
        report = a.ingest(paths)
        assert (report.added, report.updated, report.skipped) == (0, 0, [])
    generation = a.stats()["generation"]
    # One valid line repeated a million times: one article, one generation, the rest reported.
    bomb = tmp_path / "same.jsonl.gz"
    line = json.dumps({"title": "Ferry", "date": "2024-02-01", "text": "The ferry sailed."})
    bomb.write_bytes(gzip_repeated((line + "\n").encode() * 10_000, 100))
    report = a.ingest([bomb])
    assert report.added == 1 and a.stats()["generation"] == generation + 1
    assert "stopped reading" in report.skipped[-1].message
    assert all("repeats the article" in p.message for p in report.skipped[:-1])


def test_an_id_given_twice_in_a_list_is_reported_and_the_later_copy_kept(tmp_path):
    a = Assistant(tmp_path / "idx", small_settings())
    report = a.ingest_articles([article("d1", "2024-01-01", "The first telling."),
                                article("d1", "2024-01-01", "The second telling.")])
    assert report.added == 1 and [str(p) for p in report.skipped] == [
        "articles:2: id 'd1' repeated (first at line 1), the later copy kept"]
    assert a.ask("telling", k=5)[0].text == "The second telling."


class CountingEmbedder(WordHashEmbedder):
    """WordHashEmbedder that keeps every text it was asked to embed."""

    def __init__(self):
        super().__init__()
        self.seen: list[str] = []

    def embed(self, texts):
        self.seen += texts
        return super().embed(texts)


def test_an_update_embeds_only_changed_passages_and_a_wire_copy_once(tmp_path):
    """A live blog's update keeps the vectors of the passages it keeps word for word; the
    index it leaves holds the same passages and vectors as one built from the final text."""
    paragraphs = [f"Update {i}: the harbour inquiry heard witness number {i} describe the "
                  f"night the crane at dock {i} fell. " * 6 for i in range(4)]  # a passage each
    first = article("blog", "2025-05-01", "\n\n".join(paragraphs[:3]))
    edited = article("blog", "2025-05-02", "\n\n".join(
        [paragraphs[0], paragraphs[1].replace("fell", "collapsed"), *paragraphs[2:]]))
    wire = [article(f"wire-{n}", "2025-05-02", "Dock workers walked out at noon.",
                    title="Dock strike") for n in (1, 2)]
    embedder = CountingEmbedder()
    live = Assistant(tmp_path / "live", small_settings(), embedder=embedder)
    live.ingest_articles([first])
    assert len(embedder.seen) == 3
    embedder.seen.clear()
    report = live.ingest_articles([edited, *wire])
    assert report.updated == 1 and report.added == 2 and report.passages == 6
    assert report.reused == 2 and "(2 kept their vectors)" in report.summary()
    changed = [t for t in embedder.seen if "Dock strike" not in t]
    assert len(changed) == 2 and "collapsed" in changed[0] and "Update 3" in changed[1]
    assert len(embedder.seen) == 3  # the two wire copies' one text, once

    fresh = Assistant(tmp_path / "fresh", small_settings(), embedder=WordHashEmbedder())
    fresh.ingest_articles([edited, *wire])

    def vectors(a):
        ids = sorted(a.store.rows.passage_ids())
        texts = a.store.rows.keyword_texts(ids)
        return dict(zip(texts, a.store.view.dense.vectors_of(np.array(ids))))
    got, want = vectors(live), vectors(fresh)
    assert got.keys() == want.keys() and len(got) == 5
    for text, vector in want.items():
        assert np.allclose(got[text], vector, atol=1e-3), text
    question = "What did witness number 1 say about the crane?"
    assert ([p.text for p in live.ask(question, k=3)] == [p.text for p in fresh.ask(question, k=3)])
