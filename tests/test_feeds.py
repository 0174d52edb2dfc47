"""Following feeds from a real HTTP server on 127.0.0.1 into a real index (the small stand-in
embedder): formats, passes that pick up what is new once, changes, failures, duplicates."""
from __future__ import annotations

import sqlite3
import time

import pytest
from helpers import small_settings
from local_site import Page, Site, article_html, atom, rss, rss1

from assistant import Assistant
from assistant.live.feeds import Follower
from assistant.live.feedstore import FeedStore, NoFeed

FAST = dict(fetch_delay_s=0.0, fetch_timeout_s=0.5, allow_private=True)
FERRY = ("The island ferry resumed on Friday after the storm closed the harbour for three "
         "days.\n\nPassengers queued from dawn, and the first boat left at seven.")
BAKERY = ("A bakery in Portside won the national sourdough prize on Tuesday.\n\nThe judges "
          "praised its crust, and the queue outside ran round the block by noon.")
COUNCIL = ("The council voted to repave Mill Lane next spring.\n\nResidents had asked for "
           "the work for six years, the mayor said at the meeting.")


@pytest.fixture()
def site():
    site = Site()
    yield site
    site.close()


@pytest.fixture()
def assistant(tmp_path):
    assistant = Assistant(tmp_path / "index", small_settings(**FAST))
    yield assistant
    assistant.close()


@pytest.fixture()
def follower(assistant):
    follower = Follower(assistant.folder, assistant.ingest_articles, assistant.settings)
    yield follower
    follower.close()


def story(site: Site, path: str, title: str, text: str, date: str = "2024-03-01", **kw) -> dict:
    """Put an article page on the site; returns its feed item."""
    return {"title": title, "link": site.put(path, article_html(title, text, date, **kw))}


def stored(assistant) -> dict[str, tuple]:
    """url -> (title, date, text) of every article in the index."""
    with sqlite3.connect(assistant.folder / "assistant.sqlite") as db:
        return {url: tuple(rest) for url, *rest in db.execute("SELECT url, title, date, text "
                                                       "FROM articles")}


@pytest.mark.slow  # a child process or three feeds: seconds, not the quick suite's
@pytest.mark.parametrize("write", [rss, atom, rss1])
def test_each_feed_format_brings_its_articles(site, assistant, follower, write):
    items = [story(site, "/ferry", "Ferry resumes", FERRY),
             story(site, "/bakery", "Bakery wins prize", BAKERY, "2024-03-02")]
    feed = site.put("/feed", Page(write(items), type="application/rss+xml"))
    report = follower.follow([feed])
    assert (report.added, report.failed, report.fetched) == (2, [], 3)
    assert stored(assistant)[site.url("/bakery")][:2] == ("Bakery wins prize", "2024-03-02")
    best = assistant.ask("Which bakery won the sourdough prize?", k=1)[0]
    assert best.url == site.url("/bakery") and best.source == "Port News"
    assert follower.feeds.date_source(best.article_id) == "page"


def test_an_entry_added_between_passes_is_fetched_once(site, assistant, follower):
    items = [story(site, "/ferry", "Ferry resumes", FERRY)]
    feed = site.put("/feed", Page(rss(items), type="application/rss+xml", etag='"1"'))
    assert follower.follow([feed]).added == 1
    items.append(story(site, "/bakery", "Bakery wins prize", BAKERY))
    site.put("/feed", Page(rss(items), type="application/rss+xml", etag='"2"'))
    report = follower.follow()  # the stored feed, without naming it again
    assert (report.added, report.fetched) == (1, 2)
    assert site.asked("/ferry") == 1 and site.asked("/bakery") == 1
    report = follower.follow()
    assert report.skipped == [("not modified", feed)] and report.fetched == 0
    assert site.requests[-1][1]["If-None-Match"] == '"2"'
    assert len(stored(assistant)) == 2
    [row] = follower.feeds.list()
    assert (row.articles, row.title, row.etag, row.last_error) == (2, "Port News", '"2"', "")


def test_an_entry_whose_page_changed_replaces_its_passages(site, assistant, follower):
    item = story(site, "/ferry", "Ferry resumes", FERRY)
    feed = site.put("/feed", Page(rss([item]), type="application/rss+xml"))
    follower.follow([feed])
    site.put("/ferry", article_html("Ferry resumes", COUNCIL, "2024-03-01"))
    site.put("/feed", Page(rss([{**item, "summary": "updated"}]), type="application/rss+xml"))
    report = follower.follow()
    assert (report.added, report.updated) == (0, 1)
    [(_title, _date, text)] = stored(assistant).values()
    assert text == COUNCIL
    assert assistant.stats()["passages"] == 1  # the new text's only passage
    assert "ferry" not in " ".join(p.text for p in assistant.ask("island ferry storm", k=5))


@pytest.mark.slow
def test_failing_entries_are_reported_and_retried_the_rest_kept(site, assistant, follower):
    site.put("/robots.txt", Page(b"User-agent: *\nDisallow: /private/\n", type="text/plain"))
    items = [story(site, "/ferry", "Ferry resumes", FERRY)]
    site.put("/big", Page(b"x" * 50_000_000))
    site.put("/pdf", Page(b"%PDF", type="application/pdf"))
    site.put("/slow", Page(b"late", delay_s=2))
    site.put("/loop", Page(status=302, headers={"Location": "/loop"}))
    site.put("/error", Page(b"oops", status=500))
    site.put("/private/a", article_html("Secret", BAKERY))
    for path in ("/big", "/pdf", "/slow", "/loop", "/error", "/missing", "/private/a"):
        items.append({"title": path, "link": site.url(path)})
    feed = site.put("/feed", Page(rss(items), type="application/rss+xml", etag='"1"'))
    report = follower.follow([feed])
    assert report.added == 1
    assert sorted(report.skipped) == [("not an article", site.url("/pdf")),
                                      ("robots", site.url("/private/a")),
                                      ("too large", site.url("/big"))]
    assert sorted(url for url, _ in report.failed) == sorted(
        site.url(p) for p in ("/slow", "/loop", "/error", "/missing"))
    assert "failed 4" in report.summary() and "robots 1" in report.summary()
    [row] = follower.feeds.list()
    assert row.etag is None and row.last_error  # not all handled: no validator kept
    site.put("/error", article_html("Council repaves lane", COUNCIL))
    report = follower.follow()
    assert report.added == 1 and site.asked("/big") == 1 and site.asked("/error") == 2


def test_a_malformed_feed_fails_and_says_so(site, follower):
    feed = site.put("/feed", Page(b"<rss><channel><item><title>broken", type="text/xml"))
    report = follower.follow([feed])
    assert report.failed and "not a readable feed" in report.failed[0][1]
    assert "not a readable feed" in follower.feeds.get(feed).last_error


def test_html_in_titles_and_a_declared_8_bit_charset(site, assistant, follower):
    link = site.put("/a", Page(b"<html><body></body></html>"))
    body = rss([{"title": "Caf&#233; &lt;b&gt;re-opens&lt;/b&gt; \u00e0 Port", "link": link,
                 "summary": "Le caf\u00e9 du port a rouvert ses portes mardi.",
                 "date": "Fri, 01 Mar 2024 09:00:00 GMT"}], title="Le Port")
    body = body.decode().replace('encoding="utf-8"', 'encoding="iso-8859-1"')
    site.put("/feed", Page(body.encode("iso-8859-1"), type="text/xml; charset=iso-8859-1"))
    assert follower.follow([site.url("/feed")]).added == 1
    [(title, date, text)] = stored(assistant).values()
    assert (title, date, text) == ("Café re-opens à Port", "2024-03-01",
                                   "Le café du port a rouvert ses portes mardi.")
    [article_id] = [p.article_id for p in assistant.ask("café", k=1)]
    assert follower.feeds.date_source(article_id) == "feed"


def test_two_urls_for_one_story_and_a_wire_copy_are_stored_once(site, assistant, follower):
    canonical = site.url("/ferry")
    story(site, "/ferry", "Ferry resumes", FERRY)
    site.put("/amp/ferry", article_html("Ferry resumes", FERRY, canonical=canonical))
    items = [{"title": "Ferry", "link": canonical + "?utm_source=rss&utm_medium=feed"},
             {"title": "Ferry (AMP)", "link": site.url("/amp/ferry")},
             story(site, "/wire/ferry", "Ferry resumes", FERRY, site_name="Wire")]
    report = follower.follow([site.put("/feed", Page(rss(items), type="application/rss+xml"))])
    assert report.added == 1
    assert report.skipped == [("duplicate", canonical), ("duplicate", site.url("/wire/ferry"))]
    assert list(stored(assistant)) == [canonical]


def test_article_urls_are_fetched_like_entries(site, assistant, follower):
    urls = [site.put("/a", article_html("Ferry resumes", FERRY)),
            site.put("/b?fbclid=x", article_html("Bakery wins prize", BAKERY))]
    report = follower.fetch_articles(urls + [urls[0] + "?utm_campaign=x"])
    assert (report.added, report.skipped) == (2, [("duplicate", urls[0])])
    assert sorted(stored(assistant)) == [urls[0], site.url("/b")]
    assert follower.fetch_articles(urls[:1]).unchanged == 1


def test_feeds_are_added_listed_and_removed(assistant):
    feeds = FeedStore(assistant.folder)
    one = feeds.add("http://a.example/feed")
    assert feeds.add("http://a.example/feed") == one
    feeds.add("http://b.example/feed")
    assert [f.url for f in feeds.list()] == ["http://a.example/feed", "http://b.example/feed"]
    assert feeds.remove(one.id).url == "http://a.example/feed"
    with pytest.raises(NoFeed):
        feeds.remove(one.id)
    assert [f.url for f in feeds.list()] == ["http://b.example/feed"]


def test_the_commands_follow_list_remove_and_ingest_urls(site, assistant, capsys):
    from assistant.cli.main import main

    index = ["--index", str(assistant.folder)]
    feed = site.put("/feed", Page(rss([story(site, "/ferry", "Ferry resumes", FERRY)]),
                                  type="application/rss+xml"))
    assert main(["follow", feed, *index, "--delay", "0"]) == 1  # 127.0.0.1 needs leave
    assert "private, loopback or link-local" in capsys.readouterr().out
    assert main(["follow", *index, "--allow-private", "--delay", "0"]) == 0
    assert "fetched 2, added 1" in capsys.readouterr().out
    assert main(["feeds", "list", *index]) == 0
    assert "Port News; last fetch 20" in capsys.readouterr().out
    url = site.put("/bakery", article_html("Bakery wins prize", BAKERY))
    assert main(["ingest", url, *index, "--allow-private", "--delay", "0"]) == 0
    assert "added 1" in capsys.readouterr().out
    assert main(["feeds", "remove", "1", *index]) == 0
    assert main(["feeds", "list", "--json", *index]) == 0
    assert capsys.readouterr().out.endswith("[]\n")
    assert main(["follow", *index]) == 2
    assert "no feeds are followed" in capsys.readouterr().err


FOLLOW = """
import sys
sys.path.insert(0, sys.argv[1])
from helpers import WordHashEmbedder
from assistant.embedding import embedder as embedding
embedding.load_embedder = lambda *args, **kwargs: WordHashEmbedder()
from assistant.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("point, batches_kept", [("commit:2", 1), ("after-commit:2", 2)])
def test_a_pass_killed_then_run_again_loses_nothing_and_adds_nothing_twice(
        site, tmp_path, point, batches_kept):
    """SIGKILL at the second batch's commit (or just after it, before its entries are marked
    handled), then the same command again: every entry stored once, the index healthy."""
    import os
    import signal
    import subprocess
    import sys

    from helpers import ROOT

    from assistant.storage.check import check

    Assistant(tmp_path / "index", small_settings()).close()
    items = [story(site, f"/s{i}", f"Notice {i} from the harbour",
                   f"The harbour master posted notice {i} about the spring tides.") for i in
             range(45)]
    feed = site.put("/feed", Page(rss(items), type="application/rss+xml", etag='"1"'))
    command = [sys.executable, "-c", FOLLOW, str(ROOT / "tests"), "follow", feed, "--index",
               str(tmp_path / "index"), "--allow-private", "--delay", "0"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ASSISTANT_CRASH_AT": point}
    killed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120,
                            check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assistant = Assistant(tmp_path / "index", small_settings())
    assert assistant.stats()["articles"] == 20 * batches_kept
    again = subprocess.run(command, env={**env, "ASSISTANT_CRASH_AT": ""}, capture_output=True,
                           text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"added {45 - 20 * batches_kept}" in again.stdout
    assert len(stored(assistant)) == 45 and assistant.stats()["articles"] == 45
    assert check(tmp_path / "index") == []
    assert max(site.asked(f"/s{i}") for i in range(45)) == 2
    assert FeedStore(tmp_path / "index").get(feed).etag == '"1"'


@pytest.mark.slow
def test_the_api_lists_adds_and_removes_feeds(small_copy):
    import httpx
    from helpers import AUTH, start_server

    url, stop = start_server(small_copy, settings=small_settings())
    try:
        feed = {"url": "http://news.example/feed.xml"}
        assert httpx.post(f"{url}/api/feeds", json=feed).status_code == 401
        added = httpx.post(f"{url}/api/feeds", json=feed, headers=AUTH)
        assert added.status_code == 201 and added.json()["url"] == feed["url"]
        bad = httpx.post(f"{url}/api/feeds", json={"url": "file:///etc/passwd"}, headers=AUTH)
        assert bad.status_code == 400 and "http:// or https://" in bad.json()["error"]
        listed = httpx.get(f"{url}/api/feeds").json()["feeds"]
        assert [(f["url"], f["last_fetch"], f["articles"]) for f in listed] == [
            (feed["url"], None, 0)]
        gone = f"{url}/api/feeds/{added.json()['id']}"
        assert httpx.delete(gone).status_code == 401
        assert httpx.delete(gone, headers=AUTH).json()["removed"]["url"] == feed["url"]
        assert httpx.delete(gone, headers=AUTH).status_code == 404
    finally:
        stop()


@pytest.mark.slow
@pytest.mark.alone  # each question under 0.3 s
def test_following_in_the_background_never_holds_up_questions(site, small_copy):
    from assistant.serving.feeds_api import start_following
    from assistant.serving.server import Shared

    items = [{"title": f"Slow {i}", "link": site.put(f"/slow{i}", Page(
        article_html(f"Harbour notice {i}", f"The harbour master posted notice {i}.").encode(),
        delay_s=0.4))} for i in range(4)]
    FeedStore(small_copy).add(site.put("/feed", Page(rss(items), type="application/rss+xml")))
    shared = Shared(Assistant(small_copy, small_settings(**FAST)))
    before = shared.stats()["articles"]
    stopped = start_following(shared, every_s=60, log=lambda line: None)
    slowest = 0.0
    deadline = time.monotonic() + 15
    while shared.stats()["articles"] < before + 4 and time.monotonic() < deadline:
        started = time.monotonic()
        shared.answer("Who won the chess championship?", k=3)
        slowest = max(slowest, time.monotonic() - started)
    stopped.set()
    assert shared.stats()["articles"] == before + 4
    assert slowest < 0.3


def test_the_chat_panel_follows_with_the_token_only_and_lists_feeds(assistant):
    from assistant.serving.access import Access
    from assistant.serving.feeds_panel import feeds_table, follow_feed

    access, url = Access("t0ken"), "http://news.example/feed.xml"
    assert "needs this server's token" in follow_feed(assistant, access, url, None, None)
    assert feeds_table(assistant) == []
    assert "Following" in follow_feed(assistant, access, url, "Bearer t0ken", None)
    assert "http:// or https://" in follow_feed(assistant, access, "ftp://x/", None,
                                                "t0ken")
    assert feeds_table(assistant) == [[1, url, "", "never", 0, ""]]


@pytest.mark.slow
def test_the_chat_panel_builds_in_a_page(assistant):
    import gradio as gr

    from assistant.serving.access import Access
    from assistant.serving.feeds_panel import feeds_panel

    with gr.Blocks() as page:
        feeds_panel(assistant, Access("t0ken"))
    labels = [getattr(block, "label", None) for block in page.blocks.values()]
    assert "Feed URL (RSS or Atom)" in labels
