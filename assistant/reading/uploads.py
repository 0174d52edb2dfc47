"""What the edges receive to add: files uploaded through the chat or the API (written under the
index's `uploads/` folder, the only place an upload is ever written, read like any file, and
deleted again whatever came of them), and articles sent as JSON (the API's and the MCP tool's
`ArticleIn`), each checked by the same rules."""
from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import replace
from pathlib import Path

from pydantic import BaseModel, Field

from ..errors import NothingRead
from ..types import Article, IngestReport, Problem
from .articles import BadArticle, make_article
from .folders import JSONL_SUFFIXES, TEXT_SUFFIXES

UPLOADS = "uploads"  # under the index folder


class ArticleIn(BaseModel):
    """One article sent as JSON (`POST /api/articles`, the MCP tool add_articles)."""

    title: str = Field("", description="the headline (required)")
    date: str = Field("", description="publication date, YYYY-MM-DD (required): the as-of rule "
                                      "reads it")
    text: str = Field("", description="the article's full text (required)")
    id: str = Field("", description="your id for it; default: a hash of title, date and text; "
                                    "adding the same id again replaces the article")
    url: str = Field("", description="where it was published (shown in citations)")
    source: str = Field("", description="the outlet, e.g. 'bbc.co.uk'")


def articles_from(items, max_article_chars: int) -> list:
    """Validated JSON articles -> Article, or a Problem naming the item ('articles:2: ...').
    An article longer than max_article_chars is refused as it is in a file."""
    out: list[Article | Problem] = []
    for number, item in enumerate(items, 1):
        try:
            out.append(make_article(**item.model_dump(), max_chars=max_article_chars))
        except BadArticle as e:
            out.append(Problem("articles", number, str(e)))
    return out


def add_json_articles(assistant, items) -> IngestReport:
    """Store articles sent as JSON (`ArticleIn`s) through `assistant.ingest_articles`; raises
    NothingRead (422 at the HTTP edge, a tool error for an agent) when some were sent and
    none could be stored."""
    return read_something(assistant.ingest_articles(
        articles_from(items, assistant.settings.max_article_chars)))


def read_something(report: IngestReport) -> IngestReport:
    """The report, or NothingRead when input was sent and none of it could be read."""
    if report.read == 0 and report.skipped:
        raise NothingRead(report)
    return report


def upload_name(name: str) -> str | None:
    """A safe file name for an upload, or None for a kind we cannot read.

    Example: '../../etc/x.jsonl' -> 'x.jsonl'; 'a b.txt' -> 'a_b.txt'; 'x.pdf' -> None
    """
    base = re.split(r"[/\\]", name)[-1]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", base)[-120:].lstrip(".")
    return safe if safe.lower().endswith(TEXT_SUFFIXES + JSONL_SUFFIXES) else None


def add_files(assistant, files: list[tuple[str, bytes]], progress: bool = False
              ) -> IngestReport:
    """Ingest uploads (name, content): each is written under the index's uploads folder, read,
    and deleted again whatever came of it (added, refused, or a failure).

    A file's folder is named by its content, so that two files of one name never overwrite
    each other, and a re-upload has the same path (its articles come back 'unchanged').
    """
    root = Path(assistant.folder) / UPLOADS
    root.mkdir(exist_ok=True)
    shown, problems = {}, []  # path on disk -> the name the user gave
    for name, data in files:
        safe = upload_name(name)
        if safe is None:
            problems.append(Problem(shown_name(name), 0, "not a .txt, .jsonl or .jsonl.gz file"))
            continue
        path = root / hashlib.sha256(data).hexdigest()[:16] / safe  # see clear_uploads
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        shown[str(path)] = shown_name(name)
    try:
        report = assistant.ingest(list(shown), progress=progress) if shown else IngestReport()
    finally:
        for saved in shown:
            shutil.rmtree(Path(saved).parent, ignore_errors=True)
    # Name files as the user did, never by the server's folders.
    report.skipped = problems + [replace(p, path=shown.get(p.path, Path(p.path).name))
                                 for p in report.skipped]
    return report


def clear_uploads(index_folder) -> None:
    """Remove the uploads a server killed mid-ingest left behind (a bomb that ran it out of
    memory, say): an upload is deleted once read, so only a crash leaves one for good."""
    for leftover in (Path(index_folder) / UPLOADS).glob("[0-9a-f]" * 16):
        shutil.rmtree(leftover, ignore_errors=True)


def shown_name(name: str) -> str:
    """An upload's name as the user gave it, safe to echo. Example: 'a/b\\n.txt' -> 'a/b_.txt'"""
    return re.sub(r"[\x00-\x1f\x7f]", "_", name)[-100:]
