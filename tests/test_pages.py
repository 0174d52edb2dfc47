"""Extraction: a news page -> Article, with the canonical URL as id and the date's source."""
from __future__ import annotations

import pytest
from local_site import article_html

from assistant.live.fetching import Fetched, FetchFailed
from assistant.live.pages import Hint, article_id, canonical_url, extract

BODY = ("The island ferry resumed on Friday after the storm closed the harbour for three days."
        "\n\nPassengers queued from dawn, and the first boat left at seven.")


def page(html: str, url: str = "http://port.example/news/ferry", charset="utf-8") -> Fetched:
    return Fetched(url, 200, html.encode(charset), "text/html", charset)


@pytest.mark.parametrize("url, canonical", [
    ("https://Ex.org/a?utm_source=rss&utm_medium=x&id=2&fbclid=y#top", "https://ex.org/a?id=2"),
    ("https://ex.org:443/a/amp/", "https://ex.org/a"),
    ("https://ex.org/a.amp.html?amp=1", "https://ex.org/a.html"),
    ("http://ex.org:8080/a?b=2&a=1", "http://ex.org:8080/a?a=1&b=2"),
    ("https://ex.org", "https://ex.org/"),
])
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical



def test_the_page_gives_text_title_date_outlet_and_its_canonical_link():
    url = "http://port.example/news/ferry?utm_source=feed"
    found = extract(page(article_html("Ferry resumes", BODY, "2024-03-01",
                                      canonical="http://port.example/news/ferry"), url))
    a = found.article
    assert (a.title, a.date, a.source, found.date_source) == (
        "Ferry resumes", "2024-03-01", "Port News", "page")
    assert a.text == BODY
    assert a.url == "http://port.example/news/ferry"
    assert a.id == article_id(a.url)


def test_a_canonical_link_to_another_site_is_not_believed():
    html = article_html("Ferry resumes", BODY, canonical="http://other.example/their-story")
    assert extract(page(html)).article.url == "http://port.example/news/ferry"


def test_without_a_date_on_the_page_the_feeds_then_the_fetch_day():
    html = article_html("Ferry resumes", BODY)
    found = extract(page(html), Hint(date="2024-02-02"))
    assert (found.article.date, found.date_source) == ("2024-02-02", "feed")
    found = extract(page(html), today="2024-05-05")
    assert (found.article.date, found.date_source) == ("2024-05-05", "fetched")


def test_a_page_without_text_falls_back_to_the_feeds_title_and_summary():
    found = extract(page("<html><body></body></html>"),
                    Hint(title="Ferry <i>resumes</i>", summary="<p>The ferry is back.</p>",
                         source="Port &amp; Harbour"))
    a = found.article
    assert (a.title, a.text, a.source) == ("Ferry resumes", "The ferry is back.",
                                           "Port & Harbour")


def test_nothing_to_store_is_not_an_article():
    with pytest.raises(FetchFailed) as caught:
        extract(page("<html><body></body></html>"))
    assert caught.value.reason == "not an article"


def test_a_page_in_a_declared_8_bit_charset_reads_right():
    html = article_html("Паром снова ходит", "Паром снова ходит после шторма. " * 5,
                        "2024-03-01")
    found = extract(page(html, charset="windows-1251"))
    assert found.article.title == "Паром снова ходит"
    assert "после шторма" in found.article.text


def test_a_wire_copy_has_the_same_text_key():
    one = extract(page(article_html("Ferry resumes", BODY, site_name="A")))
    two = extract(page(article_html("Ferry resumes", BODY, site_name="B"),
                       url="http://other.example/wire/123"))
    assert one.article.id != two.article.id and one.text_key == two.text_key
