"""What the HTTP API reads of a request (a body within the upload limit, a JSON list of
articles, the files of a form) and the messages for what does not fit, each naming the fix."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_FILES = 20
ASK_PARAMETERS = ("q", "k", "as_of", "since", "sources")  # GET's query and POST's body alike


async def read_body(request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    from starlette.exceptions import HTTPException

    too_big = HTTPException(413, f"the upload is larger than the limit of {limit:,} bytes; "
                                 "send fewer or smaller files")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_big
    return bytes(body)


def json_articles(model, body: bytes) -> list:
    """The articles of a JSON body, read with `model` (`{"articles": [...]}`); 400 where the
    body is not JSON, 422 naming what does not fit."""
    from pydantic import ValidationError
    from starlette.exceptions import HTTPException

    try:
        return model.model_validate_json(body).articles
    except ValidationError as e:
        broken = [x for x in e.errors() if x.get("type") == "json_invalid"]
        if broken:
            raise HTTPException(400, not_json_message(broken[0])) from None
        raise HTTPException(422, validation_message(e.errors()) + ' (expected {"articles": '
                                 '[{"title": ..., "date": "YYYY-MM-DD", "text": ...}]})') from None


async def form_files(request, body: bytes, limit: int) -> list[tuple[str, bytes]]:
    """The (name, content) files of a multipart form already read as `body`; 400 for a form
    that cannot be read or holds no file."""
    from starlette.exceptions import HTTPException
    from starlette.formparsers import MultiPartException, MultiPartParser

    async def stream():
        yield body

    parser = MultiPartParser(request.headers, stream(), max_files=MAX_FILES, max_fields=MAX_FILES)
    parser.spool_max_size = limit  # in memory: nothing lands in /tmp
    try:
        form = await parser.parse()
    except MultiPartException as e:
        raise HTTPException(400, f"unreadable form: {e.message}") from None
    files = [(f.filename or "", await f.read()) for _, f in form.multi_items()
             if not isinstance(f, str)]
    if not files:
        raise HTTPException(400, "the form holds no files: send them as 'files' fields")
    return files


def unknown_message(names) -> str:
    """Example: ['source'] -> "unknown parameter 'source'; the parameters are q, k, ..." """
    return (f"unknown parameter {', '.join(map(repr, names))}; the parameters are "
            f"{', '.join(ASK_PARAMETERS)} (sources repeatable)")


def not_json_message(error: Mapping[str, Any]) -> str:
    """A pydantic json_invalid error -> where the body stops being JSON. FastAPI puts the
    character offset in the error's loc; pydantic puts line and column in its message."""
    where = [x for x in error.get("loc", ()) if isinstance(x, int)]
    if where:
        reason = error.get("ctx", {}).get("error", "")
        return f"the request body is not valid JSON: {reason} at character {where[0]}".replace(
            ":  at", " at")
    detail = str(error.get("msg", "")).removeprefix("Invalid JSON: ")
    return f"the request body is not valid JSON ({detail})"


def validation_message(errors) -> str:
    """Example: [{'loc': ('query', 'k'), 'msg': 'Input should be a valid integer'}]
    -> 'k: Input should be a valid integer'"""
    parts = []
    for e in errors:
        where = ".".join(str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path"))
        parts.append(f"{where}: {e.get('msg')}" if where else str(e.get("msg")))
    return "; ".join(parts) or "invalid request"
