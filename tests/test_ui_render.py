"""The chat's pure parts: answers and reports as HTML, the first as-of date, the Passages
field, the progress line. Tiny inline inputs, no server."""
from dataclasses import replace
from datetime import date

import pytest
from ui_browser import HOSTILE

from assistant.answering.answer import compose
from assistant.errors import BadQuery
from assistant.serving.chat_render import (
    progress_line,
    render_answer,
    render_card,
    render_report,
    shorten,
    shown_error,
)
from assistant.serving.ui import passages_wanted
from assistant.types import IngestReport, Passage, Problem


def passage(**fields) -> Passage:
    base = dict(text="Osei won the chess open. She is 19.", title="Chess", url="https://x.org/c",
                source="x.org", date="2025-06-14", article_id="c")
    return Passage(**{**base, **fields})


def test_the_first_as_of_is_the_default_every_edge_uses():
    """The page's As of field opens on the date a question without one is asked as of."""
    from assistant import Assistant

    assert Assistant.default_as_of() == date.today().isoformat()


def test_card_escapes_untrusted_title_and_text():
    card = render_card(2, passage(title=HOSTILE, text=f"chess {HOSTILE}"), "chess")
    assert "<img" not in card and "&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt;" in card
    assert card.startswith('<li class="card" id="src-0-2">') and "[2]" in card


@pytest.mark.parametrize("url, linked", [
    ("https://x.org/c", True), ("http://x.org/c", True), ("javascript:alert(1)", False),
    ("file:///index/uploads/a.txt", False), ("", False)])
def test_card_links_only_web_addresses(url, linked):
    assert ("<a href=" in render_card(1, passage(url=url), "chess")) is linked


def test_card_marks_its_best_sentence_and_the_question_terms():
    card = render_card(1, passage(), "How old is the chess open winner?")
    assert "<mark>Osei won the <b>chess</b> <b>open</b>.</mark>" in card


def test_answer_leads_with_a_cited_sentence_and_says_when():
    html = render_answer(compose("Who won the chess open?", [passage()], "2025-07-01"))
    assert ('<p class="lead">Osei won the chess open. <a class="cite" href="#src-') in html
    assert "as of 2025-07-01" in html and "\n" not in html  # one line: Markdown leaves it alone


def test_answer_says_plainly_when_nothing_is_found():
    assert "Nothing in the index answers that (as of 2025-07-01)" in render_answer(
        compose("Who won?", [], "2025-07-01"))
    assert "No passage answers this directly" in render_answer(
        compose("darts final", [passage()], None))


def test_an_unanswered_question_says_so_above_the_nearest_passages():
    unsure = compose("Who won the 2022 World Cup?", [replace(passage(), score=0.1)],
                     "2025-07-01", scorer=lambda q, texts: [0.1] * len(texts), abstain_below=0.5)
    html = render_answer(unsure)
    assert "No passage clearly answers that as of 2025-07-01. The closest passages:" in html
    assert '<li class="card" id="src-' in html and '<p class="lead">' not in html


def test_a_card_holds_its_articles_other_passages():
    card = render_card(1, replace(passage(), more=(replace(passage(), text="Drozdov <lost>."),)),
                       "chess")
    assert "1 more passage from this article" in card and "Drozdov &lt;lost&gt;." in card


def test_answer_shows_how_a_follow_up_was_read():
    html = render_answer(compose("Who is she?", [passage()], None, "Who is she? chess Osei"))
    assert "read with the previous question as “Who is she? chess Osei”" in html


def test_each_citation_links_to_its_own_card():
    html = render_answer(compose("Who won the chess open?", [passage(), passage(article_id="d")],
                                 "2025-07-01"))
    anchor = html.split('href="#')[1].split('"')[0]
    assert anchor.endswith("-1") and f'<li class="card" id="{anchor}">' in html
    again = render_answer(compose("Who won the chess open?", [passage()], "2025-07-01"))
    assert f'id="{anchor}"' not in again  # two answers in one page never share an anchor


def test_the_meta_line_names_every_filter_in_force():
    html = render_answer(compose("Who won?", [passage()], "2025-07-01"), since="2025-01-01",
                         sources=["x.org", "<y>"])
    assert "as of 2025-07-01 · since 2025-01-01 · only x.org, &lt;y&gt;" in html


def test_a_card_shows_three_sentences_around_the_best_and_the_rest_on_demand():
    text = "One. Two. Three. Osei won the chess open. Five. Six."
    card = render_card(1, passage(text=text), "Who won the chess open?")
    shown, whole = card.split('<details class="whole">')
    assert "Three." in shown and "Five." in shown and "One." not in shown and "Six." not in shown
    assert "show the whole passage" in whole and "One." in whole and "Six." in whole
    assert "<details" not in render_card(1, passage(), "chess")  # short: nothing hidden


def test_errors_name_fields_as_the_page_labels_them():
    assert shown_error("as_of: not a real date; since: too early") == (
        "As of date: not a real date; Since date: too early")


def test_report_lists_what_was_skipped_and_why():
    report = IngestReport(added=2, passages=3, skipped=[Problem("<b>.jsonl", 4, "malformed")])
    text = render_report(report)
    assert text.startswith("**added 2, updated 0, unchanged 0, skipped 1")
    assert "- skipped &lt;b&gt;.jsonl:4: malformed" in text


def test_shorten():
    assert shorten(" hi ") == "hi"
    assert shorten("x" * 301) == "x" * 300 + "…"


@pytest.mark.parametrize("text", ["Osei won.\n\n\n\nShe is 19.", "Osei won.\n \n\t\n\nShe is 19.",
                                  "Osei won.\n\n\n", "\n\n\nOsei won.\n\nShe is 19."])
def test_an_answer_never_shows_two_blank_lines_in_a_row(text):
    html = render_answer(compose("Who won the chess open?", [passage(text=text)], "2025-07-01"))
    assert "<br><br><br>" not in html and "\n" not in html
    assert "Osei won." in html


def test_paragraphs_keep_one_blank_line_between_them():
    assert "Osei won.<br><br>She is 19." in render_card(1, passage(text="Osei won.\n\nShe is 19."),
                                                         "chess")


def test_the_progress_line_waits_empty_with_the_collection_size():
    line = progress_line({"articles": 1200})
    assert 'data-text="Searching 1,200 articles…"' in line and 'role="status"' in line
    assert line.endswith("></p>")  # says nothing until an answer is slow


@pytest.mark.parametrize("k, expected", [(None, 5), (5, 5), (5.0, 5), (1, 1), (20, 20),
                                         (100.0, 100), (2.5, 2.5)])
def test_passages_as_the_slider_sends_them(k, expected):
    assert passages_wanted(k) == expected


@pytest.mark.parametrize("k", [0, -3, 101, 500, 2.5])
def test_passages_outside_the_servers_rule_are_refused_as_everywhere(small_assistant, k):
    """The slider stops at 20; the server takes what every edge takes (Assistant.query)."""
    with pytest.raises(BadQuery, match="k must be a whole number from 1 to 100"):
        small_assistant.query("chess", passages_wanted(k))
