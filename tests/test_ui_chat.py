"""The chat at work: its Gradio API through gradio_client, and a real browser asking, going back
in time, refusing bad input (an unknown outlet included), adding articles and following a feed."""
import json
import time

import pytest
from helpers import TOKEN
from ui_browser import (
    HOSTILE,
    NEWEST,
    PHONE,
    TIDAL,
    ask,
    browser,
    card_dates,
    opened,
    set_as_of,
    today,
)

pytestmark = pytest.mark.slow


def test_programs_ask_the_chat_one_independent_question_at_a_time(live):
    from gradio_client import Client

    client = Client(live, verbose=False, download_files=False, analytics_enabled=False)
    chess = "Who won the Northern Open chess championship?"
    answer = client.predict(chess, NEWEST, None, [], 3, api_name="/ask")
    assert answer["as_of"] == NEWEST and len(answer["passages"]) == 3
    assert "Amara Osei" in answer["lead"]["text"] and answer["lead"]["cited"].endswith("[1]")
    assert answer["passages"][0]["citation"].startswith("Amara Osei wins")
    follow = client.predict("Who is she?", NEWEST, None, [], 3, api_name="/ask")
    assert follow["read_as"] == "Who is she?"  # not read with the first question's words
    with pytest.raises(Exception, match="no article comes from 'en.wikinews.org'"):  # as /api/ask
        client.predict(chess, None, None, ["en.wikinews.org"], 3, api_name="/ask")
    for empty in (None, "   "):
        with pytest.raises(Exception, match="the question is empty"):
            client.predict(empty, NEWEST, None, [], 3, api_name="/ask")


def test_browser_chat_as_of_bad_input_and_upload(chromium, live, tmp_path):
    from playwright.sync_api import expect

    with browser(chromium) as chrome:
        page = opened(chrome, f"{live}/?token={TOKEN}")  # the URL `assistant serve` prints
        assert page.url == f"{live}/"  # the token is not left in the address bar
        expect(page.locator("#status")).to_contain_text("8 articles")

        started = time.perf_counter()
        reply = ask(page, TIDAL)
        seconds = time.perf_counter() - started
        assert seconds < 10, f"the answer took {seconds:.1f}s"
        expect(reply.locator(".lead")).to_contain_text("[1]")
        expect(reply.locator(".meta")).to_contain_text(f"as of {today()}")
        expect(reply.locator(".card")).to_have_count(5)
        expect(reply.locator(".card").first).to_contain_text("[1] ")
        expect(reply.locator(".card mark").first).to_be_visible()
        before = card_dates(reply)
        follow = ask(page, "How much power will it make?")  # the page's conversation goes on
        expect(follow.locator(".meta")).to_contain_text("read with the previous question")

        set_as_of(page, "2025-03-10")
        older = ask(page, TIDAL)
        expect(older.locator(".meta")).to_contain_text("as of 2025-03-10")
        assert max(card_dates(older)) <= "2025-03-10" < max(before)

        assert "20,000 characters" in ask(page, "x" * 20_000).inner_text()
        assert "empty" in ask(page, "").inner_text()
        set_as_of(page, "2025-02-30")
        assert "not a real date" in ask(page, TIDAL).inner_text()
        set_as_of(page, "2025-03-10")

        native = tmp_path / "ferry.txt"
        native.write_text(" date 2025-03-05 Harbourton ferry returns to the islands\n\n"
                          "The ferry to the outer islands sailed again on Wednesday.\n")
        hostile = tmp_path / "hostile.jsonl"
        hostile.write_text(json.dumps({"id": "h1", "title": HOSTILE, "date": "2025-03-06",
                                       "source": "islands.example",
                                       "text": f"Islands ferry fares rise. {HOSTILE}"}) + "\n"
                           + "{broken\n")
        page.get_by_text("Add articles").click()
        page.locator("#add-articles input[type=file]").set_input_files([native, hostile])
        expect(page.locator("#add-articles")).to_contain_text("hostile")
        page.locator("#add").click()
        summary = page.locator("#ingest-summary")
        expect(summary).to_contain_text("added 2", timeout=60_000)
        expect(summary).to_contain_text("hostile.jsonl:2: malformed JSON")
        expect(page.locator("#status")).to_contain_text("10 articles")
        expect(page.locator("#progress-line")).to_have_attribute(
            "data-text", "Searching 10 articles…")

        found = ask(page, "Is the ferry to the islands running?")
        expect(found).to_contain_text("Harbourton ferry returns to the islands")
        expect(found).to_contain_text(HOSTILE)  # shown as text ...
        assert page.evaluate("window.pwned") is None  # ... never run

        # An outlet typed that the collection does not hold is named, not answered with nothing.
        outlets = page.locator("#sources input")
        outlets.fill("nosuch.example")
        outlets.press("Enter")
        refused = ask(page, "Is the ferry to the islands running?").inner_text()
        assert "no article comes from 'nosuch.example'" in refused

        # The Feeds section: following a feed from the chat (with the token) lists it.
        page.get_by_text("Feeds", exact=True).click()
        page.get_by_label("Feed URL (RSS or Atom)").fill("http://127.0.0.1:9/news/feed.xml")
        page.get_by_role("button", name="Follow", exact=True).click()
        expect(page.get_by_text("Following http://127.0.0.1:9/news/feed.xml")).to_be_visible()
        expect(page.locator("#feeds")).to_contain_text("http://127.0.0.1:9/news/feed.xml")
        expect(page.locator("#feeds")).to_contain_text("never")

        phone = opened(chrome, live, PHONE)
        expect(ask(phone, TIDAL).locator(".card")).to_have_count(5)
        ask(phone, "x" * 20_000)  # an unbroken paste, echoed in the chat, must wrap too
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
        phone.get_by_text("Add articles").click()  # opened without the token: reading only
        phone.locator("#add").click()
        expect(phone.locator("#ingest-summary")).to_contain_text("needs this server's token")
