"""The assistant as tools for LLM agents, over the Model Context Protocol (MCP).

Agents get what people get: dated, cited passages with the as-of rule intact (no passage from
after `as_of`, which defaults to today and is echoed back), and the stored articles to read.
Every tool goes through `Assistant` (or server.Shared, the same methods); what a caller gets
wrong comes back as a tool error naming the fix, never as a crash of the server; whatever is
cut to keep a result small says so and says how to get the rest.
"""
# No `from __future__ import annotations`: the SDK reads the tools' annotations, which name
# ArticleIn (uploads.py).
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from typing import Annotated

from pydantic import Field

from ..assistant import Assistant
from ..errors import AssistantError, NeedsToken
from ..reading.uploads import ArticleIn, add_json_articles

TEXT_CHARS = 20_000  # get_article's slice: a long article is read in parts
RESULT_CHARS = 40_000  # search_news's passage text, all told (k=100 is ~100,000 characters)
MAX_OUTLETS = 200  # list_sources' list; the rest are counted, never dropped silently
# Whether a call may add articles, from its HTTP headers (None over stdio).
WriteRule = Callable[[Mapping[str, str] | None], bool]

INSTRUCTIONS = (
    "A news archive you can search. Call collection_stats or list_sources first to learn which "
    "outlets and dates it covers. search_news returns cited passages dated on or before as_of "
    "(today unless you say otherwise): set as_of to the date a question is asked from, quote "
    "the passages' citations, and read a whole article with get_article(article_id).")


@contextmanager
def tool_errors():
    """The assistant's errors (bad date, k out of range, ...) as tool errors the agent reads."""
    from mcp.server.mcpserver.exceptions import ToolError

    try:
        yield
    except AssistantError as e:
        raise ToolError(str(e)) from None


def build_mcp(assistant, may_write: WriteRule | None = None):
    """An MCPServer over `assistant`. `may_write`: None, no add_articles tool; else the rule
    each add_articles call must pass (stdio: always; HTTP: the server's bearer token)."""
    from mcp.server.mcpserver import Context, MCPServer

    # The SDK sets the root logger's level: WARNING leaves serve's log as it was (a caller's
    # mistake is the caller's to read, in the tool error, not the server log's).
    server = MCPServer("news-assistant", instructions=INSTRUCTIONS, log_level="WARNING")
    add_search_tools(server, assistant)
    add_archive_tools(server, assistant)
    if may_write is not None:
        add_write_tool(server, assistant, may_write, Context)
    return server


def add_search_tools(server, assistant) -> None:
    """search_news, and get_article to read a passage's article whole."""
    max_k = assistant.settings.max_k

    @server.tool(description=(
        "Search the news archive; returns the passages that best answer `query`, best first, "
        "each with title, outlet, date, url, a ready-made citation and a score, plus `lead`: "
        "the one sentence that most directly answers (null when nothing answers). Only "
        "articles dated on or before `as_of` are searched, so that a question about the past "
        "is not answered with later news. Quote `citation` when you use a passage. `more`: "
        "the same article's other matching passages. A result over "
        f"{RESULT_CHARS:,} characters is cut, and its `note` says how many passages were left "
        "out."))
    def search_news(
        query: Annotated[str, Field(description="the question, in plain words")],
        k: Annotated[int, Field(description=f"how many passages, 1 to {max_k}")] = 5,
        as_of: Annotated[str | None, Field(description=(
            "YYYY-MM-DD: only articles dated on or before it; default today. Set it to the "
            "date the question is asked from ('who leads the league?' as of 2024-03-01)"))] = None,
        since: Annotated[str | None, Field(description=(
            "YYYY-MM-DD: only articles dated on or after it"))] = None,
        sources: Annotated[list[str] | None, Field(description=(
            "only these outlets, as list_sources names them; default all"))] = None,
    ) -> dict:
        with tool_errors():  # every rule (as_of's default too) is Assistant.query's
            answer = assistant.answer(query, k=k, as_of=as_of, since=since,
                                      sources=sources or ())
        return search_result(answer, since, sources or [])

    @server.tool(description=(
        "Read one stored article whole: title, outlet, date, url and text. `article_id` is "
        f"the article_id of a search_news passage. Texts longer than {TEXT_CHARS:,} characters "
        "come in parts: a cut one says so in `note` and gives `next_offset` to call again with."))
    def get_article(
        article_id: Annotated[str, Field(description="a passage's article_id from search_news")],
        offset: Annotated[int, Field(description="character to start at (from next_offset)")] = 0,
    ) -> dict:
        from mcp.server.mcpserver.exceptions import ToolError

        article = assistant.article(article_id)
        if article is None:
            raise ToolError(f"no article has the id {article_id!r}; ids are the article_id "
                            "of search_news passages")
        return article_part(article, offset)


def add_archive_tools(server, assistant) -> None:
    """What the archive holds: list_sources, collection_stats, and each stored article as
    the resource article://{article_id}."""

    @server.tool(description=(
        "The outlets in the archive, each with its article count and its oldest and newest "
        "article date: which `sources` search_news can filter on."))
    def list_sources() -> dict:
        outlets = assistant.outlets()
        out = {"sources": outlets[:MAX_OUTLETS], "total": len(outlets)}
        if len(outlets) > MAX_OUTLETS:
            out["note"] = (f"cut: the {MAX_OUTLETS} outlets with most articles of "
                           f"{len(outlets)}; search_news accepts any of them")
        return out

    @server.tool(description=(
        "What the archive holds: articles, passages, outlets and the date range it covers, "
        "and today's date (search_news's default as_of). Call it before searching."))
    def collection_stats() -> dict:
        stats = assistant.stats()
        return {"articles": stats["articles"], "passages": stats["passages"],
                "outlets": len(assistant.outlets()), "oldest": stats["oldest"],
                "newest": stats["newest"], "today": Assistant.default_as_of()}

    @server.resource("article://{article_id}", name="article", mime_type="text/plain",
                     description="A stored article, whole: title, outlet, date, url, text")
    def article_resource(article_id: str) -> str:
        from mcp.server.mcpserver.exceptions import ResourceNotFoundError

        article = assistant.article(article_id)
        if article is None:
            raise ResourceNotFoundError(f"no article has the id {article_id!r}")
        where = ", ".join(x for x in (article.source, article.date) if x)
        return f"{article.title}\n{where}\n{article.url}\n\n{article.text}"


def add_write_tool(server, assistant, may_write: WriteRule, context_type) -> None:
    """add_articles, for a server started with writes enabled."""

    def add_articles(
        articles: Annotated[list[ArticleIn], Field(description="the articles to add")],
        ctx: context_type,
    ) -> dict:
        with tool_errors():
            if not may_write(request_headers(ctx)):
                raise NeedsToken("add articles")
            return add_json_articles(assistant, articles).to_dict()

    server.add_tool(add_articles, description=(
        "Add articles to the archive (or replace those with the same id), each with title, "
        "date (YYYY-MM-DD) and text; returns how many were added, updated, unchanged and "
        "skipped, with the reason for each skipped one."))


def request_headers(ctx) -> Mapping[str, str] | None:
    """The HTTP headers of the call that `ctx` serves; None over stdio."""
    request = getattr(ctx.request_context, "request", None)
    return getattr(request, "headers", None)


def search_result(answer, since: str | None, sources: list[str],
                  limit: int = RESULT_CHARS) -> dict:
    """An `Answer` as an agent reads it: the passages with their citations (each with the same
    article's other passages found, `more`), and the lead; passages past `limit` characters
    of text are left out, and `note` says how many."""
    passages, left_out, budget = [], 0, [limit]

    def fits(text: str) -> bool:
        if len(text) > budget[0]:
            budget[0] = 0  # nothing after a passage left out: the rank order holds
            return False
        budget[0] -= len(text)
        return True

    for n, p in enumerate(answer.passages, 1):
        if not fits(p.text):
            left_out += 1 + len(p.more)
            continue
        more = [{"text": m.text, "score": round(m.score, 4)} for m in p.more if fits(m.text)]
        left_out += len(p.more) - len(more)
        passages.append({"number": n, "title": p.title, "outlet": p.source, "date": p.date,
                         "url": p.url, "citation": p.citation, "score": round(p.score, 4),
                         "article_id": p.article_id, "text": p.text, "more": more})
    out = {"query": answer.question, "as_of": answer.as_of, "since": since, "sources": sources,
           "answered": answer.answered, "heading": answer.heading,
           "lead": answer.lead.to_dict() if answer.lead else None, "passages": passages}
    if left_out:
        out["note"] = (f"cut: {left_out} passages left out to keep the result under {limit:,} "
                       "characters; ask with a smaller k, or read whole articles with get_article")
    return out


def article_part(article, offset: int) -> dict:
    """The article with TEXT_CHARS of its text from `offset`, and a note where it is cut."""
    from mcp.server.mcpserver.exceptions import ToolError

    total = len(article.text)
    if isinstance(offset, bool) or not 0 <= offset < max(total, 1):
        raise ToolError(f"offset must be from 0 to {max(total - 1, 0)} (the text is {total:,} "
                        f"characters long), got {offset!r}")
    end = min(offset + TEXT_CHARS, total)
    out = {"article_id": article.id, "title": article.title, "outlet": article.source,
           "date": article.date, "url": article.url, "text": article.text[offset:end],
           "offset": offset, "total_chars": total, "next_offset": end if end < total else None}
    if end < total:
        out["note"] = (f"cut at character {end:,} of {total:,}: call get_article with "
                       f"offset={end} for the rest")
    return out


def mount_mcp(app, shared, access) -> None:
    """The same server at /mcp (streamable HTTP) on the FastAPI `app` of `assistant serve`:
    add_articles passes the API's rule (the bearer token, none with --no-token); the Host and
    cross-site rules are access.Guard's, in front of the whole app."""
    from contextlib import asynccontextmanager

    from mcp.server.transport_security import TransportSecuritySettings

    server = build_mcp(shared, lambda headers: access.may_write(
        (headers or {}).get("authorization")))
    # Guard already checks Host against --host/--allow-host; the SDK's own check knows only
    # loopback names and would refuse what Guard allows.
    mcp_app = server.streamable_http_app(transport_security=TransportSecuritySettings(
        enable_dns_rebinding_protection=False))
    app.router.routes.extend(mcp_app.routes)  # the route at /mcp
    outer = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(asgi_app):
        async with server.session_manager.run(), outer(asgi_app) as state:
            yield state

    app.router.lifespan_context = lifespan
