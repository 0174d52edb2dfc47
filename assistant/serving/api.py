"""The HTTP JSON API: ask, add and delete articles, stats, health; a thin edge over Assistant.

Errors come back as `{"error": "<what to fix>"}`: 4xx for what the caller can fix, 503 when
the model stalls, 500 (no traceback) for the rest. Writes need `Authorization: Bearer <token>`
when the server has a token; the Host, Origin and CORS rules are in access.py.
"""
# No `from __future__ import annotations` here: FastAPI must resolve the annotations of the
# routes and models that create_app defines locally, which strings would hide from it.

from ..errors import AssistantError, EmbeddingStalled, NeedsToken, NothingRead
from ..reading.uploads import ArticleIn, add_json_articles, read_something
from .access import Access, Guard
from .api_input import (
    ASK_PARAMETERS,
    form_files,
    json_articles,
    not_json_message,
    read_body,
    unknown_message,
    validation_message,
)

MAX_UPLOAD_BYTES = 50_000_000  # one request; the UI's uploads share the limit
MAX_IN_FLIGHT = 16  # API requests served at once; past this, 503 at once instead of a queue


def create_app(assistant, access: Access, max_upload_bytes: int = MAX_UPLOAD_BYTES,
               max_in_flight: int = MAX_IN_FLIGHT):
    """A FastAPI app serving `assistant` under /api, with its schema at /openapi.json, behind
    the `access` rules (which cover whatever is mounted on it later: the chat)."""
    from fastapi import FastAPI
    from starlette.middleware.cors import CORSMiddleware

    app = FastAPI(title="News assistant", version="1", docs_url=None, redoc_url=None,
                  description="Cited passages from a news index, as of a date.")
    offline_docs(app)
    # Gradio answers any localhost origin with credentials unless its parent app has a
    # CORSMiddleware: this one allows only the origins the user listed (none by default).
    app.add_middleware(CORSMiddleware, allow_origins=sorted(access.origins),
                       allow_methods=["GET", "POST", "DELETE"],
                       allow_headers=["Authorization", "Content-Type"])
    app.add_middleware(Guard, access=access)  # added after CORS: it runs before it
    limit_load(app, max_in_flight)
    error_handlers(app)
    ask_routes(app, assistant)
    article_routes(app, assistant, access, max_upload_bytes)
    index_routes(app, assistant)
    return app


def json_error(status: int, message: str, **extra):
    """The API's one error shape: `{"error": "<what to fix>", ...extra}`."""
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": message, **extra}, status_code=status)


def limit_load(app, max_in_flight: int) -> None:
    """At most `max_in_flight` requests under /api at once (health aside); an unknown route
    under /api is the API's 404 or 405, never the chat's page."""
    from fastapi import Request
    from fastapi.responses import JSONResponse

    in_flight = [0]  # requests under /api now; one event loop, so no lock is needed

    @app.middleware("http")
    async def shed_load(request: Request, call_next):
        """Refuse what cannot be served soon: memory and latency stay bounded under load."""
        if not request.url.path.startswith("/api/") or request.url.path == "/api/health":
            return await call_next(request)
        match = route_match(app, request.scope)  # else the chat mounted at / would answer
        if match != "full" and request.method != "OPTIONS":  # CORS answers preflights
            return json_error(404 if match == "none" else 405,
                              f"there is no {request.method} {request.url.path}; "
                              "the API's routes are listed at /docs")
        if in_flight[0] >= max_in_flight:
            return JSONResponse({"error": "the server is busy; retry in a second"},
                                status_code=503, headers={"Retry-After": "1"})
        in_flight[0] += 1
        try:
            return await call_next(request)
        finally:
            in_flight[0] -= 1


def error_handlers(app) -> None:
    """Every error as JSON naming the fix, with its status (errors.py's for ours)."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    @app.exception_handler(AssistantError)
    def assistant_error(request, e: AssistantError):
        return json_error(e.http_status, str(e))

    @app.exception_handler(NothingRead)
    def nothing_read(request, e: NothingRead):
        return json_error(e.http_status, str(e), report=e.report.to_dict())

    @app.exception_handler(NeedsToken)
    def needs_token(request, e: NeedsToken):
        return JSONResponse({"error": str(e)}, status_code=e.http_status,
                            headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(EmbeddingStalled)
    def stalled(request, e: EmbeddingStalled):
        """The model stopped making progress on this question: it may be retried."""
        return JSONResponse({"error": str(e)}, status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    def unexpected(request, e: Exception):
        """A bug of ours: JSON without a traceback for the caller; Starlette re-raises the
        exception after this answer, so the server's log has the traceback."""
        return json_error(500, f"the server failed on this request ({type(e).__name__}); "
                               "the server's log has the details")

    @app.exception_handler(HTTPException)
    def http_error(request, e: HTTPException):
        return json_error(e.status_code, str(e.detail))

    @app.exception_handler(RequestValidationError)
    def invalid(request, e: RequestValidationError):
        errors = e.errors()
        broken = [x for x in errors if x.get("type") == "json_invalid"]
        if broken:
            return json_error(400, not_json_message(broken[0]))
        extra = [str(x["loc"][-1]) for x in errors if x.get("type") == "extra_forbidden"]
        if extra:
            return json_error(400, unknown_message(extra))
        return json_error(422, validation_message(errors))


def ask_routes(app, assistant) -> None:
    """/api/ask, GET with a query string or POST with a JSON body: the same parameters."""
    from fastapi import Query, Request
    from pydantic import BaseModel, Field

    class AskBody(BaseModel):
        model_config = {"extra": "forbid"}  # a misspelt filter is an error, not ignored
        q: str
        k: int = 5
        as_of: str | None = None
        since: str | None = None
        sources: list[str] = Field(default_factory=list)

    def ask(q, k, as_of, since, sources) -> dict:
        return assistant.answer(q, k=k, as_of=as_of, since=since, sources=sources).to_dict()

    @app.get("/api/ask", tags=["ask"], summary="The passages that answer a question")
    def ask_get(request: Request, q: str = Query(description="the question"), k: int = 5,
                as_of: str | None = Query(None, description="only articles dated up to YYYY-MM-DD"),
                since: str | None = Query(None, description="only articles from YYYY-MM-DD"),
                sources: list[str] = Query([], description="only these outlets (repeatable)")):
        extra = [name for name in request.query_params if name not in ASK_PARAMETERS]
        if extra:
            return json_error(400, unknown_message(extra))
        return ask(q, k, as_of, since, sources)

    @app.post("/api/ask", tags=["ask"], summary="The same, with a JSON body")
    def ask_post(body: AskBody):
        return ask(body.q, body.k, body.as_of, body.since, body.sources)


def article_routes(app, assistant, access: Access, max_upload_bytes: int) -> None:
    """Adding (a JSON body or files in a form) and deleting articles: writes, so they need
    the bearer token when the server has one."""
    from fastapi import Depends, Request
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
    from pydantic import BaseModel
    from starlette.concurrency import run_in_threadpool
    from starlette.exceptions import HTTPException

    bearer = HTTPBearer(auto_error=False, description="the server's --token")

    class ArticlesIn(BaseModel):
        articles: list[ArticleIn]

    def writer(request: Request,
               credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        """access.py's one rule (the bearer header only: no cookie for the JSON API);
        `credentials` puts the scheme in the schema."""
        access.check_write(request.headers.get("authorization"))

    @app.post("/api/articles", tags=["articles"], dependencies=[Depends(writer)],
              summary="Add articles: a JSON body, or files (.txt, .jsonl, .jsonl.gz) as a form",
              openapi_extra={"requestBody": {"content": {
                  "application/json": {"schema": ArticlesIn.model_json_schema()},
                  "multipart/form-data": {"schema": {"type": "object", "properties": {
                      "files": {"type": "array", "items": {"type": "string",
                                                           "format": "binary"}}}}}}}})
    async def add_articles(request: Request):
        body = await read_body(request, max_upload_bytes)
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/json":
            items = json_articles(ArticlesIn, body)
            report = await run_in_threadpool(add_json_articles, assistant, items)
        elif kind == "multipart/form-data":
            files = await form_files(request, body, max_upload_bytes)
            report = await run_in_threadpool(assistant.add_files, files)
        else:
            return json_error(415, "send articles as application/json ({\"articles\": [...]}) "
                                   "or as files in multipart/form-data")
        return read_something(report).to_dict()

    @app.delete("/api/articles/{article_id}", tags=["articles"], dependencies=[Depends(writer)],
                summary="Remove one article")
    def delete_article(article_id: str):
        if not assistant.delete([article_id]):
            raise HTTPException(404, f"no article has the id {article_id!r}; "
                                     "ids are in the 'article_id' of /api/ask results")
        return {"deleted": article_id}


def index_routes(app, assistant) -> None:
    """What the index holds, and whether the server is up."""

    @app.get("/api/stats", tags=["index"], summary="What the index holds")
    def stats():
        return assistant.stats()

    @app.get("/api/health", tags=["index"], summary="Whether the server is up")
    def health():
        return {"status": "ok"}


def offline_docs(app) -> None:
    """/docs with Swagger UI's files from the installed swagger-ui-bundle, not a CDN: the
    docs work on a machine without internet."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs/assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title}: API",
                                   swagger_js_url="/docs/assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs/assets/swagger-ui.css",
                                   swagger_favicon_url="/docs/assets/favicon-32x32.png")


def route_match(app, scope) -> str:
    """'full' when a route of the app's own (not a mount such as the chat at /) takes this
    request, 'method' when one takes the path with another method, else 'none'."""
    from starlette.routing import Match, Mount

    found = {route.matches(scope)[0] for route in app.router.routes
             if not isinstance(route, Mount)}
    return "full" if Match.FULL in found else "method" if Match.PARTIAL in found else "none"
