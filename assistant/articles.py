"""Read articles from native text files, folders of them, and JSON Lines (plain or .gz).

Reading never raises on bad input: each unreadable file or line becomes a `Problem` with its
file and line, and the rest of the batch goes on.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from datetime import date as Date
from pathlib import Path
from typing import Iterable, Iterator

from .types import Article, Problem

MAX_LINE_BYTES = 20_000_000  # one article a line; longer lines are refused, not loaded
MAX_TITLE_CHARS = 500
MAX_PROBLEMS_PER_FILE = 1000  # past this a file is not news but noise (or a bomb): stop reading
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".json.gz", ".gz")
TEXT_SUFFIXES = (".txt",)
HEADER = re.compile(r"^\s?date\s+(\S+)\s+(.*\S)\s*$")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SURROGATE = re.compile(r"[\ud800-\udfff]")
BAD_ID = re.compile(r"[/\\\x00-\x1f\x7f]")


class BadArticle(ValueError):
    """One article's fields are unusable; the message names the field."""


def read_articles(paths: Iterable[str | Path]) -> Iterator[Article | Problem]:
    """Yield every article under `paths` (files or folders, recursively), or a Problem."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and _readable_kind(p))
            if not files:
                yield Problem(str(path), 0, "folder holds no .txt, .jsonl or .jsonl.gz files")
            for file in files:
                yield from read_file(file)
        elif path.is_file():
            yield from read_file(path)
        else:
            yield Problem(str(path), 0, "no such file or folder")


def _readable_kind(path: Path) -> bool:
    name = path.name.lower()
    return not name.startswith(".") and name.endswith(TEXT_SUFFIXES + JSONL_SUFFIXES)


def read_file(path: Path) -> Iterator[Article | Problem]:
    if path.name.lower().endswith(JSONL_SUFFIXES):
        yield from read_jsonl(path)
    else:
        yield read_native(path)


def read_native(path: Path) -> Article | Problem:
    """Example: ' date 2024-01-03 Title\\n\\nFirst paragraph.' -> Article(title='Title', ...)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        return Problem(str(path), 0, f"cannot read: {e.strerror}")
    if b"\x00" in data:
        return Problem(str(path), 0, "binary file (NUL bytes), not a text article")
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        return Problem(str(path), line, "not UTF-8 text")
    if not content.strip():
        return Problem(str(path), 0, "empty file")
    header, _, body = content.partition("\n")
    match = HEADER.match(header)
    if not match:
        return Problem(str(path), 1, "first line must be ' date YYYY-MM-DD <title>'")
    try:
        return make_article(title=match[2], date=match[1], text=body,
                            url=path.resolve().as_uri(), source="")
    except BadArticle as e:
        return Problem(str(path), 1, str(e))


def read_jsonl(path: Path) -> Iterator[Article | Problem]:
    """One JSON object a line: {"id","url","title","date","source","text"}; blank lines pass."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            seen_any, problems = False, 0
            for number, line in _lines(f):
                if problems >= MAX_PROBLEMS_PER_FILE:
                    yield Problem(str(path), number, f"stopped reading after {problems} bad "
                                  "lines: is this a JSON Lines file of articles?")
                    return
                if not isinstance(line, Problem) and not line.strip():
                    continue
                seen_any = True
                item = (Problem(str(path), number, line.message) if isinstance(line, Problem)
                        else _article_from_json(path, number, line))
                problems += isinstance(item, Problem)
                yield item
            if not seen_any:
                yield Problem(str(path), 0, "empty file")
    except (OSError, EOFError, zlib.error) as e:
        yield Problem(str(path), 0, f"cannot read ({type(e).__name__}: {e})")


def _lines(f) -> Iterator[tuple[int, bytes | Problem]]:
    """Lines of at most MAX_LINE_BYTES; a longer one is skipped to its end, never held whole."""
    number = 0
    while True:
        line = f.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while (rest := f.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
            yield number, Problem("", number, f"line longer than {MAX_LINE_BYTES:,} bytes")
        else:
            yield number, line


def _article_from_json(path: Path, number: int, line: bytes) -> Article | Problem:
    def problem(message: str) -> Problem:
        return Problem(str(path), number, message)

    if b"\x00" in line:
        return problem("NUL byte in line: binary data, not JSON")
    try:
        obj = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return problem("not UTF-8 text")
    except (json.JSONDecodeError, RecursionError) as e:
        return problem(f"malformed JSON ({str(e)[:80]})")
    if not isinstance(obj, dict):
        return problem(f"expected a JSON object, got {type(obj).__name__}")
    for name in ("id", "url", "title", "date", "source", "text"):
        if obj.get(name) is not None and not isinstance(obj[name], str):
            return problem(f"field '{name}' must be a string")
    try:
        return make_article(title=obj.get("title") or "", date=obj.get("date") or "",
                            text=obj.get("text") or "", id=obj.get("id") or "",
                            url=obj.get("url") or "", source=obj.get("source") or "",
                            fallback_url=f"{path.resolve().as_uri()}#L{number}")
    except BadArticle as e:
        return problem(str(e))


def make_article(*, title: str, date: str, text: str, id: str = "", url: str = "",
                 source: str = "", fallback_url: str = "") -> Article:
    """Validate and normalise one article; raises BadArticle naming the field at fault."""
    title = " ".join(clean_text(title).split())
    text = clean_text(text).strip()
    if not title:
        raise BadArticle("missing field 'title'")
    if len(title) > MAX_TITLE_CHARS:
        raise BadArticle(f"field 'title' longer than {MAX_TITLE_CHARS} characters")
    if not text:
        raise BadArticle("missing field 'text'")
    check_date(date, "date")
    id = clean_text(id).strip()
    if id and (BAD_ID.search(id) or id in (".", "..") or len(id) > 200):
        raise BadArticle(f"field 'id' {id[:40]!r} must be 1-200 characters without '/', '\\' "
                         "or control characters")
    return Article(id=id or content_id(title, date, text), title=title, date=date, text=text,
                   url=clean_text(url).strip() or fallback_url, source=clean_text(source).strip())


def check_date(value: str, field: str) -> str:
    """Example: '2024-02-29' -> '2024-02-29'; '2024-02-30' -> BadArticle naming `field`."""
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise BadArticle(f"field '{field}' must be a date as YYYY-MM-DD, got {str(value)[:40]!r}")
    try:
        Date.fromisoformat(value)
    except ValueError:
        raise BadArticle(f"field '{field}' is not a real date: {value!r}") from None
    return value


def clean_text(text: str) -> str:
    """Unify newlines, drop control characters, replace lone surrogates (unstorable)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return SURROGATE.sub("\ufffd", CONTROL.sub("", text))


def content_id(title: str, date: str, text: str) -> str:
    """A stable id for an article that came without one: same content, same id."""
    digest = hashlib.sha256(f"{date}\n{title}\n{text}".encode()).hexdigest()
    return f"a-{digest[:16]}"
