"""The MCP server (agent_tools.py) through the SDK's own client: `assistant mcp` over stdio and
/mcp of `assistant serve` over streamable HTTP, each a real subprocess, over a small index of
articles written here (the stand-in embedder, no model), so no ../shared is needed."""
import json
import os
import shutil
import subprocess
import sys
from contextlib import asynccontextmanager
from datetime import date

import anyio
import httpx
import pytest
from helpers import (
    ROOT,
    free_port,
    small_settings,
    start_server,
    stop_server,
    wait_until_healthy,
)

TESTS = os.path.dirname(os.path.abspath(__file__))
TOKEN = "mcp-test-token"
AS_OF = "2024-03-15"
QUESTION = "Who is the new ferry captain?"
LONG_TEXT = " ".join(f"Paragraph {i} of the harbour history tells of boats and tides."
                     for i in range(700))  # ~45,000 characters: three parts of get_article
ARTICLES = [
    dict(id="ferry-1", title="Harbour ferry returns", date="2024-03-01", source="coast.example",
         url="https://coast.example/1", text="The harbour ferry returned on Friday after the "
         "storm. Its captain thanked the crew."),
    dict(id="ferry-2", title="Ferry operator names new captain", date="2024-03-08",
         source="coast.example", url="https://coast.example/2",
         text="The ferry operator named Ada Lovell as the new ferry captain."),
    dict(id="ferry-3", title="New ferry captain resigns", date="2024-04-02",
         source="news.example", url="https://news.example/3",
         text="Ada Lovell resigned as ferry captain; Bob Ray is the new ferry captain."),
    dict(id="history", title="A history of the harbour", date="2024-02-01",
         source="archive.example", url="https://archive.example/h", text=LONG_TEXT),
]
NEW = dict(id="ferry-4", title="Ferry fares fall", date="2024-03-10", source="coast.example",
           text="Ferry fares fall by a tenth from Monday.")  # what add_articles adds
# Runs the CLI with the stand-in embedder and no second stage, as conftest.py does in-process.
LAUNCH = f"""
import sys
sys.path[:0] = [{TESTS!r}, {str(ROOT)!r}]
from helpers import WordHashEmbedder, small_settings
import assistant.assistant
from assistant.embedding import embedder as embedding
small = WordHashEmbedder()
embedding.load_embedder = lambda model, *args, **kwargs: small
assistant.assistant.settings_for_index = lambda folder: small_settings()
from assistant.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    from assistant import Assistant
    from assistant.reading.articles import make_article

    folder = tmp_path_factory.mktemp("mcp") / "index"
    assistant = Assistant(folder, small_settings())
    assert assistant.ingest_articles([make_article(**a) for a in ARTICLES]).added == 4
    assistant.close()
    return folder


def test_the_assistant_reads_an_article_and_its_outlets(index):
    from assistant import Assistant

    assistant = Assistant(index, small_settings(), create=False)
    assert assistant.article("ferry-2").title == "Ferry operator names new captain"
    assert assistant.article("nope") is None
    assert assistant.outlets() == [
        {"outlet": "coast.example", "articles": 2, "oldest": "2024-03-01", "newest": "2024-03-08"},
        {"outlet": "archive.example", "articles": 1, "oldest": "2024-02-01",
         "newest": "2024-02-01"},
        {"outlet": "news.example", "articles": 1, "oldest": "2024-04-02", "newest": "2024-04-02"}]


def test_a_long_search_result_is_cut_with_a_note_in_rank_order(index):
    from assistant import Assistant
    from assistant.serving.agent_tools import search_result

    answer = Assistant(index, small_settings(), create=False).answer(
        "harbour history boats tides", k=20, as_of=AS_OF)
    pieces = [x for p in answer.passages for x in (p, *p.more)]  # with the folded ones
    whole = search_result(answer, None, [], limit=10**6)
    assert "note" not in whole
    assert sum(1 + len(p["more"]) for p in whole["passages"]) == len(pieces) > 20
    cut = search_result(answer, None, [], limit=2_500)
    kept = [x["text"] for p in cut["passages"] for x in (p, *p["more"])]
    assert kept == [x.text for x in pieces[:len(kept)]] and 0 < len(kept) < len(pieces)
    assert sum(map(len, kept)) <= 2_500
    assert cut["note"].startswith(f"cut: {len(pieces) - len(kept)} passages left out")


# -- the client side ----------------------------------------------------------------------------

@asynccontextmanager
async def stdio_session(index, *flags):
    from mcp import ClientSession, StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=[
        "-c", LAUNCH, "mcp", "--index", str(index), *flags], env=dict(os.environ))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@asynccontextmanager
async def http_session(url, token=None):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with create_mcp_http_client(headers=headers) as http, \
            streamable_http_client(f"{url}/mcp", http_client=http) as (read, write), \
            ClientSession(read, write) as session:
        await session.initialize()
        yield session


async def call(session, tool, **arguments) -> tuple[bool, object]:
    """(is_error, the JSON result or the error's text)."""
    result = await session.call_tool(tool, arguments)
    text = result.content[0].text
    return result.is_error, (text if result.is_error else json.loads(text))


def expected_answer(index, **kwargs) -> dict:
    """What Assistant.answer gives for QUESTION, in search_news's terms."""
    from assistant import Assistant
    from assistant.serving.agent_tools import search_result

    assistant = Assistant(index, small_settings(), create=False)
    return search_result(assistant.answer(QUESTION, **kwargs), None, [])


# -- stdio --------------------------------------------------------------------------------------

@pytest.mark.slow
def test_stdio_tools_answer_as_the_assistant_does_and_refuse_bad_calls(index):
    from mcp import MCPError

    async def run():
        async with stdio_session(index) as s:
            tools = (await s.list_tools()).tools
            assert {t.name for t in tools} == {"search_news", "get_article", "list_sources",
                                               "collection_stats"}  # read-only: no writes
            search = next(t for t in tools if t.name == "search_news")
            assert "as_of" in search.input_schema["properties"]
            assert "on or before" in search.description

            error, found = await call(s, "search_news", query=QUESTION, k=4, as_of=AS_OF)
            assert not error and found["as_of"] == AS_OF
            assert found["passages"] and all(p["date"] <= AS_OF for p in found["passages"])
            assert found == expected_answer(index, k=4, as_of=AS_OF)
            assert found["lead"]["text"] == "The ferry operator named Ada Lovell as the new " \
                                            "ferry captain."
            error, today = await call(s, "search_news", query=QUESTION)
            assert today["as_of"] == date.today().isoformat()
            assert "ferry-3" in {p["article_id"] for p in today["passages"]}

            for bad, words in [(dict(as_of="2024-02-30"), "as_of"), (dict(since="March"), "since"),
                               (dict(k=0), "k must be"), (dict(k=101), "k must be"),
                               (dict(sources=["nowhere.example"]), "no article comes from")]:
                error, message = await call(s, "search_news", query=QUESTION, **bad)
                assert error and words in message, (bad, message)

            error, article = await call(s, "get_article", article_id="ferry-2")
            assert article["text"] == ARTICLES[1]["text"] and article["next_offset"] is None
            assert article["outlet"] == "coast.example" and "note" not in article
            error, part = await call(s, "get_article", article_id="history")
            assert part["next_offset"] == 20_000 and "offset=20000" in part["note"]
            error, rest = await call(s, "get_article", article_id="history", offset=40_000)
            assert part["text"] + rest["text"] != LONG_TEXT and rest["next_offset"] is None
            assert LONG_TEXT.endswith(rest["text"])
            error, message = await call(s, "get_article", article_id="nope")
            assert error and "no article has the id 'nope'" in message
            error, message = await call(s, "get_article", article_id="ferry-1", offset=10_000)
            assert error and "offset must be from 0 to" in message

            error, sources = await call(s, "list_sources")
            assert sources["total"] == 3 and sources["sources"][0]["articles"] == 2
            error, stats = await call(s, "collection_stats")
            assert (stats["articles"], stats["outlets"]) == (4, 3)
            assert (stats["oldest"], stats["newest"]) == ("2024-02-01", "2024-04-02")

            templates = (await s.list_resource_templates()).resource_templates
            assert [t.uri_template for t in templates] == ["article://{article_id}"]
            resource = await s.read_resource("article://ferry-2")
            assert ARTICLES[1]["text"] in resource.contents[0].text
            with pytest.raises(MCPError, match="no article has the id 'nope'"):
                await s.read_resource("article://nope")

            error, message = await call(s, "add_articles", articles=[ARTICLES[0]])
            assert error  # not offered read-only
            assert not (await call(s, "list_sources"))[0]  # still serving after every error

    anyio.run(run)


@pytest.mark.slow
def test_stdio_adds_articles_only_with_allow_writes(index, tmp_path):
    copy = shutil.copytree(index, tmp_path / "index")

    async def run():
        async with stdio_session(copy, "--allow-writes") as s:
            assert "add_articles" in {t.name for t in (await s.list_tools()).tools}
            error, report = await call(s, "add_articles", articles=[NEW])
            assert not error and report["added"] == 1
            error, message = await call(s, "add_articles", articles=[{**NEW, "date": "soon"}])
            assert error and "articles:1" in message and "date" in message
            error, found = await call(s, "search_news", query="ferry fares", as_of=AS_OF)
            assert found["passages"][0]["article_id"] == "ferry-4"

    anyio.run(run)


def test_a_missing_index_is_the_same_clear_error_as_other_readers(tmp_path):
    done = subprocess.run([sys.executable, "-m", "assistant", "mcp", "--index",
                           str(tmp_path / "none")], capture_output=True, text=True, cwd=ROOT,
                          timeout=60, check=False)
    assert done.returncode == 2 and "there is no index at" in done.stderr
    assert not (tmp_path / "none").exists()


# -- streamable HTTP, mounted by `assistant serve` ------------------------------------------------

@pytest.fixture()
def served(index, tmp_path):
    """`assistant serve --token TOKEN` over a copy of the index: its URL, once it answers."""
    copy = shutil.copytree(index, tmp_path / "index")
    port = free_port()
    log = tmp_path / "serve.log"
    server = subprocess.Popen([sys.executable, "-c", LAUNCH, "serve", "--index", str(copy),
                               "--port", str(port), "--token", TOKEN],
                              stdout=subprocess.DEVNULL, stderr=log.open("w"))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(server, url, 120, log)
        yield url, copy
    finally:
        stop_server(server, 30)


@pytest.mark.slow
def test_http_mcp_answers_and_needs_the_token_to_write(served):
    url, copy = served

    async def run():
        async with http_session(url) as s:
            assert "add_articles" in {t.name for t in (await s.list_tools()).tools}
            error, found = await call(s, "search_news", query=QUESTION, k=4, as_of=AS_OF)
            assert not error and all(p["date"] <= AS_OF for p in found["passages"])
            assert found == expected_answer(copy, k=4, as_of=AS_OF)
            error, message = await call(s, "search_news", query=QUESTION, as_of="yesterday")
            assert error and "as_of" in message
            error, message = await call(s, "add_articles", articles=[NEW])
            assert error and "Authorization: Bearer" in message
        async with http_session(url, "wrong-token") as s:
            assert (await call(s, "add_articles", articles=[NEW]))[0]
        async with http_session(url, TOKEN) as s:
            error, report = await call(s, "add_articles", articles=[NEW])
            assert not error and report["added"] == 1
            error, stats = await call(s, "collection_stats")
            assert stats["articles"] == 5

    anyio.run(run)


@pytest.mark.slow
def test_http_mcp_with_no_token_takes_writes_and_keeps_the_host_rule(index, tmp_path):
    from assistant.serving.access import Access

    copy = shutil.copytree(index, tmp_path / "index")
    url, stop = start_server(copy, access=Access(None), settings=small_settings())

    async def run():
        async with http_session(url) as s:
            error, report = await call(s, "add_articles", articles=[NEW])
            assert not error and report["added"] == 1

    try:
        anyio.run(run)
        foreign = httpx.post(f"{url}/mcp", headers={"Host": "rebind.example"}, json={})
        assert foreign.status_code == 403 and "Host" in foreign.json()["error"]
    finally:
        stop()
