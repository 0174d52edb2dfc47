"""A fetched news page -> an Article: main text, title, date and outlet (trafilatura), else what
the feed entry said; the canonical URL as the article's id and citation link.

The same story reached by two URLs (tracking parameters, an AMP copy, a canonical link) gets
one id, so a second fetch replaces instead of adding; a wire copy carried under another URL
has the same `text_key`, which feeds.py checks before storing it again.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..config import Settings
from ..reading.articles import BadArticle, check_date, make_article
from ..reading.words import plain
from ..types import Article
from .fetching import Fetched, FetchFailed

# Query parameters that say how a reader arrived, not what they read.
TRACKING = frozenset({"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid",
                      "ref", "ref_src", "cmpid", "ocid", "smid", "at_medium", "at_campaign",
                      "_ga", "yclid", "amp", "outputtype", "s_cid", "src"})


@dataclass(frozen=True)
class Hint:
    """What a feed entry says of its article: used where the page says nothing."""

    title: str = ""
    date: str = ""  # YYYY-MM-DD
    summary: str = ""  # may hold HTML
    source: str = ""  # the feed's title


@dataclass(frozen=True)
class Extracted:
    """An article ready to store, where its date came from ('page', 'feed' or 'fetched'),
    and its text's fingerprint (whitespace and case aside) for spotting wire copies."""

    article: Article
    date_source: str
    text_key: str


def canonical_url(url: str) -> str:
    """The URL a story is known by. Example:
    'HTTPS://Ex.org:443/a/amp/?utm_source=x&id=2&fbclid=y#top' -> 'https://ex.org/a?id=2'."""
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if parts.port in (None, default) else f"{host}:{parts.port}"
    path = re.sub(r"\.amp\.html$", ".html", re.sub(r"(/amp/?|\.amp)$", "", parts.path))
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if not (k.lower().startswith("utm_") or k.lower() in TRACKING))
    return urlunsplit((scheme, netloc, path or "/", urlencode(query), ""))


def article_id(canonical: str) -> str:
    """Example: 'https://ex.org/a' -> 'w-' and 16 hex digits: one URL, one id."""
    return "w-" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def text_key(text: str) -> str:
    return hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()


def extract(fetched: Fetched, hint: Hint = Hint(), settings: Settings | None = None,
            today: str | None = None) -> Extracted:
    """The article on `fetched`'s page; raises FetchFailed('not an article') where neither
    the page nor the hint has text to store."""
    import trafilatura

    settings = settings or Settings()
    doc = trafilatura.bare_extraction(fetched.text() or fetched.body, url=fetched.url,
                                      with_metadata=True, include_comments=False)
    host = (urlsplit(fetched.url).hostname or "").lower()
    found_url = getattr(doc, "url", None) or ""
    title = plain(getattr(doc, "title", None) or "") or plain(hint.title)
    text = _paragraphs(getattr(doc, "text", None) or "", title) or _paragraphs(
        plain(hint.summary), title)
    if not text:
        raise FetchFailed(fetched.url, "not an article", "no article text on the page")
    date, date_source = _date(getattr(doc, "date", None), hint.date, today)
    sitename = getattr(doc, "sitename", None) or ""
    source = (sitename if sitename.lower() not in (host, urlsplit(fetched.url).netloc) else
              "") or plain(hint.source) or host.removeprefix("www.")
    url = canonical_url(found_url if _same_site(found_url, host) else fetched.url)
    try:
        article = make_article(title=title or url, date=date, text=text, id=article_id(url),
                               url=url, source=source, max_chars=settings.max_article_chars)
    except BadArticle as e:
        raise FetchFailed(fetched.url, "not an article", str(e)) from None
    return Extracted(article, date_source, text_key(article.text))


def _paragraphs(text: str, title: str) -> str:
    """trafilatura's lines as paragraphs (what chunking splits on), without the headline it
    repeats from the title."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and title and lines[0] == title:
        lines = lines[1:]
    return "\n\n".join(lines)


def _same_site(url: str, host: str) -> bool:
    """Whether a page's canonical link stays on its own site (www. aside): a page may not
    claim another site's URL, and with it that site's stored article."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    return parts.hostname.lower().removeprefix("www.") == host.removeprefix("www.")


def _date(page: str | None, feed: str, today: str | None) -> tuple[str, str]:
    """The page's publication date, else the feed entry's, else the fetch day."""
    for value, source in ((page, "page"), (feed, "feed")):
        try:
            return check_date((value or "")[:10], "date"), source
        except BadArticle:
            continue
    return today or datetime.now(UTC).date().isoformat(), "fetched"
