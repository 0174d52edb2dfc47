"""The HTTP API, against a real server on 127.0.0.1 over a copy of the demo index (FAISS,
SQLite, bm25s) embedded by the small stand-in: what is under test is the API, not the model."""
import gzip
import json
import time

import gradio  # noqa: F401 (at collection, once a process: the web stack's 3-4 s are no test's)
import pytest
from helpers import AUTH, CHESS, SMALL_MODEL, TOKEN, UPLOAD_LIMIT, small_settings, start_server

from assistant.reading.uploads import shown_name, upload_name


@pytest.fixture(scope="module")
def client(served_index):
    import httpx

    url, stop = start_server(served_index, settings=small_settings())
    with httpx.Client(base_url=url, timeout=60) as http:
        yield http
    stop()


def test_health_and_stats(client):
    assert client.get("/api/health").json() == {"status": "ok"}
    stats = client.get("/api/stats").json()
    assert stats["articles"] >= 8 and stats["model"] == SMALL_MODEL


def test_ask_returns_cited_passages_and_an_extractive_lead(client):
    started = time.perf_counter()
    body = client.get("/api/ask", params={"q": CHESS, "k": 3}).json()
    assert time.perf_counter() - started < 5  # about 0.1 s on an idle laptop
    assert len(body["passages"]) == 3
    top = body["passages"][0]
    assert "chess" in top["title"] and top["citation"].startswith(top["title"])
    assert body["lead"]["passage"] == 1 and "Amara Osei" in body["lead"]["text"]
    assert body["lead"]["text"] in top["text"]  # extractive: copied, never written
    assert body["lead"]["cited"].endswith("[1]")


def test_get_and_post_agree_with_the_python_api(client, served_index):
    from assistant import Assistant

    params = {"q": "tidal power station turbines", "k": 4, "as_of": "2025-12-31"}
    got = client.get("/api/ask", params=params).json()
    posted = client.post("/api/ask", json=params).json()
    direct = Assistant(served_index, small_settings()).ask(params["q"], k=4, as_of="2025-12-31")
    assert got == posted
    assert [p["article_id"] for p in got["passages"]] == [p.article_id for p in direct]


def test_as_of_hides_later_articles(client):
    body = client.get("/api/ask", params={"q": "Harbourton tidal station", "as_of": "2025-03-10"})
    dates = [p["date"] for p in body.json()["passages"]]
    assert dates and max(dates) <= "2025-03-10"


@pytest.mark.parametrize("params, status, says", [
    ({"q": ""}, 400, "empty"),
    ({"q": "   "}, 400, "empty"),
    ({}, 422, "q: Field required"),
    ({"q": "x" * 2001}, 400, "limit is 2,000"),
    ({"q": "chess", "k": 0}, 400, "k must be a whole number from 1 to"),
    ({"q": "chess", "k": -1}, 400, "k must be"),
    ({"q": "chess", "k": 10**9}, 400, "k must be"),
    ({"q": "chess", "k": "many"}, 422, "k: Input should be a valid integer"),
    ({"q": "chess", "as_of": "2024-02-30"}, 400, "not a real date"),
    ({"q": "chess", "as_of": "last tuesday"}, 400, "YYYY-MM-DD"),
    ({"q": "chess", "since": "2024-13-01"}, 400, "since"),
    ({"q": "What happened yesterday?", "as_of": "9999-12-31"}, 400, "from 1600 to 2100"),
])
def test_bad_questions_get_4xx_json_saying_what_to_fix(client, params, status, says):
    response = client.get("/api/ask", params=params)
    assert response.status_code == status
    assert says in response.json()["error"]


def test_post_ask_refuses_a_pasted_page(client):
    response = client.post("/api/ask", json={"q": "x" * 20_000})
    assert response.status_code == 400 and "20,000 characters" in response.json()["error"]
    assert client.post("/api/ask", json={"k": 3}).status_code == 422


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": f"Basic {TOKEN}"},
                                     {"Authorization": "Bearer é".encode("latin-1")}])
def test_writes_need_the_token(client, headers):
    for response in (client.post("/api/articles", json={"articles": []}, headers=headers),
                     client.delete("/api/articles/anything", headers=headers)):
        assert response.status_code == 401 and "Bearer" in response.json()["error"]
    assert client.get("/api/ask", params={"q": CHESS}, headers=headers).status_code == 200


@pytest.mark.slow
def test_the_chat_asks_for_the_token_too(client, tmp_path):
    from gradio_client import Client, handle_file

    native = tmp_path / "note.txt"
    native.write_text(" date 2025-05-01 A note\n\nA short note.\n")
    options = dict(verbose=False, download_files=False, analytics_enabled=False)
    anonymous = Client(str(client.base_url), **options)
    summary, status, _ = anonymous.predict([], api_name="/add_articles")
    assert "needs this server's token" in summary and "**8** articles" in status
    with pytest.raises(Exception, match="401"):  # Gradio's own upload needs it too
        anonymous.predict([handle_file(native)], api_name="/add_articles")
    chat = Client(str(client.base_url), headers=AUTH, **options)
    summary, status, _ = chat.predict([handle_file(native)], api_name="/add_articles")
    assert summary.startswith("**added 1") and "**9** articles" in status
    note = client.get("/api/ask", params={"q": "a short note", "k": 1}).json()["passages"][0]
    assert note["title"] == "A note"
    assert client.delete(f"/api/articles/{note['article_id']}", headers=AUTH).status_code == 200


def test_add_find_and_delete_an_article_as_json(client):
    article = {"id": "darts-1", "title": "Humphries is world champion", "date": "2024-01-03",
               "source": "example.org", "url": "https://example.org/darts",
               "text": "Luke Humphries beat Luke Littler 7-4 in the darts world final."}
    added = client.post("/api/articles", json={"articles": [article, {"title": "no date"}]},
                        headers=AUTH).json()
    assert added["added"] == 1 and added["skipped"] == ["articles:2: missing field 'text'"]
    again = client.post("/api/articles", json={"articles": [article]}, headers=AUTH).json()
    assert again["unchanged"] == 1
    ask = {"q": "darts world final", "k": 1, "sources": "example.org"}
    assert client.get("/api/ask", params=ask).json()["passages"][0]["article_id"] == "darts-1"
    assert client.delete("/api/articles/darts-1", headers=AUTH).json() == {"deleted": "darts-1"}
    after = client.get("/api/ask", params={"q": "darts world final", "k": 20}).json()
    assert "darts-1" not in [p["article_id"] for p in after["passages"]]
    missing = client.delete("/api/articles/darts-1", headers=AUTH)
    assert missing.status_code == 404 and "darts-1" in missing.json()["error"]


def test_a_json_article_longer_than_the_limit_is_refused_as_in_a_file(small_copy):
    """Settings.max_article_chars holds for JSON articles: a 4xx naming the item and the
    field, and an article of the same id already indexed stays as it was."""
    import httpx

    url, stop = start_server(small_copy, settings=small_settings(max_article_chars=500))
    try:
        with httpx.Client(base_url=url, timeout=60) as http:
            before = http.get("/api/ask", params={"q": CHESS, "k": 3}).json()
            stats = http.get("/api/stats").json()
            top = before["passages"][0]
            long = {"id": top["article_id"], "title": "Chess, again", "date": top["date"],
                    "text": "The chess final went to a tie-break. " * 20}
            refused = http.post("/api/articles", json={"articles": [long]}, headers=AUTH)
            assert refused.status_code == 422
            message = refused.json()["error"]
            assert "articles:1: field 'text' is 739 characters long; the limit is 500" in message
            assert http.get("/api/ask", params={"q": CHESS, "k": 3}).json() == before
            assert http.get("/api/stats").json() == stats
            short = {"title": "Chess club opens", "date": "2024-05-01",
                     "text": "A chess club opened in the library."}
            mixed = http.post("/api/articles", json={"articles": [short, long]}, headers=AUTH)
            assert mixed.status_code == 200 and mixed.json()["added"] == 1
            assert mixed.json()["skipped"][0].startswith("articles:2: field 'text' is 739")
    finally:
        stop()


def test_upload_files_stay_inside_the_index_folder(client, served_index):
    native = b" date 2025-04-01 Harbourton ferry returns\n\nThe ferry to the islands returned.\n"
    lines = gzip.compress(json.dumps({"id": "ferry-2", "title": "Ferry timetable", "date":
                                      "2025-04-02", "text": "Two sailings a day."}).encode())
    files = [("files", ("../../escape.txt", native)), ("files", ("news.jsonl.gz", lines))]
    report = client.post("/api/articles", files=files, headers=AUTH).json()
    assert report["added"] == 2 and report["skipped"] == []
    assert list((served_index / "uploads").iterdir()) == []  # read, then deleted
    assert not (served_index.parent.parent / "escape.txt").exists()
    assert not (served_index.parent / "escape.txt").exists()
    again = client.post("/api/articles", files=files, headers=AUTH).json()
    assert again["unchanged"] == 2 and again["added"] == 0


def test_files_of_one_name_in_one_upload_are_all_read_then_deleted(client, served_index):
    first = {"id": "same-a", "title": "Ferry one", "date": "2025-05-03", "text": "First ferry."}
    second = {**first, "id": "same-b", "title": "Ferry two", "text": "Second ferry."}
    files = [("files", ("a/same.jsonl", json.dumps(first).encode())),
             ("files", ("b/same.jsonl", json.dumps(second).encode() + b"\n{broken\n"))]
    report = client.post("/api/articles", files=files, headers=AUTH).json()
    assert report["added"] == 2 and len(report["skipped"]) == 1
    assert report["skipped"][0].startswith("b/same.jsonl:2: malformed JSON")
    refused = client.post("/api/articles", files=[("files", ("x.jsonl", b"{no\n"))],
                          headers=AUTH)
    assert refused.status_code == 422 and str(served_index) not in refused.text
    assert list((served_index / "uploads").iterdir()) == []  # nothing kept, added or refused
    for article_id in ("same-a", "same-b"):
        client.delete(f"/api/articles/{article_id}", headers=AUTH)


@pytest.mark.parametrize("files, status, says", [
    ([("files", ("broken.jsonl", b"{not json\n"))], 422, "broken.jsonl:1: malformed JSON"),
    ([("files", ("notes.pdf", b"%PDF-1.4"))], 422, "not a .txt, .jsonl or .jsonl.gz file"),
    ([("files", ("empty.txt", b""))], 422, "empty file"),
    ([("files", ("big.jsonl", b"x" * (UPLOAD_LIMIT + 1)))], 413, "larger than the limit"),
])
def test_bad_uploads_say_what_is_wrong(client, files, status, says):
    response = client.post("/api/articles", files=files, headers=AUTH)
    assert response.status_code == status
    assert says in response.json()["error"]


def test_bodies_that_are_neither_json_articles_nor_files(client):
    plain = client.post("/api/articles", content=b"hello", headers={**AUTH,
                                                                    "Content-Type": "text/plain"})
    assert plain.status_code == 415
    fields = client.post("/api/articles", files={"note": (None, "no files")}, headers=AUTH)
    assert fields.status_code == 400 and "no files" in fields.json()["error"]
    shapeless = client.post("/api/articles", json=[{"title": "x"}], headers=AUTH)
    assert shapeless.status_code == 422 and "articles" in shapeless.json()["error"]


def test_schema_docs_and_chat_share_the_process(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/ask", "/api/articles", "/api/articles/{article_id}", "/api/stats",
            "/api/health"} <= set(paths)
    assert client.get("/docs").status_code == 200
    assert "gradio" in client.get("/").text.lower()


@pytest.mark.parametrize("name, expected", [
    ("news.jsonl", "news.jsonl"),
    ("../../etc/cron.d/x.txt", "x.txt"),
    ("..\\..\\win.jsonl.gz", "win.jsonl.gz"),
    ("my file (1).txt", "my_file_1_.txt"),
    ("...hidden.txt", "hidden.txt"),
    ("x.pdf", None),
    ("", None),
])
def test_upload_name(name, expected):
    assert upload_name(name) == expected


@pytest.mark.parametrize("name, expected", [
    ("a/same.jsonl", "a/same.jsonl"),
    ("bad\nname\x00.txt", "bad_name_.txt"),
    ("x" * 150 + ".txt", "x" * 96 + ".txt"),
    ("", ""),
])
def test_shown_name(name, expected):
    assert shown_name(name) == expected


def test_docs_work_offline_from_the_installed_swagger_ui(client):
    page = client.get("/docs").text
    assert "cdn" not in page.lower() and "/docs/assets/swagger-ui-bundle.js" in page
    script = client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.text
    assert client.get("/docs/assets/swagger-ui.css").status_code == 200


@pytest.mark.parametrize("method, path", [("GET", "/api/nothing"), ("POST", "/api/ask/more"),
                                          ("GET", "/api/articles")])
def test_unknown_routes_answer_json_errors(client, method, path):
    response = client.request(method, path)
    assert response.status_code in (404, 405)
    assert "error" in response.json()


def test_get_and_post_take_the_same_parameters_with_sources_repeatable(client):
    outlets = client.get("/api/stats").json()
    names = [o for o in client.get("/openapi.json").json()["paths"]["/api/ask"]["get"]
             ["parameters"]]
    assert [p["name"] for p in names] == ["q", "k", "as_of", "since", "sources"]
    params = {"q": CHESS, "k": 3}
    got = client.get("/api/ask", params=params).json()
    assert got == client.post("/api/ask", json={**params, "sources": []}).json()
    assert outlets["articles"] >= 8


@pytest.mark.parametrize("send", [
    lambda c: c.get("/api/ask", params={"q": CHESS, "source": "x"}),
    lambda c: c.post("/api/ask", json={"q": CHESS, "source": ["x"]}),
])
def test_unknown_parameters_are_400s_that_name_them(client, send):
    response = send(client)
    assert response.status_code == 400
    assert "unknown parameter 'source'" in response.json()["error"]
    assert "sources" in response.json()["error"]


@pytest.mark.parametrize("send", [
    lambda c: c.get("/api/ask", params={"q": CHESS, "sources": ["Nowhere Times"]}),
    lambda c: c.post("/api/ask", json={"q": CHESS, "sources": ["Nowhere Times"]}),
])
def test_unknown_outlets_are_400s_that_say_so(client, send):
    response = send(client)
    assert response.status_code == 400
    assert "no article comes from 'Nowhere Times'" in response.json()["error"]


@pytest.mark.parametrize("path", ["/api/ask", "/api/articles"])
def test_broken_json_says_so_with_the_position(client, path):
    response = client.post(path, content=b'{"q": "chess",}', headers={
        **AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400
    message = response.json()["error"]
    assert message.startswith("the request body is not valid JSON")
    assert "character 14" in message or "column 15" in message
