"""Read articles from native text files, folders of them, and JSON Lines (plain or .gz).

Reading never raises on bad input: each unreadable file or line becomes a `Problem` with its
file and line, and the rest of the batch goes on. Reading is bounded, so a hostile upload cannot
hold the writer: a file stops at `max_file_bytes` (decompressed), an article longer than
`max_article_chars` is refused, and a file that is mostly noise (bad, blank or repeated lines)
stops early.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from collections.abc import Iterable, Iterator
from datetime import date as Date
from pathlib import Path

from ..config import Settings
from ..types import Article, Problem
from .folders import JSONL_SUFFIXES, files_under

MAX_LINE_BYTES = 20_000_000  # one article a line; longer lines are refused, not loaded
MAX_TITLE_CHARS = 500
MAX_PROBLEMS_PER_FILE = 1000  # past this a file is not news but noise (or a bomb): stop reading
# Article dates and as-of dates: from the first printed newspapers (1605) on, so any digitised
# archive fits, to 2100, beyond any real article yet far from datetime's year 9999, where date
# arithmetic overflows. Fixed, not "today plus a margin": a date valid today stays valid, and
# an index never holds an article that a later check would refuse.
FIRST_YEAR, LAST_YEAR = 1600, 2100
BOM = b"\xef\xbb\xbf"
HEADER = re.compile(r"^\s?date\s+(\S+)\s+(.*\S)\s*$")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SURROGATE = re.compile(r"[\ud800-\udfff]")
BAD_ID = re.compile(r"[/\\\x00-\x1f\x7f]")


class BadArticle(ValueError):
    """One article's fields are unusable; the message names the field."""


def read_articles(paths: Iterable[str | Path], max_file_bytes: int = Settings.max_file_bytes,
                  max_article_chars: int = Settings.max_article_chars
                  ) -> Iterator[Article | Problem]:
    """Yield every article under `paths` (files, or folders read recursively), or a Problem.

    An id seen twice is reported at its later copy: an exact copy is skipped (a file of one
    line repeated is one article), a different article under the same id is kept, as the
    index keeps the later one."""
    seen: dict[str, tuple[str, int, str]] = {}  # id -> (file, line, article_hash)
    for file in files_under(paths):
        if isinstance(file, Problem):
            yield file
        else:
            yield from _read_bounded(file, seen, max_file_bytes, max_article_chars)


def _read_bounded(path: Path, seen: dict, max_file_bytes: int, max_article_chars: int
                  ) -> Iterator[Article | Problem]:
    """One file's items. Noise (a bad, blank or repeated line) stops the file once there is
    more of it than MAX_PROBLEMS_PER_FILE and than articles: a gzip of blank lines or of one
    line repeated stops at once, a real file with blank lines between its articles does not."""
    noise = articles = 0
    for number, item in read_file(path, max_file_bytes, max_article_chars):
        for out in [None] if item is None else first_copy(item, str(path), number, seen):
            if isinstance(out, Article):
                articles += 1
                yield out
            else:
                noise += 1
                if out is not None:
                    yield out
        if noise >= MAX_PROBLEMS_PER_FILE and noise > articles:
            yield Problem(str(path), number, f"stopped reading after {noise} bad, blank or "
                          "repeated lines: is this a JSON Lines file of articles?")
            return


def first_copies(items: Iterable[Article | Problem], label: str = "articles"
                 ) -> Iterator[Article | Problem]:
    """A list of articles (an API request's) with repeats reported by position, as
    read_articles reports them by file and line. Example: [a, a] -> a, Problem('articles', 2,
    'repeats the article at line 1: skipped')."""
    seen: dict[str, tuple[str, int, str]] = {}
    for number, item in enumerate(items, 1):
        yield from first_copy(item, label, number, seen)


def first_copy(item: Article | Problem, path: str, number: int, seen: dict
                ) -> list[Article | Problem]:
    """Example: one article read at a.jsonl:1 and again at a.jsonl:9 -> [article], then
    [Problem('a.jsonl', 9, 'repeats the article at line 1: skipped')]. Another file is named
    by its name only: an upload's report must not show the server's folders."""
    if isinstance(item, Problem):
        return [item]
    digest = article_hash(item)
    first = seen.setdefault(item.id, (path, number, digest))
    if first == (path, number, digest):
        return [item]
    where = (f"line {first[1]}" if first[0] == path else
             f"{Path(first[0]).name}:{first[1]}" if first[1] else Path(first[0]).name)
    if first[2] == digest:
        return [Problem(path, number, f"repeats the article at {where}: skipped")]
    seen[item.id] = (path, number, digest)
    return [Problem(path, number, f"id {item.id!r} repeated (first at {where}), the later "
                    "copy kept"), item]


def read_file(path: Path, max_file_bytes: int = Settings.max_file_bytes,
              max_article_chars: int = Settings.max_article_chars
              ) -> Iterator[tuple[int, Article | Problem | None]]:
    """(line number, item) pairs of one file; None stands for a blank line."""
    if path.name.lower().endswith(JSONL_SUFFIXES):
        yield from read_jsonl(path, max_file_bytes, max_article_chars)
    else:
        yield 0, read_native(path, max_article_chars)


def read_native(path: Path, max_article_chars: int = Settings.max_article_chars
                ) -> Article | Problem:
    """Example: ' date 2024-01-03 Title\\n\\nFirst paragraph.' -> Article(title='Title', ...).

    Reads at most what one article can take (4 bytes a character in UTF-8): a 2 GB .txt is
    refused after that much, never read whole."""
    limit = 4 * (max_article_chars + MAX_TITLE_CHARS) + 100
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        return Problem(str(path), 0, f"cannot read: {e.strerror}")
    if len(data) > limit:
        return Problem(str(path), 0, f"larger than {limit:,} bytes: a .txt file is one article "
                       f"of at most {max_article_chars:,} characters (Settings.max_article_chars)")
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
                            url=path.resolve().as_uri(), source="", max_chars=max_article_chars)
    except BadArticle as e:
        return Problem(str(path), 1, str(e))


def read_jsonl(path: Path, max_file_bytes: int = Settings.max_file_bytes,
               max_article_chars: int = Settings.max_article_chars
               ) -> Iterator[tuple[int, Article | Problem | None]]:
    """One JSON object a line: {"id","url","title","date","source","text"}; None for a blank
    line (the caller counts them: a file of nothing but blank lines is a bomb, not news)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            empty, uri = True, path.resolve().as_uri()
            for number, line in _lines(f, str(path), max_file_bytes):
                if number == 1 and isinstance(line, bytes):
                    line = line.removeprefix(BOM)  # as editors on Windows save it
                if isinstance(line, bytes) and not line.strip():
                    yield number, None
                    continue
                empty = False
                yield number, (line if isinstance(line, Problem) else
                               _article_from_json(path, uri, number, line, max_article_chars))
            if empty:
                yield 0, Problem(str(path), 0, "empty file")
    except (OSError, EOFError, zlib.error) as e:
        yield 0, Problem(str(path), 0, f"cannot read ({type(e).__name__}: {e})")


def _lines(f, path: str, max_bytes: int) -> Iterator[tuple[int, bytes | Problem]]:
    """Lines of at most MAX_LINE_BYTES; a longer one is skipped to its end, never held whole.
    Past `max_bytes` in all (decompressed: a gzip bomb) the file stops with a Problem."""
    number = total = 0
    while True:
        line = f.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        total += len(line)
        too_long = len(line) > MAX_LINE_BYTES and not line.endswith(b"\n")
        if too_long and b"\x00" in line:  # JSON text has no NUL byte: binary, or a bomb of NULs
            yield number, Problem(path, number, f"line longer than {MAX_LINE_BYTES:,} bytes "
                                  "with NUL bytes: binary data, not JSON Lines; stopped here")
            return
        while too_long and total <= max_bytes and (rest := f.readline(MAX_LINE_BYTES)):
            total += len(rest)
            if rest.endswith(b"\n"):
                break
        if total > max_bytes:
            yield number, Problem(path, number, f"stopped after {max_bytes:,} bytes (as "
                                  "decompressed), the limit a file (Settings.max_file_bytes): "
                                  "split the file")
            return
        if too_long:
            yield number, Problem(path, number, f"line longer than {MAX_LINE_BYTES:,} bytes")
        else:
            yield number, line


def _article_from_json(path: Path, uri: str, number: int, line: bytes, max_chars: int
                       ) -> Article | Problem:
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
                            fallback_url=f"{uri}#L{number}", max_chars=max_chars)
    except BadArticle as e:
        return problem(str(e))


def make_article(*, title: str, date: str, text: str, id: str = "", url: str = "",
                 source: str = "", fallback_url: str = "",
                 max_chars: int = Settings.max_article_chars) -> Article:
    """Validate and normalise one article; raises BadArticle naming the field at fault."""
    title = " ".join(clean_text(title).split())
    text = clean_text(text).strip()
    if not title:
        raise BadArticle("missing field 'title'")
    if len(title) > MAX_TITLE_CHARS:
        raise BadArticle(f"field 'title' longer than {MAX_TITLE_CHARS} characters")
    if not text:
        raise BadArticle("missing field 'text'")
    if len(text) > max_chars:  # a dump, not an article: 2 MB made 2,075 passages
        raise BadArticle(f"field 'text' is {len(text):,} characters long; the limit is "
                         f"{max_chars:,} (Settings.max_article_chars): split it into articles")
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
    if not FIRST_YEAR <= int(value[:4]) <= LAST_YEAR:
        raise BadArticle(f"field '{field}' must be a date from {FIRST_YEAR} to {LAST_YEAR}, "
                         f"got {value!r}")
    return value


def clean_text(text: str) -> str:
    """Unify newlines, drop control characters, replace lone surrogates (unstorable)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return SURROGATE.sub("\ufffd", CONTROL.sub("", text))


def article_hash(article: Article) -> str:
    """What the article is, not where it was read: changes when anything a reader sees of it
    changes, except a `file:` url, which only says where it was read (the file, its line), so
    the same article moved to another folder or line is still unchanged."""
    url = "" if article.url.startswith("file:") else article.url
    fields = (article.title, article.date, url, article.source, article.text)
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


def content_id(title: str, date: str, text: str) -> str:
    """A stable id for an article that came without one: same content, same id."""
    digest = hashlib.sha256(f"{date}\n{title}\n{text}".encode()).hexdigest()
    return f"a-{digest[:16]}"
