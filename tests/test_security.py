"""Who may reach and write to the server: the token, the Host header, cross-site writes, CORS,
the catch-all error, and the chat's program API; real servers on 127.0.0.1 over the small
demo index, and one `assistant serve` process over the real one."""
import json
import os
import subprocess
import sys

import gradio  # noqa: F401 (at collection, once a process: the web stack's 3-4 s are no test's)
import httpx
import pytest
from helpers import (
    AUTH,
    CHESS,
    ROOT,
    TOKEN,
    free_port,
    small_settings,
    start_server,
    stop_server,
)

from assistant.embedding.model_files import ModelNotFound
from assistant.errors import BadQuery, IndexBusy, IndexDamaged
from assistant.serving.access import Access, bearer, cross_site, host_name, without_token
from assistant.serving.server import home_url, server_token

FRIEND = "https://friend.example"
EVIL = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
ARTICLE = {"title": "Night ferry added", "date": "2025-05-02", "text": "A night ferry sails."}


# -- the rules, as pure functions ------------------------------------------------------------

@pytest.mark.parametrize("given, environ, no_token, expected", [
    ("t", {"ASSISTANT_TOKEN": "e"}, False, "t"),
    (None, {"ASSISTANT_TOKEN": "e"}, False, "e"),
    (None, {"ASSISTANT_TOKEN": "e"}, True, None),
])
def test_server_token(given, environ, no_token, expected):
    assert server_token(given, environ, no_token) == expected


def test_without_a_token_each_start_makes_a_new_one():
    first, second = server_token(None, {}), server_token(None, {})
    assert first != second and len(first) >= 40


@pytest.mark.parametrize("host, expected", [
    ("127.0.0.1", "http://127.0.0.1:7860/"), ("0.0.0.0", "http://127.0.0.1:7860/"),
    ("::", "http://127.0.0.1:7860/"), ("::1", "http://[::1]:7860/"),
    ("news.lan", "http://news.lan:7860/")])
def test_home_url(host, expected):
    assert home_url(host, 7860) == expected


@pytest.mark.parametrize("header, expected", [
    ("127.0.0.1:7860", "127.0.0.1"), ("LocalHost:80", "localhost"), ("[::1]:7860", "::1"),
    ("::1", "::1"), ("evil.example", "evil.example"), ("", "")])
def test_host_name(header, expected):
    assert host_name(header) == expected


@pytest.mark.parametrize("header, expected", [
    ("Bearer abc", "abc"), ("bEaReR abc", "abc"), ("Basic abc", None), ("Bearer ", None),
    ("abc", None), (None, None)])
def test_bearer(header, expected):
    assert bearer(header) == expected


@pytest.mark.parametrize("method, origin, fetch_site, refused", [
    ("POST", None, None, False),  # a program: curl, httpx, gradio_client
    ("POST", "http://127.0.0.1:7860", "same-origin", False),  # the chat page itself
    ("POST", "http://127.0.0.1:7860", None, False),
    ("DELETE", "http://evil.example", None, True),
    ("POST", None, "cross-site", True),
    ("POST", "http://localhost:3000", "same-site", True),  # another port is another origin
    ("POST", "null", None, True),
    ("POST", FRIEND, "cross-site", False),  # listed with --allow-origin
    ("GET", "http://evil.example", "cross-site", False),  # reads stay open
])
def test_cross_site(method, origin, fetch_site, refused):
    assert cross_site(method, "127.0.0.1:7860", origin, fetch_site,
                      frozenset({FRIEND})) is refused


def test_without_token():
    assert without_token("/", "token=abc&x=1") == "/?x=1"
    assert without_token("/", "token=abc") == "/"


def test_access_answers_to_local_names_the_host_given_and_those_allowed():
    access = Access.for_server("t", "0.0.0.0", ["News.LAN"], [FRIEND + "/"])
    assert access.hosts == {"127.0.0.1", "localhost", "::1", "0.0.0.0", "news.lan"}
    assert access.origins == {FRIEND}
    assert access.cookie != Access.for_server("u").cookie  # one cookie a server


# -- a live server with a token --------------------------------------------------------------

@pytest.fixture(scope="module")
def url(served_index):
    url, stop = start_server(served_index, Access.for_server(TOKEN, allow_hosts=["news.lan"],
                                                             allow_origins=[FRIEND]),
                             small_settings())
    yield url
    stop()


@pytest.fixture(scope="module")
def open_url(served_index):
    """The same index served with --no-token."""
    url, stop = start_server(served_index, Access.for_server(None), small_settings())
    yield url
    stop()


def articles(url) -> int:
    return httpx.get(f"{url}/api/stats").json()["articles"]


@pytest.mark.slow
def test_serve_prints_a_url_with_a_fresh_token_that_writes_need_and_clears_uploads(demo_copy):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "ASSISTANT_TOKEN"}
    leftover = demo_copy / "uploads" / "0123456789abcdef"  # of a server killed mid-upload
    leftover.mkdir(parents=True)
    (leftover / "bomb.jsonl.gz").write_bytes(b"x")
    server = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--index",
                               str(demo_copy), "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = server.stdout.readline()
        assert f"open http://127.0.0.1:{port}/?token=" in first, server.stderr.read()[-2000:]
        token = first.split("?token=")[1].split()[0]
        assert not leftover.exists()
        base = f"http://127.0.0.1:{port}"
        body = {"articles": [ARTICLE]}
        assert httpx.post(f"{base}/api/articles", json=body).status_code == 401
        added = httpx.post(f"{base}/api/articles", json=body,
                           headers={"Authorization": f"Bearer {token}"}, timeout=60)
        assert added.json()["added"] == 1
    finally:
        stop_server(server, 30)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:7860", "127.0.0.1.nip.io"])
def test_a_foreign_host_header_gets_403_json(url, host):
    for response in (httpx.get(f"{url}/api/ask", params={"q": CHESS}, headers={"Host": host}),
                     httpx.get(f"{url}/", headers={"Host": host}),
                     httpx.post(f"{url}/api/articles", json={"articles": []},
                                headers={**AUTH, "Host": host})):
        assert response.status_code == 403 and "--allow-host" in response.json()["error"]


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST", "[::1]", "news.lan"])
def test_local_names_and_allowed_hosts_are_answered(url, host):
    port = url.rsplit(":", 1)[1]
    response = httpx.get(f"{url}/api/health", headers={"Host": f"{host}:{port}"})
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("query, cookie", [(f"?token={TOKEN}", None), ("", TOKEN)])
def test_the_api_never_takes_the_token_from_a_query_or_a_cookie(url, query, cookie):
    from assistant.serving.access import Access

    cookies = {Access(TOKEN).cookie: cookie} if cookie else {}
    response = httpx.post(f"{url}/api/articles{query}", json={"articles": [ARTICLE]},
                          cookies=cookies)
    assert response.status_code == 401


def test_opening_the_printed_url_gives_the_page_a_cookie_and_drops_the_token(url):
    opened = httpx.get(f"{url}/?token={TOKEN}")
    assert opened.status_code == 303 and opened.headers["location"] == "/"
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith(f"{Access(TOKEN).cookie}={TOKEN};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    wrong = httpx.get(f"{url}/?token=wrong")
    assert wrong.status_code == 303 and "set-cookie" not in wrong.headers


def test_gradio_upload_needs_the_token_and_never_shows_a_path(url, served_index):
    files = {"files": ("big.txt", b"x" * 1000)}
    refused = httpx.post(f"{url}/gradio_api/upload", files=files)
    assert refused.status_code == 401 and str(served_index.parent) not in refused.text
    assert "token" in refused.json()["error"]
    cookie = {Access(TOKEN).cookie: TOKEN}
    assert httpx.post(f"{url}/gradio_api/upload", files=files, cookies=cookie).status_code == 200
    assert httpx.post(f"{url}/gradio_api/upload", files=files, headers=AUTH).status_code == 200


@pytest.mark.parametrize("headers", [EVIL, {"Origin": "http://evil.example"},
                                     {"Sec-Fetch-Site": "cross-site"},
                                     {"Origin": "http://localhost:3000"}])
def test_cross_site_writes_are_refused_even_without_a_token(open_url, headers):
    before = articles(open_url)
    files = [("files", ("f.jsonl", json.dumps(ARTICLE).encode()))]
    for response in (httpx.post(f"{open_url}/api/articles", files=files, headers=headers),
                     httpx.delete(f"{open_url}/api/articles/anything", headers=headers),
                     httpx.post(f"{open_url}/gradio_api/upload", files=files, headers=headers)):
        assert response.status_code == 403 and "another site" in response.json()["error"]
    assert articles(open_url) == before
    read = httpx.get(f"{open_url}/api/ask", params={"q": CHESS}, headers=headers)
    assert read.status_code == 200  # reads stay open


def test_same_origin_and_listed_origins_may_write(url, open_url):
    port = open_url.rsplit(":", 1)[1]
    own = {"Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"}
    assert httpx.delete(f"{open_url}/api/articles/none", headers=own).status_code == 404
    friend = {**AUTH, "Origin": FRIEND, "Sec-Fetch-Site": "cross-site"}
    response = httpx.delete(f"{url}/api/articles/none", headers=friend)
    assert response.status_code == 404 and response.headers["access-control-allow-origin"] \
        == FRIEND


@pytest.mark.parametrize("path", ["/api/articles", "/gradio_api/upload", "/gradio_api/info"])
def test_cors_answers_only_the_listed_origins(url, path):
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization"}
    for origin in ("http://localhost:3000", "http://127.0.0.1:9999", "null"):
        response = httpx.options(f"{url}{path}", headers={**preflight, "Origin": origin})
        assert "access-control-allow-origin" not in response.headers
        response = httpx.get(f"{url}/gradio_api/info", headers={"Origin": origin})
        assert "access-control-allow-origin" not in response.headers
    response = httpx.options(f"{url}{path}", headers={**preflight, "Origin": FRIEND})
    assert response.headers["access-control-allow-origin"] == FRIEND
    assert "access-control-allow-credentials" not in response.headers


# -- errors ------------------------------------------------------------------------------------

def failing_app(index_dir, failure):
    """The real app over `index_dir`, with an assistant whose questions fail as `failure`
    (a bug of ours, or a stalled model): what the edge makes of it is under test."""
    from fastapi.testclient import TestClient

    from assistant import Assistant
    from assistant.serving.api import create_app

    class Failing(Assistant):
        def answer(self, *args, **kwargs):
            raise failure

    app = create_app(Failing(index_dir), Access(TOKEN))
    return TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False)


def test_an_unexpected_failure_is_a_json_500_without_a_traceback(small_index_dir):
    response = failing_app(small_index_dir, OverflowError("date value out of range")).get(
        "/api/ask", params={"q": "What happened yesterday?", "as_of": "9999-12-31"})
    assert response.status_code == 500
    assert response.json() == {"error": "the server failed on this request (OverflowError); "
                                        "the server's log has the details"}


def test_a_stalled_model_is_a_503_to_retry(small_index_dir):
    from assistant.errors import EmbeddingStalled

    failure = EmbeddingStalled("openvino-int8: batch of 8 stalled")
    response = failing_app(small_index_dir, failure).get("/api/ask", params={"q": CHESS})
    assert response.status_code == 503 and "stalled" in response.json()["error"]
    assert response.headers["Retry-After"]


@pytest.mark.parametrize("failure, status", [
    (IndexDamaged("passages.faiss is missing; run: assistant check --repair"), 500),
    (ModelNotFound("model 'x' is neither a folder nor an installed package"), 500),
    (IndexBusy("another process holds the write lock"), 409),
    (BadQuery("the question is empty: type a question"), 400)])
def test_a_domain_error_keeps_its_own_status(small_index_dir, failure, status):
    """The server's trouble (a damaged index, a missing model) never reads as the client's."""
    response = failing_app(small_index_dir, failure).get("/api/ask", params={"q": CHESS})
    assert response.status_code == status and response.json() == {"error": str(failure)}
