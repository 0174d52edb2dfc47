"""Polite, safe HTTP GETs of feeds and article pages, for `follow`, `ingest URL` and `watch`'s
siblings: one request at a time per host, robots.txt honoured, bounded in time and size.

Built on the standard library's http.client rather than a client that resolves names itself:
the address checked against private ranges is the very one connected to (a DNS answer that
changes between the check and the connection cannot slip a request to 127.0.0.1 through), and
every redirect is followed by hand, checked again, and limited.
"""
from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from ..config import Settings
from ..errors import AssistantError

AGENT = "news-assistant"  # the token robots.txt rules name
USER_AGENT = (f"{AGENT}/1 (a news question-answering assistant following the feeds its user "
              "chose; one request at a time per host, robots.txt honoured)")
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
PARSED_TYPES = ("text/html", "application/xhtml+xml", "text/xml", "application/xml")
ROBOTS_TTL_S = 3600.0  # a long follow re-reads robots.txt this often
MAX_CRAWL_DELAY_S = 60.0  # a robots.txt Crawl-delay past this is read as this


class FetchFailed(AssistantError):
    """A URL that was not fetched; `reason` is one of the report's skip reasons ('robots',
    'too large', 'not an article', 'private address') or 'failed' (HTTP error, timeout,
    redirects, network)."""

    http_status = 502

    def __init__(self, url: str, reason: str, detail: str):
        super().__init__(f"{url}: {detail}")
        self.url, self.reason, self.detail = url, reason, detail


@dataclass(frozen=True)
class Fetched:
    """One response. `url`: where the body came from, after redirects; `status` 304: not
    modified since the ETag / Last-Modified given (no body)."""

    url: str
    status: int
    body: bytes = b""
    content_type: str = ""
    charset: str | None = None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def text(self) -> str | None:
        """The body decoded by the charset the headers declare; None where they declare none
        (the parser then reads the page's own <meta charset> or XML declaration)."""
        if not self.charset:
            return None
        try:
            return self.body.decode(self.charset, errors="replace")
        except LookupError:  # a charset Python does not know: let the parser sniff
            return None


def parsed_type(content_type: str) -> bool:
    """Example: 'text/html' -> True; 'application/rss+xml' -> True; 'application/pdf' -> False."""
    return content_type in PARSED_TYPES or content_type.endswith("+xml")


def public_address(ip: str) -> bool:
    """Example: '93.184.216.34' -> True; '127.0.0.1', '10.1.2.3', '169.254.169.254',
    '::ffff:192.168.0.1' -> False."""
    address = ipaddress.ip_address(ip.split("%")[0])
    mapped = getattr(address, "ipv4_mapped", None)
    address = mapped or address
    return not (address.is_private or address.is_loopback or address.is_link_local
                or address.is_multicast or address.is_reserved or address.is_unspecified)


class _Pinned(http.client.HTTPConnection):
    """An HTTP(S) connection to one checked address, whatever the host name resolves to now."""

    def __init__(self, host: str, port: int, ip: str, connect_s: float, read_s: float,
                 tls: ssl.SSLContext | None):
        super().__init__(host, port, timeout=read_s)
        self.ip, self.connect_s, self.read_s, self.tls = ip, connect_s, read_s, tls
        self.default_port = 443 if tls else 80

    def connect(self):
        sock = socket.create_connection((self.ip, self.port), self.connect_s)
        sock.settimeout(self.read_s)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host) if self.tls else sock


class _Robots(RobotFileParser):
    """A RobotFileParser whose two verdict flags, set by its own __init__ and read(), are
    declared: typeshed leaves them out."""

    allow_all: bool
    disallow_all: bool


class Fetcher:
    """GETs with the manners a site can expect: a User-Agent naming the project, at most one
    request per `Settings.fetch_delay_s` (or the site's Crawl-delay) to a host, robots.txt
    obeyed, conditional requests, and bounds: `fetch_timeout_s` to connect and between reads
    (four times that in all), `max_page_bytes` a body, MAX_REDIRECTS hops, http(s) only, and
    no private, loopback or link-local address unless `allow_private`."""

    def __init__(self, settings: Settings | None = None, allow_private: bool | None = None):
        settings = settings or Settings()
        self.delay_s, self.timeout_s = settings.fetch_delay_s, settings.fetch_timeout_s
        self.max_bytes = settings.max_page_bytes
        self.allow_private = settings.allow_private if allow_private is None else allow_private
        self._last: dict[str, float] = {}  # host -> when its last request started
        self._robots: dict[str, tuple[float, RobotFileParser]] = {}
        self._tls = ssl.create_default_context()

    def get(self, url: str, etag: str | None = None, last_modified: str | None = None
            ) -> Fetched:
        """The body at `url` (following redirects), or 304 when the validators still hold;
        raises FetchFailed with the reason otherwise."""
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity",
                   "Accept": "text/html, application/xhtml+xml, application/xml;q=0.9, */*;q=0.1"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        for _ in range(MAX_REDIRECTS + 1):
            self._target(url)  # a private address is refused before its robots.txt is read
            if not self.allowed(url):
                raise FetchFailed(url, "robots", "robots.txt disallows it")
            fetched = self._once(url, headers)
            if fetched.status not in REDIRECTS:
                if fetched.status not in (200, 304):
                    raise FetchFailed(url, "failed", f"HTTP {fetched.status}")
                return fetched
            url = fetched.url
        raise FetchFailed(url, "failed", f"more than {MAX_REDIRECTS} redirects")

    def allowed(self, url: str) -> bool:
        """Whether the site's robots.txt lets this agent fetch `url`. RFC 9309: a robots.txt
        that is missing (4xx) allows all; one that cannot be read (5xx, timeout) allows none."""
        parts = urlsplit(url)
        if parts.path in ("/robots.txt", "robots.txt"):
            return True
        site = f"{parts.scheme}://{parts.netloc}"
        cached = self._robots.get(site)
        if cached is None or time.monotonic() - cached[0] > ROBOTS_TTL_S:
            cached = time.monotonic(), self._read_robots(site)
            self._robots[site] = cached
        return cached[1].can_fetch(AGENT, url)

    def _read_robots(self, site: str) -> RobotFileParser:
        rules = _Robots(f"{site}/robots.txt")
        try:
            fetched = self._once(f"{site}/robots.txt", {"User-Agent": USER_AGENT}, any_type=True)
            if fetched.status in REDIRECTS:
                fetched = self._once(fetched.url, {"User-Agent": USER_AGENT}, any_type=True)
        except FetchFailed as e:
            rules.disallow_all = e.reason != "too large"
            return rules
        if fetched.status == 200:
            rules.parse(fetched.body.decode("utf-8", errors="replace").splitlines())
        else:
            rules.allow_all = 400 <= fetched.status < 500
            rules.disallow_all = not rules.allow_all
        return rules

    def _once(self, url: str, headers: dict, any_type: bool = False) -> Fetched:
        """One request, no redirect followed: a redirect comes back with `url` its target."""
        parts, port, ip = self._target(url)
        self._wait_turn(parts.hostname)
        conn = _Pinned(parts.hostname, port, ip, self.timeout_s, self.timeout_s,
                       self._tls if parts.scheme == "https" else None)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        response = None
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            if response.status in REDIRECTS:
                target = urljoin(url, response.getheader("Location") or "")
                if urlsplit(target).scheme not in ("http", "https"):
                    raise FetchFailed(url, "failed", f"redirects to a non-HTTP URL {target[:80]}")
                return Fetched(target, response.status)
            return self._body(url, response, any_type)
        except (OSError, http.client.HTTPException) as e:
            detail = (f"timed out after {self.timeout_s:g}s" if isinstance(e, TimeoutError)
                      else f"{type(e).__name__}: {e}")
            raise FetchFailed(url, "failed", detail) from None
        finally:  # the response holds the socket past conn.close() when the server closes
            if response is not None:
                response.close()
            conn.close()

    def _body(self, url: str, response, any_type: bool) -> Fetched:
        media, _, params = (response.getheader("Content-Type") or "").partition(";")
        media = media.strip().lower()
        charset = next((p.split("=", 1)[1].strip(" \"'") for p in params.split(";")
                        if p.strip().lower().startswith("charset=")), None)
        validators = dict(etag=response.getheader("ETag"),
                          last_modified=response.getheader("Last-Modified"))
        if response.status != 200:
            return Fetched(url, response.status, **validators)
        if not any_type and not parsed_type(media):
            raise FetchFailed(url, "not an article", f"not HTML or XML ({media or 'no type'})")
        length = response.getheader("Content-Length")
        if length and length.isdigit() and int(length) > self.max_bytes:
            raise FetchFailed(url, "too large", f"{int(length):,} bytes, over the limit of "
                              f"{self.max_bytes:,} (Settings.max_page_bytes)")
        return Fetched(url, 200, self._read_capped(url, response), media, charset, **validators)

    def _read_capped(self, url: str, response) -> bytes:
        """The body, read in pieces and given up on past `max_bytes` or the overall deadline
        (a server dripping a byte a second never times out a single read)."""
        parts, total, deadline = [], 0, time.monotonic() + 4 * self.timeout_s
        while piece := response.read(65536):
            total += len(piece)
            if total > self.max_bytes:
                raise FetchFailed(url, "too large", f"over {self.max_bytes:,} bytes "
                                  "(Settings.max_page_bytes); stopped reading")
            if time.monotonic() > deadline:
                raise FetchFailed(url, "failed", f"still sending after {4 * self.timeout_s:g}s")
            parts.append(piece)
        return b"".join(parts)

    def _target(self, url: str):
        """(parts, port, address) of `url`: http(s) only; the address to connect to is the
        first the name resolves to, refused (unless allow_private) when any of them is
        private, loopback or link-local."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchFailed(url, "failed", "only http and https URLs are fetched")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise FetchFailed(url, "failed", "the port is not a number from 0 to 65535") from None
        return parts, port, self._address(url, parts.hostname, port)

    def _address(self, url: str, host: str, port: int) -> str:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as e:
            raise FetchFailed(url, "failed", f"cannot resolve {host}: {e}") from None
        ips = [str(info[4][0]) for info in infos]  # an IP (typed str | int for other families)
        if not self.allow_private and not all(public_address(ip) for ip in ips):
            raise FetchFailed(url, "private address", f"{host} is a private, loopback or "
                              "link-local address (--allow-private fetches it)")
        return ips[0]

    def _wait_turn(self, host: str) -> None:
        """Sleep until this host's last request is `delay` old: Crawl-delay or our own."""
        delay = self.delay_s
        for site, (_, rules) in self._robots.items():
            if urlsplit(site).hostname == host:
                delay = max(delay, min(float(rules.crawl_delay(AGENT) or 0), MAX_CRAWL_DELAY_S))
        wait = self._last.get(host, -1e9) + delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last[host] = time.monotonic()
