"""Every command and agent tool works on a sharded collection as on one index: ask, stats,
check, delete and eval from the command line; article and outlets read from the shards (the
MCP tools get_article, list_sources and collection_stats over them). Shards run in this
process here; test_ray_commands.py runs the same commands with --ray."""
import json

import anyio
import pytest
from helpers import DEMO, make_eval_set, small_settings

from assistant import Assistant
from assistant.cluster import catalog as catalogs, eval_opener
from assistant.cluster.front import ClusterAssistant
from assistant.tools.evaluate import run_eval

# Two outlets across many articles: an outlet's count and dates are summed over shards.
MORE = [{"id": f"notice-{i}", "title": f"Harbour notice {i}", "date": f"2025-0{i % 9 + 1}-0{i % 7 + 1}",
         "source": f"town{i % 2}.example", "url": f"https://town.example/{i}",
         "text": f"Harbour notice {i}: the ferry timetable changes on Mill Lane quay."}
        for i in range(12)]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(one index, a 3-shard collection) of the same articles."""
    folder = tmp_path_factory.mktemp("pair")
    more = folder / "more.jsonl"
    more.write_text("".join(json.dumps(a) + "\n" for a in MORE))
    single = Assistant(folder / "single", small_settings())
    single.ingest([DEMO, more])
    catalogs.create(folder / "sharded", 3, small_settings())
    sharded = ClusterAssistant(folder / "sharded", small_settings())
    sharded.ingest([DEMO, more])
    yield single, sharded
    single.close()
    sharded.close()


def test_article_and_outlets_read_the_shards_as_one_index(pair):
    single, sharded = pair
    ids = [p.article_id for p in single.ask("harbour notice ferry", k=20)]
    assert len(set(ids)) >= 8 and {catalogs.shard_of(i, 3) for i in ids} == {0, 1, 2}
    for article_id in ids:
        assert sharded.article(article_id) == single.article(article_id) is not None
    assert sharded.article("nothing-such") is None
    outlets = sharded.outlets()
    assert outlets == single.outlets()
    assert {o["outlet"]: o["articles"] for o in outlets}["town0.example"] == 6


def call(server, tool: str, **arguments) -> dict:
    result = anyio.run(server.call_tool, tool, arguments)
    assert not result.is_error, result.content
    return json.loads(result.content[0].text)


def test_the_agent_tools_answer_over_a_collection(pair):
    from assistant.serving.agent_tools import build_mcp

    single, sharded = pair
    ours, theirs = build_mcp(sharded), build_mcp(single)
    for tool, arguments in [("get_article", {"article_id": "notice-3"}),
                            ("list_sources", {}), ("collection_stats", {})]:
        got = call(ours, tool, **arguments)
        assert got == call(theirs, tool, **arguments), tool
    assert call(ours, "get_article", article_id="notice-3")["title"] == "Harbour notice 3"
    assert call(ours, "collection_stats")["articles"] == len(MORE) + 8


@pytest.mark.slow
def test_eval_on_a_collection_measures_as_on_one_index(tmp_path):
    set_dir = make_eval_set(tmp_path / "tiny")
    one = run_eval(set_dir, index=tmp_path / "single", settings=small_settings())
    catalogs.create(tmp_path / "c", 2, small_settings())
    many = run_eval(set_dir, index=tmp_path / "c", settings=small_settings(),
                    open_index=eval_opener(tmp_path / "c"))
    assert many["ingest"]["passages"] == one["ingest"]["passages"] == 3
    figures = ("R@1", "R@5", "R@10", "R@20", "MRR@10", "MC")
    for stage, found in one["stages"].items():
        assert {m: many["stages"][stage][m] for m in figures} == \
            {m: found[m] for m in figures}, stage
    assert many["answers"] == one["answers"] and many["passages_after_as_of"] == 0
    assert one["stages"]["shipped"]["R@1"] == pytest.approx(2 / 3, abs=0.001)


def test_eval_on_a_collection_refuses_what_would_delete_it(tmp_path, capsys):
    from assistant.cli.main import main

    set_dir = make_eval_set(tmp_path / "tiny")
    catalogs.create(tmp_path / "c", 2, small_settings())
    assert main(["eval", str(set_dir), "--index", str(tmp_path / "c"), "--rebuild"]) == 2
    assert "cluster init" in capsys.readouterr().err
    assert catalogs.is_collection(tmp_path / "c")
    assert main(["eval", str(set_dir), "--ray", "local"]) == 2  # before Ray starts
    assert "needs --index" in capsys.readouterr().err


def test_every_command_works_on_a_collection(tmp_path, capsys):
    from assistant.cli.main import main

    root = tmp_path / "c"
    assert main(["cluster", "init", "--index", str(tmp_path / "real"), "--shards", "3"]) == 0
    assert catalogs.read(tmp_path / "real").shards == 3
    catalogs.create(root, 2, small_settings())
    assert main(["ingest", str(DEMO), "--index", str(root), "--quiet"]) == 0
    assert "added 8" in capsys.readouterr().out
    assert main(["ask", "Who won the Northern Open chess championship?", "--index", str(root),
                 "--as-of", "2025-07-01"]) == 0
    assert "Amara Osei" in capsys.readouterr().out
    assert main(["stats", "--json", "--index", str(root)]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["articles"] == 8 and len(stats["shards"]) == 2
    assert main(["check", "--index", str(root)]) == 0
    assert "healthy" in capsys.readouterr().out
    chess = ClusterAssistant(root).ask("chess championship")[0].article_id
    assert main(["delete", chess, "--index", str(root)]) == 0
    assert "deleted 1 of 1" in capsys.readouterr().out
    assert ClusterAssistant(root).stats()["articles"] == 7


def test_a_servers_writes_go_to_the_shards(tmp_path):
    """server.Shared's write handle over a collection is the collection's writer, never a
    single index made beside the shards (the root's database keeps the server's feeds)."""
    from assistant.reading.articles import make_article
    from assistant.serving.server import Shared

    catalogs.create(tmp_path / "c", 2, small_settings())
    shared = Shared(ClusterAssistant(tmp_path / "c", small_settings()))
    new = make_article(id="ferry-9", title="Night ferry returns", date="2025-05-01",
                       text="The night ferry to Valmora returns in May.", source="port.example")
    assert shared.ingest_articles([new]).added == 1
    assert shared.ask("night ferry Valmora")[0].article_id == "ferry-9"
    assert shared.stats()["articles"] == 1 and shared.outlets()[0]["outlet"] == "port.example"
    assert shared.delete(["ferry-9"]) == 1 and shared.stats()["articles"] == 0
    assert not stored_tables(tmp_path / "c") & {"articles", "passages"}  # feeds' tables only


def stored_tables(folder) -> set[str]:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(folder / "assistant.sqlite")) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


FEED = "https://news.example/rss.xml"


def test_feeds_add_on_a_collection_keeps_the_feed_in_its_root_and_makes_no_index(tmp_path,
                                                                                   capsys):
    """The bug of issue 24: `feeds add --index COLLECTION` exited 0 and made an ordinary
    index (articles and passages tables) in the collection's root."""
    from assistant.cli.main import main

    root = tmp_path / "c"
    catalogs.create(root, 2, small_settings())
    assert main(["feeds", "add", FEED, "--index", str(root)]) == 0
    assert f"following {FEED}" in capsys.readouterr().out
    assert not stored_tables(root) & {"articles", "passages"}  # feeds' tables only
    assert not (root / "manifest.json").exists()
    assert main(["feeds", "list", "--json", "--index", str(root)]) == 0
    assert [f["url"] for f in json.loads(capsys.readouterr().out)] == [FEED]
    feeds = ClusterAssistant(root, small_settings()).feeds  # the one feeds API, as the CLI's
    assert [f.url for f in feeds.list()] == [FEED]
    feeds.close()
    assert main(["feeds", "remove", FEED, "--index", str(root)]) == 0
    assert catalogs.read(root).shards == 2


def command_lines(root, work) -> list[tuple[list[str], int, str]]:
    """Each of the 17 commands (`assistant --help`) on `root`: (argv, exit code, words of
    what it prints). Commands that make no sense on a collection refuse, saying why."""
    index = ["--index", str(root)]
    return [
        (["cluster", "init", "--shards", "2", *index], 2, "already holds"),
        (["cluster", "stop", *index], 2, "needs --ray"),
        (["ingest", str(DEMO), "--quiet", *index], 0, "added 8"),
        (["ask", "Who won the Northern Open chess championship?", "--as-of", "2025-07-01",
          *index], 0, "Amara Osei"),
        (["ask", "chess", "--source", "nowhere.example", *index], 2,
         "no article comes from 'nowhere.example'"),
        (["stats", "--json", *index], 0, '"articles": 8'),
        (["check", *index], 0, "healthy"),
        (["delete", "nothing-such", *index], 1, "deleted 0 of 1"),
        (["compact", *index], 0, "dropped 0"),
        (["eval", str(work), "--rebuild", *index], 2, "cluster init"),
        (["train-ranker", str(work), "--out", str(work / "r.txt"), *index], 2,
         "not a sharded collection"),
        (["train-reranker", str(work), "--out", str(work / "r"), *index], 2,
         "not a sharded collection"),
        (["tune", str(work), *index], 2, "not a sharded collection"),
        (["mcp", *index], 0, "ClusterAssistant"),
        (["serve", *index], 0, "ClusterAssistant"),
        (["watch", str(work), "--settle", "0.1", *index], 0, "ClusterAssistant"),
        (["follow", *index], 2, "no feeds are followed"),
        (["feeds", "add", FEED, *index], 0, "following"),
        (["feeds", "list", *index], 0, FEED),
    ]


@pytest.fixture()
def opened(monkeypatch, capsys):
    """serve, mcp and watch run until stopped: here they print what they were given."""
    import assistant.live.watching
    import assistant.serving.agent_stdio
    import assistant.serving.server

    def show(assistant, *args, **kwargs):
        print(type(assistant).__name__)

    for module, name in [(assistant.serving.server, "serve"),
                         (assistant.serving.agent_stdio, "run_stdio"),
                         (assistant.live.watching, "watch")]:
        monkeypatch.setattr(module, name, show)


def test_all_17_commands_on_a_collection_work_or_refuse_and_never_write_a_stray_index(
        tmp_path, capsys, opened):
    from assistant.cli.main import build_parser, main

    root, work = tmp_path / "c", tmp_path / "work"
    work.mkdir()
    catalogs.create(root, 2, small_settings())
    lines = command_lines(root, work)
    commands = set(build_parser()._subparsers._group_actions[0].choices)
    assert len(commands) == 17 and commands == {argv[0] for argv, *_ in lines} | {"bench"}
    for argv, code, words in lines:
        assert main(argv) == code, argv
        out = capsys.readouterr()
        assert words in out.out + out.err, (argv, out)
        assert catalogs.read(root).shards == 2, argv
        assert not stored_tables(root) & {"articles", "passages"}, argv
        assert not (root / "manifest.json").exists(), argv
    with pytest.raises(SystemExit) as bench:  # bench makes its own index; it takes no --index
        main(["bench", "--index", str(root)])
    assert bench.value.code == 2


# The commands that add articles (ingest, follow FEED_URL, watch, serve) and `cluster init`
# make what is missing; every other command, given a folder without an index, says so.
MISSING = [["ask", "chess"], ["ask"], ["delete", "x"], ["compact"], ["stats"], ["check"],
           ["mcp"], ["feeds", "list"], ["feeds", "add", FEED], ["feeds", "remove", "1"],
           ["follow"], ["eval", "{set}"], ["train-ranker", "{set}", "--out", "{set}/o"],
           ["train-reranker", "{set}", "--out", "{set}/o"], ["tune", "{set}"],
           ["cluster", "stop"]]


@pytest.mark.parametrize("argv", MISSING, ids=" ".join)
def test_a_command_on_a_missing_folder_says_so_and_makes_nothing(tmp_path, capsys, opened,
                                                                  argv):
    from assistant.cli.main import main

    missing, no_set = tmp_path / "missing", tmp_path / "no-set"
    argv = [a.replace("{set}", str(no_set)) for a in argv]
    assert main([*argv, "--index", str(missing)]) != 0
    said = capsys.readouterr().err
    assert said.startswith("assistant: ") and ("no index at" in said or "no such set" in said
                                               or "needs --ray" in said), said
    assert not missing.exists() and not no_set.exists()


def test_a_ray_address_where_nothing_listens_is_named_at_once(tmp_path, capsys):
    """Ray's own client would retry there for minutes, logging, before it failed."""
    from helpers import free_port

    from assistant.cli.main import main

    catalogs.create(tmp_path / "c", 2, small_settings())
    address = f"127.0.0.1:{free_port()}"
    assert main(["ask", "chess", "--index", str(tmp_path / "c"), "--ray", address]) != 0
    said = capsys.readouterr().err
    assert said.startswith(f"assistant: no Ray cluster answers at {address}") and \
        "ray start --head" in said, said
