"""A sharded collection answers as one index of the same articles: dense, keyword, fused and
final passages identical for 1, 2 and 4 shards, none after the as-of date; one writer makes
each batch visible in one step. Shards run in this process here (no Ray); test_ray.py runs
them as Ray actors."""
import json

import pytest
from helpers import DEMO, shared_path, small_settings

from assistant import Assistant
from assistant.cluster import catalog as catalogs
from assistant.cluster.fanout import candidates as fanned_out, merge
from assistant.cluster.front import ClusterAssistant
from assistant.errors import IndexBusy, NoIndex, ShardUnavailable
from assistant.search.retrieve import candidates

# Wire copies (the same title and text from two outlets) tie in both retrievers: ties must
# break the same way however the articles are split.
# Several batches, so several epochs and segments; the plain index and the collection alike.
BATCHED = small_settings(batch_articles=7)
WIRE = "The port authority said the night ferry to Valmora resumes on Monday after repairs."
WRITTEN = [
    {"id": f"wire-{n}", "title": "Night ferry to Valmora resumes", "date": f"2025-0{n}-10",
     "source": f"outlet{n}.example", "url": f"https://outlet{n}.example/ferry", "text": WIRE}
    for n in range(1, 5)
] + [
    {"id": "budget-1", "title": "Council passes harbour budget", "date": "2025-04-02",
     "source": "outlet1.example", "url": "https://outlet1.example/budget",
     "text": "The council passed the harbour budget by nine votes to four. " * 3},
    {"id": "budget-2", "title": "Harbour budget vote", "date": "2025-05-20",
     "source": "outlet2.example", "url": "https://outlet2.example/budget",
     "text": "A second harbour budget vote is planned for the ferry terminal."},
]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    path = tmp_path_factory.mktemp("written") / "written.jsonl"
    path.write_text("".join(json.dumps(a) + "\n" for a in WRITTEN))
    return path


def corpora(written) -> dict:
    """name -> (paths, [(question, as_of)]): the repo's articles, and ../shared's sample."""
    own = [DEMO, written]
    titles = [(a["title"], a["date"]) for a in WRITTEN] + [
        ("Who won the Northern Open chess championship?", "2025-07-01"),
        ("rail strike union deal", None), ("flood warning river", "2026-01-31"),
        ("tidal power station fault", "2025-03-10"), ("marathon record", None)]
    out = {"repo": (own, titles)}
    sample = shared_path("samples", "wikinews-2019-2020.jsonl").parent.joinpath(
        "wikinews-2019-2020.jsonl") if (DEMO.parent.parent / "shared").exists() else None
    if sample is not None and sample.exists():
        rows = [json.loads(line) for line in sample.read_text().splitlines()[:120]]
        out["shared"] = (own + [sample], titles + [
            (r["title"], r["date"] if n % 3 else None) for n, r in enumerate(rows[::4])])
    return out


def build_single(folder, paths, settings):
    a = Assistant(folder, settings)
    report = a.ingest(paths)
    return a, report


@pytest.fixture(scope="module")
def singles(written, tmp_path_factory):
    """corpus -> (its one plain index, the ingest report), built on first use and shared by
    every shard count (the same articles and settings each time)."""
    from assistant.storage import keyword

    built = {}

    def single(corpus: str):
        if corpus not in built:
            paths = corpora(written)[corpus][0]
            with pytest.MonkeyPatch.context() as patch:  # as the test that asks sets it
                patch.setattr(keyword, "SHORT_LIST", 0)
                built[corpus] = build_single(tmp_path_factory.mktemp(corpus), paths, BATCHED)
        return built[corpus]

    yield single
    for assistant, _ in built.values():
        assistant.close()


def build_sharded(folder, shards, paths, settings):
    catalogs.create(folder, shards, settings)
    a = ClusterAssistant(folder, settings)
    report = a.ingest(paths)
    return a, report


@pytest.mark.parametrize("shards", [pytest.param(1, marks=pytest.mark.slow), 2,
                                    pytest.param(4, marks=pytest.mark.slow)])
@pytest.mark.parametrize("corpus", ["repo", pytest.param("shared", marks=pytest.mark.slow)])
def test_sharded_answers_as_one_index(corpus, shards, written, singles, tmp_path,
                                      monkeypatch):
    from assistant.storage import keyword

    # Lists this short count as long: BM25 pruning and the common-words rule both run, on
    # figures summed over shards.
    monkeypatch.setattr(keyword, "SHORT_LIST", 0)
    found = corpora(written)
    if corpus not in found:
        pytest.skip("../shared/samples is not here")
    paths, questions = found[corpus]
    single, one = singles(corpus)
    sharded, many = build_sharded(tmp_path / "sharded", shards, paths, BATCHED)
    assert (many.added, many.passages, many.skipped) == (one.added, one.passages, one.skipped)
    assert sharded.stats()["passages"] == single.stats()["passages"]
    for question, as_of in questions:
        query = single.query(question, k=10, as_of=as_of)
        a = candidates(single.store, single.embedder.embed, query, BATCHED)
        b = fanned_out(sharded.collection, sharded.embedder.embed, query, BATCHED)
        assert a.dense and b.dense == a.dense and b.keyword == a.keyword, question
        assert list(b.scores.items()) == list(a.scores.items()), question
        assert b.favoured == a.favoured
        final = sharded.ask(question, k=10, as_of=as_of)
        assert final == single.ask(question, k=10, as_of=as_of), question
        assert all(p.date <= as_of for p in final) if as_of else final
    sharded.close()


def test_articles_land_in_their_hash_shard_and_the_epoch_counts_batches(tmp_path, written):
    settings = small_settings(batch_articles=5)
    a, report = build_sharded(tmp_path / "c", 3, [DEMO, written], settings)
    catalog = catalogs.read(tmp_path / "c")
    assert catalog.epoch.number == -(-report.read // 5)  # one epoch a batch
    assert catalog.epoch.next_id == report.passages + 1
    held = {s["shard"]: s["articles"] for s in a.stats()["shards"]}
    expected = [0, 0, 0]
    for article_id in a.store.hashes([w["id"] for w in WRITTEN]):
        expected[catalogs.shard_of(article_id, 3)] += 1
    assert sum(held.values()) == report.read and sum(expected) == len(WRITTEN)
    again = a.ingest([DEMO, written])
    assert (again.unchanged, again.added, again.passages) == (report.read, 0, 0)
    assert a.delete(["wire-1", "nothing-such"]) == 1
    assert a.stats()["articles"] == report.read - 1
    a.close()


def test_one_writer_for_the_whole_collection(tmp_path):
    catalogs.create(tmp_path / "c", 2, small_settings())
    with catalogs.lock(tmp_path / "c"), pytest.raises(IndexBusy):
        ClusterAssistant(tmp_path / "c", small_settings()).ingest([DEMO])


def test_no_collection_and_bad_shard_counts_are_clear(tmp_path):
    with pytest.raises(NoIndex):
        ClusterAssistant(tmp_path / "none", small_settings())
    with pytest.raises(Exception, match="--shards"):
        catalogs.create(tmp_path / "c", 0, small_settings())


def test_a_shard_behind_its_epoch_fails_the_question_with_503(tmp_path, monkeypatch):
    from assistant.cluster import shard

    a, _ = build_sharded(tmp_path / "c", 2, [DEMO], small_settings())
    catalog = catalogs.read(tmp_path / "c")
    ahead = list(catalog.epoch.generations)
    ahead[1] += 5  # an epoch naming a generation shard 1 never reached
    catalogs.commit(tmp_path / "c", catalog.with_epoch(ahead, catalog.epoch.next_id))
    monkeypatch.setattr(shard, "CATCH_UP_S", 0.1)
    with pytest.raises(ShardUnavailable, match="shard 1 unavailable") as caught:
        a.ask("chess championship")
    assert caught.value.http_status == 503
    a.close()


def test_merge_orders_by_score_then_global_id():
    assert merge([([4, 9], [0.75, 0.5]), ([2], [0.75])], 2) == {2: (0, 0.75), 4: (1, 0.75)}
    assert merge([], 3) == {}


@pytest.mark.parametrize("settled_by", ["reader", "repair"])
def test_a_shard_behind_its_epoch_is_found_and_settled(tmp_path, monkeypatch, settled_by):
    """What a writer killed after its catalog commit leaves: a committed epoch's staged part
    not applied. While a writer holds the lock, readers get 503, never the old and new epoch
    mixed; then the first reader to notice applies it, or check --repair does."""
    from assistant.cluster import health, shard
    from assistant.cluster.ingest import Writer

    a, _ = build_sharded(tmp_path / "c", 2, [DEMO], small_settings())
    victim = a.ask("Who won the Northern Open chess championship?")[0].article_id
    writer = Writer(tmp_path / "c", small_settings())
    monkeypatch.setattr(writer, "_apply", lambda *args, **kwargs: None)  # killed here
    with writer.lock():
        writer.apply([], [victim])
    writer.close()
    problems = health.check(tmp_path / "c")
    assert len(problems) == 1 and "behind epoch" in str(problems[0])
    monkeypatch.setattr(shard, "CATCH_UP_S", 0.1)
    with catalogs.lock(tmp_path / "c"), pytest.raises(ShardUnavailable) as caught:
        a.ask("chess championship")
    assert caught.value.http_status == 503
    if settled_by == "repair":
        assert health.repair(tmp_path / "c", small_settings()) == []
    assert victim not in {p.article_id for p in a.ask("chess championship", k=10)}
    assert a.stats()["articles"] == 7
    assert health.check(tmp_path / "c") == []
    a.close()


KILLED_INGEST = """
import sys
sys.path.insert(0, sys.argv[1])
from helpers import WordHashEmbedder, small_settings
from assistant.cluster import connect
connect(sys.argv[2], settings=small_settings(batch_articles=4),
        embedder=WordHashEmbedder()).ingest(sys.argv[3:])
"""


@pytest.mark.slow
@pytest.mark.parametrize("point", ["shard-staged:1", "shard-staged:2", "catalog:1",
                                   "shard-applied:1"])
def test_sigkill_between_shard_and_catalog_commits(tmp_path, written, point):
    """The demo articles in (epochs 1, 2), then an ingest of more killed while staging shards'
    parts or just before the catalog's commit: readers stay on epoch 2 (a reader open all
    along and a new one alike). Killed after the commit, the epoch is in force once applied.
    A re-run ends as a clean build of the same articles: counts, ids, answers."""
    import os
    import signal
    import subprocess
    import sys

    from helpers import ROOT

    settings = small_settings(batch_articles=4)
    reader, first = build_sharded(tmp_path / "c", 3, [DEMO], settings)
    root = tmp_path / "c"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ASSISTANT_CRASH_AT": point}
    killed = subprocess.run([sys.executable, "-c", KILLED_INGEST, str(ROOT / "tests"),
                             str(root), str(written)], env=env, capture_output=True, timeout=120,
                            check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    if not point.startswith("shard-applied"):
        assert catalogs.read(root).epoch.number == 2
        for a in (reader, ClusterAssistant(root, settings)):
            assert a.stats()["articles"] == first.read == 8
            assert not {p.article_id for p in a.ask("night ferry Valmora", k=20)} & {
                w["id"] for w in WRITTEN}
    rerun = ClusterAssistant(root, settings).ingest([DEMO, written])
    clean, report = build_sharded(tmp_path / "clean", 3, [DEMO, written], settings)
    assert rerun.read == report.read and rerun.skipped == report.skipped
    assert reader.stats()["articles"] == clean.stats()["articles"] == report.read
    assert reader.stats()["passages"] == clean.stats()["passages"] == report.passages
    assert catalogs.read(root).epoch.next_id == catalogs.read(tmp_path / "clean").epoch.next_id
    for question, as_of in [("ferry Valmora", None), ("chess championship", "2025-07-01")]:
        assert reader.ask(question, k=10, as_of=as_of) == clean.ask(question, k=10, as_of=as_of)
    assert health_check(root) == []


def health_check(root):
    from assistant.cluster import health

    return health.check(root)


NO_RAY = """
import sys
sys.path.insert(0, sys.argv[1])
from helpers import WordHashEmbedder, small_settings
from assistant.cli.main import build_parser
from assistant.cluster import catalog, connect
catalog.create(sys.argv[2], 2, small_settings())
a = connect(sys.argv[2], settings=small_settings(), embedder=WordHashEmbedder())
a.ingest([sys.argv[3]])
assert a.ask("chess championship") and a.stats()["articles"] == 8
assert "ray" not in sys.modules, "ray imported without a Ray option"
"""


@pytest.mark.slow
def test_nothing_imports_ray_without_a_ray_option(tmp_path):
    import subprocess
    import sys

    from helpers import ROOT

    done = subprocess.run([sys.executable, "-c", NO_RAY, str(ROOT / "tests"),
                           str(tmp_path / "c"), str(DEMO)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_benchmark_compares_single_and_sharded_question_by_question(tmp_path, capsys):
    from assistant.tools.cluster_bench import compare

    single, _ = build_single(tmp_path / "single", [DEMO], small_settings())
    sharded, _ = build_sharded(tmp_path / "sharded", 2, [DEMO], small_settings())
    questions = [{"question": "chess championship", "date": "2025-07-01"},
                 {"question": "rail strike", "date": "2026-01-01"}] * 2
    compare(single, sharded, questions)
    line = capsys.readouterr().out
    assert "identical answers 4/4" in line and line.count(" / ") == 4


def test_an_index_split_into_shards_answers_as_it_did(small_index_dir, tmp_path):
    from assistant.cluster.split import split

    single = Assistant(small_index_dir, small_settings())
    catalogs.create(tmp_path / "c", 3, small_settings())
    assert split(small_index_dir, tmp_path / "c", small_settings()) == \
        single.stats()["passages"]
    sharded = ClusterAssistant(tmp_path / "c", small_settings())
    for question, as_of in [("chess championship", "2025-07-01"), ("rail strike", None)]:
        assert sharded.ask(question, k=5, as_of=as_of) == single.ask(question, k=5, as_of=as_of)
    single.close()
    sharded.close()
