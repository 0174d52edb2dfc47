"""Fetching against a real HTTP server on 127.0.0.1: manners (User-Agent, robots.txt, delay,
conditional GET) and bounds (timeouts, size, redirects, types, private addresses)."""
from __future__ import annotations

import time

import pytest
from local_site import Page, Site

from assistant.config import Settings
from assistant.live.fetching import USER_AGENT, Fetcher, FetchFailed, public_address

FAST = Settings(fetch_delay_s=0.0, fetch_timeout_s=0.5, max_page_bytes=1_000_000,
                allow_private=True)


@pytest.fixture()
def site():
    site = Site()
    yield site
    site.close()


def failure(fetcher: Fetcher, url: str) -> FetchFailed:
    with pytest.raises(FetchFailed) as caught:
        fetcher.get(url)
    return caught.value


def test_a_page_comes_with_its_validators_and_the_projects_user_agent(site):
    url = site.put("/a", Page(b"<p>hello</p>", etag='"v1"', last_modified="Mon, 01 Jan 2024"))
    fetched = Fetcher(FAST).get(url)
    assert (fetched.status, fetched.body, fetched.content_type) == (200, b"<p>hello</p>",
                                                                    "text/html")
    assert (fetched.etag, fetched.last_modified, fetched.charset) == ('"v1"', "Mon, 01 Jan 2024",
                                                                      "utf-8")
    assert dict(site.requests)["/a"]["User-Agent"] == USER_AGENT


def test_validators_sent_back_get_not_modified_without_a_body(site):
    url = site.put("/feed", Page(b"<rss/>", type="application/rss+xml", etag='"v1"'))
    fetched = Fetcher(FAST).get(url, etag='"v1"')
    assert fetched.not_modified and fetched.body == b""
    assert Fetcher(FAST).get(url, etag='"v0"').body == b"<rss/>"


@pytest.mark.parametrize("status", [404, 500, 403])
def test_an_http_error_fails_naming_the_status(site, status):
    site.put("/x", Page(b"no", status=status))
    e = failure(Fetcher(FAST), site.url("/x"))
    assert (e.reason, e.detail) == ("failed", f"HTTP {status}")


def test_a_server_that_does_not_answer_times_out(site):
    url = site.put("/slow", Page(b"late", delay_s=2.0))
    started = time.monotonic()
    e = failure(Fetcher(FAST), url)
    assert e.reason == "failed" and "timed out" in e.detail
    assert time.monotonic() - started < 1.5


def test_a_redirect_loop_stops_after_the_limit(site):
    site.put("/a", Page(status=302, headers={"Location": "/b"}))
    site.put("/b", Page(status=301, headers={"Location": "/a"}))
    e = failure(Fetcher(FAST), site.url("/a"))
    assert "more than 5 redirects" in e.detail
    assert site.asked("/a") + site.asked("/b") == 6


def test_a_redirect_is_followed_but_never_to_another_scheme(site):
    site.put("/old", Page(status=301, headers={"Location": "/new"}))
    site.put("/new", "<p>moved</p>")
    assert Fetcher(FAST).get(site.url("/old")).url == site.url("/new")
    site.put("/evil", Page(status=302, headers={"Location": "file:///etc/passwd"}))
    assert "non-HTTP" in failure(Fetcher(FAST), site.url("/evil")).detail


def test_a_50_mb_page_is_refused_by_its_length_before_its_body(site):
    body = b"x" * 50_000_000
    url = site.put("/big", Page(body))
    e = failure(Fetcher(FAST), url)
    assert e.reason == "too large"
    assert site.sent.get("/big", 0) < 50_000_000


def test_a_50_mb_page_without_a_length_is_cut_off_while_streaming(site):
    chunks = lambda: (b"<p>" + b"x" * 65_536 for _ in range(800))
    url = site.put("/stream", Page(chunks))
    started = time.monotonic()
    e = failure(Fetcher(FAST), url)
    assert e.reason == "too large" and "stopped reading" in e.detail
    assert time.monotonic() - started < 5
    while "/stream" not in site.sent and time.monotonic() - started < 10:
        time.sleep(0.05)  # until the server notices the closed connection
    assert site.sent["/stream"] < 20_000_000


def test_a_page_that_is_not_html_or_xml_is_not_read(site):
    url = site.put("/doc.pdf", Page(b"%PDF-1.4", type="application/pdf"))
    e = failure(Fetcher(FAST), url)
    assert e.reason == "not an article" and "application/pdf" in e.detail


def test_the_charset_the_headers_declare_decodes_the_body(site):
    url = site.put("/ru", Page("<p>Привет, мир</p>".encode("windows-1251"),
                               type="text/html; charset=windows-1251"))
    assert Fetcher(FAST).get(url).text() == "<p>Привет, мир</p>"


def test_robots_txt_disallowing_a_path_is_obeyed(site):
    site.put("/robots.txt", Page(b"User-agent: *\nDisallow: /private/\n", type="text/plain"))
    site.put("/private/a", "<p>secret</p>")
    site.put("/public/a", "<p>open</p>")
    fetcher = Fetcher(FAST)
    assert failure(fetcher, site.url("/private/a")).reason == "robots"
    assert fetcher.get(site.url("/public/a")).body == b"<p>open</p>"
    assert site.asked("/private/a") == 0 and site.asked("/robots.txt") == 1


def test_a_robots_txt_that_fails_to_load_allows_nothing(site):
    site.put("/robots.txt", Page(b"down", status=503))
    site.put("/a", "<p>a</p>")
    assert failure(Fetcher(FAST), site.url("/a")).reason == "robots"


def test_requests_to_one_host_are_spaced_by_the_delay(site):
    site.put("/a", "<p>a</p>")
    fetcher = Fetcher(FAST.with_(fetch_delay_s=0.2))
    started = time.monotonic()
    for _ in range(3):  # robots.txt, then three pages: four requests, three waits
        fetcher.get(site.url("/a"))
    assert time.monotonic() - started >= 0.6


def test_loopback_is_refused_unless_allowed(site):
    url = site.put("/a", "<p>a</p>")
    e = failure(Fetcher(FAST.with_(allow_private=False)), url)
    assert e.reason == "private address"
    assert site.requests == []
    assert Fetcher(FAST.with_(allow_private=False), allow_private=True).get(url).status == 200


@pytest.mark.parametrize("ip, public", [
    ("93.184.216.34", True), ("2606:4700::1111", True), ("127.0.0.1", False),
    ("10.1.2.3", False), ("192.168.0.9", False), ("169.254.169.254", False), ("::1", False),
    ("fe80::1", False), ("::ffff:192.168.0.1", False), ("0.0.0.0", False)])
def test_public_addresses(ip, public):
    assert public_address(ip) is public


def test_only_http_urls_are_fetched():
    assert "only http and https" in failure(Fetcher(FAST), "ftp://example.org/a").detail
