"""Who may reach the server and who may write: the Host header, cross-site requests, the token.

A page in the user's browser can reach a server on 127.0.0.1, so loopback is no protection on
its own. As Jupyter does, the server checks the Host header against the names it answers to
(a DNS-rebinding page sends its own name), refuses writes a browser sends from another site,
and asks for a token that the user gets in the URL printed at start.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from hashlib import sha256
from urllib.parse import parse_qsl, urlencode, urlsplit

LOCAL_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Gradio's own routes that write files to the server; its events check the token themselves.
GRADIO_WRITES = frozenset({"/gradio_api/upload", "/gradio_api/process_recording"})
TOKEN_PARAM = "token"  # in the URL the user opens; only ever turned into the page's cookie


@dataclass(frozen=True)
class Access:
    """The server's rules: its write token (None: writes open), the host names it answers to,
    and the web origins allowed to call it from another site (CORS)."""

    token: str | None
    hosts: frozenset[str] = LOCAL_NAMES
    origins: frozenset[str] = frozenset()

    @classmethod
    def for_server(cls, token: str | None, host: str = "127.0.0.1", allow_hosts=(),
                   allow_origins=()) -> Access:
        """Example: (None, '0.0.0.0', ['news.lan']) -> hosts 127.0.0.1, localhost, ::1,
        0.0.0.0, news.lan"""
        names = {host_name(name) for name in (host, *allow_hosts)}
        return cls(token, LOCAL_NAMES | names, frozenset(o.rstrip("/") for o in allow_origins))

    @property
    def cookie(self) -> str:
        """The page's cookie name, one per token: servers on other ports keep their own."""
        return "assistant-" + sha256((self.token or "").encode()).hexdigest()[:12]

    def may_write(self, authorization: str | None, cookie: str | None = None) -> bool:
        """The one write rule of every edge: no token (--no-token), or a program's bearer
        header, or (the chat's pages only) the cookie of a page opened with the token in its
        URL. The JSON API, its feeds and MCP pass no cookie: the bearer header only."""
        return self.token is None or token_matches(bearer(authorization), self.token) \
            or token_matches(cookie, self.token)

    def check_write(self, authorization: str | None, cookie: str | None = None,
                    what: str = "add or delete articles") -> None:
        """`may_write`, or NeedsToken (401 at the HTTP edge, a tool error for an agent)."""
        if not self.may_write(authorization, cookie):
            from ..errors import NeedsToken

            raise NeedsToken(what)


def new_token() -> str:
    """A fresh token for one run of the server: 32 random bytes, URL-safe."""
    return secrets.token_urlsafe(32)


def host_name(host: str) -> str:
    """The name in a Host header, without its port.

    Example: '127.0.0.1:7860' -> '127.0.0.1'; '[::1]:7860' -> '::1'; 'LocalHost' -> 'localhost'
    """
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") > 1:  # a bare IPv6 address, as given to --host
        return host
    return host.partition(":")[0]


def bearer(authorization: str | None) -> str | None:
    """The token of an Authorization header; the scheme is case-insensitive (RFC 7235).

    Example: 'bearer abc' -> 'abc'; 'Basic abc' -> None; None -> None
    """
    scheme, _, value = (authorization or "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def token_matches(given: str | None, token: str) -> bool:
    """Constant-time comparison, so that timing does not leak the token."""
    if not given:
        return False
    return secrets.compare_digest(given.encode(), token.encode())


def cross_site(method: str, host: str, origin: str | None, fetch_site: str | None,
               origins: frozenset[str]) -> bool:
    """Whether a write comes from a page of another site (the request a browser sends for a
    form or fetch on a foreign page). Programs send neither Origin nor Sec-Fetch-Site.

    Example: ('POST', '127.0.0.1:7860', 'http://evil.example', 'cross-site', {}) -> True;
             ('POST', '127.0.0.1:7860', 'http://127.0.0.1:7860', 'same-origin', {}) -> False;
             ('GET', '127.0.0.1:7860', 'http://evil.example', 'cross-site', {}) -> False
    """
    if method.upper() in SAFE_METHODS or (origin or "").rstrip("/") in origins:
        return False
    if fetch_site is not None and fetch_site.lower() not in ("same-origin", "none"):
        return True
    return origin is not None and urlsplit(origin).netloc.lower() != host.strip().lower()


def without_token(path: str, query: str) -> str:
    """Example: ('/', 'token=abc&x=1') -> '/?x=1'; ('/', 'token=abc') -> '/'"""
    rest = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != TOKEN_PARAM]
    return path + ("?" + urlencode(rest) if rest else "")


class Guard:
    """ASGI middleware in front of the API and the chat: foreign Host -> 403, cross-site
    write -> 403, Gradio's upload without the token -> 401, and a page opened with
    `?token=` gets the token as a cookie (then the same page without it in the address)."""

    def __init__(self, app, access: Access):
        self.app, self.access = app, access

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        from starlette.datastructures import Headers
        from starlette.requests import cookie_parser

        headers = Headers(scope=scope)
        method = scope.get("method", "GET")
        path = scope["path"].rstrip("/") or "/"
        if host_name(headers.get("host", "")) not in self.access.hosts:
            return await refuse(scope, receive, send, 403, "this server does not answer to the "
                                "name in the Host header; start it with --allow-host NAME")
        if cross_site(method, headers.get("host", ""), headers.get("origin"),
                      headers.get("sec-fetch-site"), self.access.origins):
            return await refuse(scope, receive, send, 403, "writes from another site's page are "
                                "refused; list its origin with --allow-origin to allow them")
        cookie = cookie_parser(headers.get("cookie", "")).get(self.access.cookie)
        writes = method not in SAFE_METHODS and path in GRADIO_WRITES
        if writes and not self.access.may_write(headers.get("authorization"), cookie):
            return await refuse(scope, receive, send, 401, "uploading needs the server's token: "
                                "open the URL that 'assistant serve' printed")
        query = scope.get("query_string", b"").decode("latin-1")
        given = dict(parse_qsl(query)).get(TOKEN_PARAM)
        if method == "GET" and given is not None and not path.startswith("/api/"):
            return await self.remember(scope, receive, send, given, query)
        return await self.app(scope, receive, send)

    async def remember(self, scope, receive, send, given: str, query: str):
        """Turn the token of the opened URL into a cookie (when it is right), then show the
        page without the token in its address, so that it is not bookmarked or shared."""
        from starlette.responses import RedirectResponse

        response = RedirectResponse(without_token(scope["path"], query), status_code=303)
        if self.access.token and token_matches(given, self.access.token):
            response.set_cookie(self.access.cookie, self.access.token, httponly=True,
                                samesite="strict")
        await response(scope, receive, send)


async def refuse(scope, receive, send, status: int, message: str) -> None:
    """A JSON error before the app sees the request (its body is never read)."""
    if scope["type"] == "websocket":
        return await send({"type": "websocket.close", "code": 1008})
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
