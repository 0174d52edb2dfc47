"""The collection on a real Ray cluster (conftest's `ray_nodes`: a head and two nodes started
by `ray start`, all on 127.0.0.1, 1 CPU and 100 MB of object store each, one shard a node),
which this process joins as a driver. Every test here is slow (the cluster alone takes seconds
and a GB)."""
import json
import threading
import time

import numpy as np
import pytest
from helpers import CHESS, DEMO, WordHashEmbedder, make_eval_set, small_settings
from ray_nodes import RAY_ENV

from assistant.cluster import catalog as catalogs, connect
from assistant.errors import ShardUnavailable
from assistant.reading.articles import make_article

pytestmark = pytest.mark.slow
SHARDS = 3
QUESTIONS = [("Who won the Northern Open chess championship?", "2025-07-01"),
             ("rail strike union deal", None), ("flood warning river", "2026-01-31"),
             ("council budget", None)]


# Three paragraphs of about 700 characters: three passages.
LONG = {"id": "harbour-works", "title": "Harbour works timetable", "date": "2025-05-02",
        "source": "port.example", "url": "https://port.example/works",
        "text": "\n\n".join(f"Part {n}: " + f"the harbour {word} works close berth {n}. " * 18
                            for n, word in enumerate(("dredging", "crane", "quay")))}


@pytest.fixture(scope="module")
def cluster(ray_nodes):
    """The shared cluster (ray_nodes.Nodes), joined by this process as a driver: node i offers
    the custom resource `shard-i`, so pinned shard i runs there."""
    ray = pytest.importorskip("ray")
    import helpers
    import ray.cloudpickle  # noqa: F811 (the submodule, once importorskip found ray)
    from ray._private.authentication_test_utils import reset_auth_token_state

    ray.cloudpickle.register_pickle_by_value(helpers)  # WordHashEmbedder in Ray's workers
    # Token auth, as every process of the cluster; Ray reads it from the environment once, at
    # its import, unless told to read it again.
    with pytest.MonkeyPatch.context() as patch:
        for name, value in RAY_ENV.items():
            patch.setenv(name, value)
        reset_auth_token_state()
        ray.init(address=ray_nodes.address, namespace="news-assistant", log_to_driver=False)
        yield ray_nodes
        ray.shutdown()
    reset_auth_token_state()


@pytest.fixture(scope="module")
def articles(tmp_path_factory):
    path = tmp_path_factory.mktemp("more") / "more.jsonl"
    path.write_text("".join(json.dumps({
        "id": f"council-{i}", "title": f"Council budget notice {i}", "date": f"2025-04-{i + 10}",
        "source": f"town{i % 2}.example", "url": f"https://town.example/{i}",
        "text": f"The council budget notice {i} names road works on Mill Lane."}) + "\n"
        for i in range(9)))
    again = path.with_name("again.jsonl")  # repeats across files: one changed, one the same
    again.write_text("".join(line.replace("Mill Lane", "Mill Road") if n == 0 else line
                             for n, line in enumerate(path.read_text().splitlines(True)[:2])))
    long = path.with_name("long.jsonl")  # three passages, which the update test changes
    long.write_text(json.dumps(LONG) + "\n")
    return [DEMO, path, again, long]


@pytest.fixture(scope="module")
def serial(tmp_path_factory, articles):
    """The same articles ingested serially, shards in this process: what Ray must equal."""
    root = tmp_path_factory.mktemp("serial") / "c"
    catalogs.create(root, SHARDS, small_settings())
    a = connect(root, settings=small_settings())
    a.report = a.ingest(articles)
    return a


def pinned(c, serial, timeout_s: float = 5, start_s: float = 60):
    """The serial collection read through shard actors pinned one a node of cluster `c`.
    Their first ping may outlast `timeout_s` while Ray starts them on a busy machine (a
    GetTimeoutError under a loaded `make test`): asked again, by name, for up to `start_s`."""
    deadline = time.monotonic() + start_s
    while True:
        try:
            return connect(serial.folder, ray=c.address, settings=small_settings(), pin=True,
                           timeout_s=timeout_s)
        except ShardUnavailable:
            if time.monotonic() > deadline:
                raise


def test_ray_data_ingest_equals_serial_and_shards_sit_one_a_node(cluster, serial, articles,
                                                                  tmp_path):
    import ray

    c = cluster
    root = tmp_path / "c"
    catalogs.create(root, SHARDS, small_settings())
    a = connect(root, ray=c.address, settings=small_settings(), pin=True,
                make_embedder=WordHashEmbedder)
    report = a.ingest(articles)  # read, placed, compared, chunked, embedded by Ray Data
    counts = ("added", "updated", "unchanged", "passages")
    assert [getattr(report, k) for k in counts] == [getattr(serial.report, k) for k in counts]
    assert report.added == serial.stats()["articles"] and report.passages >= 17
    assert len(report.skipped) == len(serial.report.skipped) == 2  # the two repeats
    assert a.article("council-0") == serial.article("council-0")
    assert "Mill Road" in a.article("council-0").text  # the later copy kept
    assert catalogs.read(root).epoch.next_id == catalogs.read(serial.folder).epoch.next_id

    # An update keeps the stored vectors of the passages it keeps word for word, through the
    # pipeline as in the serial ingest; only its changed passage is embedded.
    changed = tmp_path / "changed.jsonl"
    changed.write_text(json.dumps({**LONG, "text": LONG["text"].replace("quay", "pier")}))
    reports = [a.ingest([changed]), serial.ingest([changed])]
    counts = ("updated", "passages", "reused")
    assert [[getattr(r, k) for k in counts] for r in reports] == [[1, 3, 2]] * 2, reports
    for shard in range(SHARDS):  # same ids and vectors in every shard
        ours, theirs = a.store.store(shard).view.dense, serial.store.store(shard).view.dense
        ids = np.sort(ours.ids())
        np.testing.assert_array_equal(ids, np.sort(theirs.ids()))
        np.testing.assert_array_equal(ours._index.reconstruct_batch(ids),
                                      theirs._index.reconstruct_batch(ids))
        assert ray.available_resources()[f"shard-{shard}"] == pytest.approx(0.99)
    for question, as_of in QUESTIONS:
        assert a.ask(question, k=5, as_of=as_of) == serial.ask(question, k=5, as_of=as_of)
    from assistant.cluster import health

    assert health.check(root, ray=c.address) == []  # check --ray: the actors answer too
    a.collection.shards.stop()  # gone by name before the next test starts


def test_a_shard_killed_under_load_gives_identical_answers_or_503(cluster, serial):
    c = cluster
    a = pinned(c, serial, timeout_s=10)
    expected = {q: serial.ask(q, k=5, as_of=d) for q, d in QUESTIONS}
    outcomes, stop = [], threading.Event()

    def load():
        while not stop.is_set():
            for q, d in QUESTIONS:
                try:
                    outcomes.append(a.ask(q, k=5, as_of=d) == expected[q])
                except ShardUnavailable as e:
                    outcomes.append(e.http_status)

    threads = [threading.Thread(target=load) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    import ray

    ray.kill(a.collection.shards.actors[1], no_restart=False)  # Ray restarts it
    time.sleep(4.0)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert outcomes and set(outcomes) <= {True, 503}
    assert True in outcomes[-4:]  # answering again after the restart
    a.collection.shards.stop()  # gone by name before the next test starts


def test_a_node_removed_with_a_spare_present_recovers(cluster, serial):
    c = cluster
    a = pinned(c, serial)
    question, as_of = QUESTIONS[0]
    expected = serial.ask(question, k=5, as_of=as_of)
    [leaving] = [name for name, node in c.nodes.items() if node.resource == "shard-1"]
    c.add("shard-1")  # the spare
    removed = time.perf_counter()
    c.remove(leaving)
    while True:
        try:
            answer = a.ask(question, k=5, as_of=as_of)
            break
        except ShardUnavailable:
            assert time.perf_counter() - removed < 60, "shard 1 never came back"
            time.sleep(0.1)
    print(f"recovered in {time.perf_counter() - removed:.2f} s")
    assert answer == expected
    a.collection.shards.stop()  # gone by name before the next test starts


def test_the_time_to_answer_again_after_a_shard_actor_is_killed(cluster, serial):
    from assistant.tools.cluster_bench import recovery_s

    c = cluster
    a = pinned(c, serial)
    question, as_of = QUESTIONS[0]
    before = a.collection.shards.call("ping", lambda i: ())
    took = recovery_s(a, question, as_of, shard=2)
    after = a.collection.shards.call("ping", lambda i: ())
    assert 0 < took < 60 and after[:2] == before[:2] and after[2] != before[2]
    assert a.ask(question, k=5, as_of=as_of) == serial.ask(question, k=5, as_of=as_of)
    a.collection.shards.stop()


def test_serve_with_two_replicas_answers_like_the_single_server(cluster, serial):
    """Ray Serve at the HTTP front only: 2 replicas of the server's app, each asking the
    shard actors; answers as the collection answers in one process; `cluster stop` deletes
    the app with the actors (its replicas would start them again by name); then deployed at 1
    replica by the cluster bench, which answers every request it sends."""
    import httpx
    from helpers import AUTH, TOKEN, free_port
    from ray import serve

    from assistant.cluster.ray_shards import (
        actor_name,
        app_name,
        named,
        stop_collection,
        writer_name,
    )
    from assistant.serving import ray_serve
    from assistant.serving.access import Access
    from assistant.tools.cluster_bench import http_rates

    c = cluster
    port = free_port()
    url = ray_serve.run(serial.folder, c.address, 2, port=port, access=Access(TOKEN),
                      settings=small_settings(), embedder=WordHashEmbedder())
    try:
        assert serve.status().applications[app_name(serial.folder)].deployments["front"] \
            .replica_states.get("RUNNING") == 2
        for question, as_of in QUESTIONS:
            params = {"q": question, "k": 5, **({"as_of": as_of} if as_of else {})}
            got = httpx.get(url + "api/ask", params=params, timeout=30)
            assert got.status_code == 200, got.text
            want = serial.answer(question, k=5, as_of=as_of).to_dict()
            assert got.json()["passages"] == want["passages"]
        stats = httpx.get(url + "api/stats", timeout=30)
        assert stats.status_code == 200, stats.text
        assert stats.json()["articles"] == serial.stats()["articles"]
        new = {"id": "notice-new", "title": "Quay notice", "date": "2025-04-30",
               "text": "The quay notice names the night ferry timetable."}
        added = httpx.post(url + "api/articles", json={"articles": [new]}, headers=AUTH,
                           timeout=60)  # to the collection's one writer actor
        assert added.status_code == 200 and added.json()["added"] == 1, added.text
        assert serial.article("notice-new").title == "Quay notice"
        assert named(writer_name(serial.folder)) is not None
        with catalogs.lock(serial.folder):  # another writer (a CLI ingest) holds the lock
            busy = httpx.post(url + "api/articles", json={"articles": [new]}, headers=AUTH,
                              timeout=60)
        assert busy.status_code == 409 and "being written" in busy.text, busy.text
        gone = httpx.delete(url + "api/articles/notice-new", headers=AUTH, timeout=60)
        assert gone.status_code == 200 and serial.article("notice-new") is None
        assert stop_collection(serial.folder, c.address) == (SHARDS + 1, True)  # and writer
        assert app_name(serial.folder) not in serve.status().applications
        assert [named(actor_name(serial.folder, i)) for i in range(SHARDS)] == [None] * SHARDS
        rates = http_rates(serial.folder, c.address, small_settings(), replicas=(1,),
                           clients=(2,), seconds=1.0, embedder=WordHashEmbedder(),
                           port=port)
        assert rates[0]["requests_per_s"] > 0 and rates[0]["ok"] == rates[0]["requests"]
    finally:
        serve.shutdown()


def test_a_write_meeting_a_dead_writer_actor_is_a_503_and_writes_nothing(cluster, tmp_path):
    from assistant.cluster.front import ClusterAssistant
    from assistant.cluster.ray_shards import RayShards, named, writer_name
    from assistant.cluster.writer import RemoteWriter
    from assistant.errors import WriterUnavailable

    root = tmp_path / "c"
    catalogs.create(root, 2, small_settings())
    writer = RemoteWriter(ClusterAssistant, root, small_settings(), WordHashEmbedder())
    new = {"id": "n1", "title": "Quay notice", "date": "2025-04-30", "text": "The quay opens."}
    assert writer.ingest_articles([make_article(**new)]).added == 1
    # Killed for good, and waited for until its name is free (it is dead): a call sent
    # before then may still run.
    RayShards([writer.actor], names=[writer_name(root)]).stop()
    assert named(writer_name(root)) is None
    with pytest.raises(WriterUnavailable) as refused:
        writer.delete(["n1"])
    assert refused.value.http_status == 503 and "again" in str(refused.value)
    assert connect(root, settings=small_settings()).article("n1") is not None  # not made


def test_every_command_with_ray_then_cluster_stop(cluster, tmp_path, capsys, monkeypatch):
    """ask, stats, check, eval and delete with --ray ADDRESS and a relative --index (the
    actors, whose working folder is not ours, get it absolute); `cluster stop` ends the
    collection's shard actors (detached: they outlive the processes that used them)."""
    import ray

    from assistant.cli.main import main
    from assistant.cluster.ray_shards import actor_name, named

    c = cluster
    set_dir, root = make_eval_set(tmp_path / "tiny"), tmp_path / "c"
    catalogs.create(root, SHARDS, small_settings())
    monkeypatch.chdir(tmp_path)
    on = ["--index", "c", "--ray", c.address]
    assert main(["stats", "--pin-shards", *on]) == 0 and capsys.readouterr()  # pinned actors
    assert all(ray.available_resources()[f"shard-{i}"] == pytest.approx(0.99)
               for i in range(SHARDS))
    connect(root, ray=c.address, settings=small_settings(), make_embedder=WordHashEmbedder
            ).ingest([DEMO, set_dir / "corpus.jsonl.gz"])
    assert main(["ask", CHESS, "--as-of", "2025-07-01", *on]) == 0
    assert "Amara Osei" in capsys.readouterr().out
    assert main(["stats", "--json", *on]) == 0
    assert json.loads(capsys.readouterr().out)["articles"] == 11
    assert main(["check", *on]) == 0 and "healthy" in capsys.readouterr().out
    assert main(["eval", str(set_dir), "--json", *on]) == 0  # the corpus is in: unchanged
    result = json.loads(capsys.readouterr().out)
    assert result["questions"] == 3 and result["passages_after_as_of"] == 0
    assert result["stages"]["keyword"]["R@20"] == pytest.approx(2 / 3, abs=0.001)
    assert main(["delete", "n3", *on]) == 0 and "deleted 1 of 1" in capsys.readouterr().out
    assert all(named(actor_name(root, i)) is not None for i in range(SHARDS))
    assert main(["cluster", "stop", *on]) == 0
    assert f"stopped {SHARDS} actors" in capsys.readouterr().out
    assert all(named(actor_name(root, i)) is None for i in range(SHARDS))
    assert main(["cluster", "stop", *on]) == 0 and "stopped 0" in capsys.readouterr().out
