"""A real HTTP server on 127.0.0.1 for the fetching, feeds and watch tests: each test puts
the pages and feeds it needs at paths, changes them between passes, and reads back what was
asked of it (the requests, their headers, and how much of a body went out)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Page:
    """What one path answers. `body` may be an iterable of chunks (sent without a length,
    for bodies that must be streamed); `etag`/`last_modified` make the path answer 304 to a
    request that presents them; `delay_s` sleeps before the headers (a timeout)."""

    body: bytes | Callable[[], Iterable[bytes]] = b""
    type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay_s: float = 0.0


class Site:
    """`site.put('/a', Page(...))`, then fetch `site.url('/a')`; unknown paths are 404."""

    def __init__(self):
        self.pages: dict[str, Page] = {}
        self.requests: list[tuple[str, dict]] = []
        self.sent: dict[str, int] = {}  # path -> body bytes written before the client left
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site.requests.append((self.path, dict(self.headers)))
                page = site.pages.get(self.path) or site.pages.get(self.path.split("?")[0])
                if page is None:
                    self.send_error(404)
                    return
                time.sleep(page.delay_s)
                if (page.etag and self.headers.get("If-None-Match") == page.etag) or (
                        page.last_modified
                        and self.headers.get("If-Modified-Since") == page.last_modified):
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(page.status)
                self.send_header("Content-Type", page.type)
                for name, value in {**page.headers, "ETag": page.etag,
                                    "Last-Modified": page.last_modified}.items():
                    if value:
                        self.send_header(name, value)
                streamed = callable(page.body)
                if not streamed:
                    self.send_header("Content-Length", str(len(page.body)))
                self.end_headers()
                sent = 0
                try:
                    for chunk in page.body() if streamed else [page.body]:
                        self.wfile.write(chunk)
                        sent += len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                site.sent[self.path] = sent

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       args=(0.05,), daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def put(self, path: str, page: Page | str | bytes) -> str:
        """Serve `page` at `path` (a str or bytes: an HTML page); returns its URL."""
        if not isinstance(page, Page):
            page = Page(page.encode() if isinstance(page, str) else page)
        self.pages[path] = page
        return self.url(path)

    def asked(self, path: str) -> int:
        """How many requests `path` has had."""
        return sum(1 for p, _ in self.requests if p == path)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def article_html(title: str, body: str, date: str = "", canonical: str = "",
                 site_name: str = "Port News") -> str:
    """A news page as outlets write them: head metadata, navigation, the article, a footer."""
    meta = f'<meta property="article:published_time" content="{date}T09:00:00Z">' if date else ""
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
    return (f"<html><head><title>{title} | {site_name}</title>{link}{meta}"
            f'<meta property="og:site_name" content="{site_name}"></head><body>'
            f"<nav><a href='/'>Home</a> <a href='/about'>About</a></nav>"
            f"<article><h1>{title}</h1>{paragraphs}</article>"
            f"<footer>Copyright {site_name}</footer></body></html>")



def tags(**values) -> str:
    """Example: tags(title='A', pubDate=None) -> '<title>A</title>' (empty values left out)."""
    return "".join(f"<{name.replace('_', ':')}>{value}</{name.replace('_', ':')}>"
                   for name, value in values.items() if value)


def rss(items: list[dict], title: str = "Port News") -> bytes:
    """An RSS 2.0 feed; an item: {'title', 'link', optional 'date' (RFC 822), 'summary',
    'guid'}."""
    body = "".join("<item>" + tags(title=i["title"], link=i["link"], guid=i.get("guid", i["link"]),
                                   pubDate=i.get("date"), description=i.get("summary"))
                   + "</item>" for i in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{title}</title><link>http://port.example/</link>"
            f"<description>news</description>{body}</channel></rss>").encode()


def atom(items: list[dict], title: str = "Port News") -> bytes:
    """An Atom feed; an item: {'title', 'link', optional 'date' (ISO 8601), 'summary'}."""
    body = "".join(f"<entry><link href=\"{i['link']}\"/>" + tags(
        title=i["title"], id=i.get("guid", i["link"]),
        updated=i.get("date", "2024-03-01T09:00:00Z"), summary=i.get("summary")) + "</entry>"
        for i in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>{title}</title><id>urn:feed</id><updated>2024-03-01T09:00:00Z</updated>"
            f"{body}</feed>").encode()


def rss1(items: list[dict], title: str = "Port News") -> bytes:
    """An RSS 1.0 (RDF) feed; an item: {'title', 'link', optional 'date' (ISO 8601)}."""
    body = "".join(f"<item rdf:about=\"{i['link']}\">" + tags(
        title=i["title"], link=i["link"], dc_date=i.get("date")) + "</item>" for i in items)
    return ('<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-'
            'ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f'<channel rdf:about="http://port.example/"><title>{title}</title>'
            f"<link>http://port.example/</link><description>news</description></channel>"
            f"{body}</rdf:RDF>").encode()
