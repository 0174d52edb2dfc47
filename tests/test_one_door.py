"""One door: the same questions asked through Python (`Assistant.answer`), the command line
(`ask --json`), HTTP (`/api/ask`), the chat's API (`/ask`, gradio_client) and MCP
(`search_news` at /mcp) get the same passages in the same order and echo the same as_of, and
each edge refuses a since after as_of and an unknown outlet with the same message: every rule
is `Assistant.query`'s, and the edges only translate. One server, one small index written here.
"""
import json
import subprocess
import sys
from contextlib import asynccontextmanager
from datetime import date, timedelta

import anyio
import gradio  # noqa: F401 (at collection, once a process: the web stack's 3-4 s are no test's)
import pytest
from helpers import small_settings, start_server

from assistant import Answer, Assistant, connect
from assistant.errors import BadQuery, UnknownSource
from assistant.reading.articles import make_article

LATER = (date.today() + timedelta(days=30)).isoformat()  # a page dated ahead of its day
ARTICLES = [
    ("f1", "Valmora ferry strike begins", "2025-02-03", "port.example",
     "Ferry crews at Valmora harbour began a strike over pay on Monday."),
    ("f2", "Ferry strike talks stall", "2025-03-10", "port.example",
     "Talks to end the Valmora ferry strike stalled as the harbour stayed shut."),
    ("f3", "Islanders hit by ferry strike", "2025-03-12", "isles.example",
     "Islanders said the ferry strike left shops at Valmora short of bread."),
    ("f4", "Ferry strike ends with pay deal", "2025-05-20", "port.example",
     "The Valmora ferry strike ended after crews accepted a pay deal."),
    ("f5", "Harbour festival returns", "2025-07-01", "isles.example",
     "The Valmora harbour festival returned with ferry rides for children."),
    ("f6", "Ferry strike called again", LATER, "port.example",
     "Valmora ferry crews called a new strike, the page says, ahead of its own date."),
]
QUESTION = "Valmora ferry strike"
# (filters): none (as_of defaults to today: f6 never shows), a past as_of, every filter.
ASKED = [{}, {"as_of": "2025-03-11"}, {"since": "2025-03-01", "sources": ["port.example"],
                                        "k": 2, "as_of": "2025-12-31"}]
SINCE_AFTER = {"as_of": "2025-03-01", "since": "2025-04-01"}
UNKNOWN = {"sources": ["nowhere.example"]}


@pytest.fixture(scope="module")
def door(tmp_path_factory):
    """(index folder, server URL): the server answers HTTP, the chat and MCP; the command line
    opens the folder with the same settings."""
    folder = tmp_path_factory.mktemp("door") / "index"
    writer = Assistant(folder, small_settings())
    writer.ingest_articles([make_article(id=i, title=t, date=d, source=s, text=x,
                                         url=f"https://{s}/{i}") for i, t, d, s, x in ARTICLES])
    writer.close()
    patch = pytest.MonkeyPatch()  # the command line opens it as the server does
    patch.setattr("assistant.assistant.settings_for_index", lambda folder: small_settings())
    url, stop = start_server(folder, settings=small_settings())
    yield folder, url
    stop()
    patch.undo()


def python(folder, url, **asked) -> dict:
    try:
        return Assistant(folder, small_settings()).answer(QUESTION, **asked).to_dict()
    except BadQuery as e:
        return {"error": str(e)}


def cli(folder, url, **asked) -> dict:
    from assistant.cli.main import main

    flags = [f"--{name.replace('_', '-')}={value}" for name, value in asked.items()
             if name != "sources"] + [f"--source={s}" for s in asked.get("sources", [])]
    out = Captured()
    with out:
        code = main(["ask", QUESTION, "--json", "--index", str(folder), *flags])
    if code:
        assert code == 2 and out.err.startswith("assistant: ")
        return {"error": out.err.removeprefix("assistant: ").strip()}
    return json.loads(out.out)


def http(folder, url, **asked) -> dict:
    import httpx

    response = httpx.get(f"{url}/api/ask", params={"q": QUESTION, **asked}, timeout=60)
    assert response.status_code in (200, 400)
    return response.json()


def chat(folder, url, **asked) -> dict:
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=False, analytics_enabled=False)
    try:
        return client.predict(QUESTION, asked.get("as_of"), asked.get("since"),
                              asked.get("sources", []), asked.get("k", 5), api_name="/ask")
    except Exception as e:  # noqa: BLE001 (gradio_client's AppError carries the gr.Error's message)
        return {"error": str(e)}


def mcp(folder, url, **asked) -> dict:
    async def run():
        async with mcp_session(url) as session:
            result = await session.call_tool("search_news", {"query": QUESTION, **asked})
        text = result.content[0].text
        return {"error": text} if result.is_error else json.loads(text)

    return anyio.run(run)


@asynccontextmanager
async def mcp_session(url):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    async with create_mcp_http_client() as client, \
            streamable_http_client(f"{url}/mcp", http_client=client) as (read, write), \
            ClientSession(read, write) as session:
        await session.initialize()
        yield session


class Captured:
    """stdout and stderr of an in-process command, as text."""

    def __enter__(self):
        import io

        self.saved, self.streams = (sys.stdout, sys.stderr), (io.StringIO(), io.StringIO())
        sys.stdout, sys.stderr = self.streams
        return self

    def __exit__(self, *exc):
        sys.stdout, sys.stderr = self.saved
        self.out, self.err = (s.getvalue() for s in self.streams)


EDGES = {"python": python, "cli": cli, "http": http, "chat": chat, "mcp": mcp}


def seen(answer: dict) -> tuple:
    """What must be the same at every edge: the as_of echoed, the passages in order."""
    return answer["as_of"], [(p["article_id"], p["url"]) for p in answer["passages"]]


@pytest.mark.parametrize("asked", ASKED, ids=["no-filters", "as-of", "every-filter"])
def test_every_edge_gets_the_same_passages_and_as_of(door, asked):
    answers = {name: edge(*door, **asked) for name, edge in EDGES.items()}
    expected = seen(answers.pop("python"))
    for name, answer in answers.items():
        assert "error" not in answer, (name, answer)
        assert seen(answer) == expected, name
    as_of, passages = expected
    assert as_of == asked.get("as_of", Assistant.default_as_of())  # the one default, echoed
    assert passages and "f6" not in {i for i, _ in passages}  # never before its date
    if "sources" in asked:
        assert {i for i, _ in passages} <= {"f2", "f4"}


@pytest.mark.parametrize("asked, words", [(SINCE_AFTER, "is after the as_of"),
                                          (UNKNOWN, "no article comes from 'nowhere.example'")],
                         ids=["since-after-as-of", "unknown-outlet"])
def test_every_edge_refuses_with_the_same_message(door, asked, words):
    message = python(*door, **asked)["error"]
    assert words in message
    if asked is UNKNOWN:
        assert message.endswith("the outlets are isles.example, port.example")
        with pytest.raises(UnknownSource):
            Assistant(door[0], small_settings()).answer(QUESTION, **asked)
    for name, edge in EDGES.items():
        got = edge(*door, **asked)["error"]
        assert message in got, (name, got)


def test_the_front_door_imports_no_web_stack():
    """`from assistant import Assistant, Answer, connect` works and loads no server package:
    a script, a notebook or the command line's --help start fast."""
    code = ("import sys; import assistant; from assistant import Answer, Assistant, connect; "
            "assert {'Answer', 'Assistant', 'connect'} <= set(assistant.__all__); "
            "print(sorted({'gradio', 'fastapi', 'uvicorn', 'starlette', 'gradio_client'} "
            "& set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_connect_opens_an_index_and_refuses_a_missing_folder(door, tmp_path):
    from assistant.errors import NoIndex

    opened = connect(door[0], settings=small_settings())
    assert isinstance(opened, Assistant) and isinstance(opened.answer(QUESTION), Answer)
    with pytest.raises(NoIndex):
        connect(tmp_path / "missing")
    assert not (tmp_path / "missing").exists()
