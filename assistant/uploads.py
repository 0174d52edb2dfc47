"""Files uploaded through the chat or the API: written under the index's `uploads/` folder
(the only place an upload is ever written), read like any file, and deleted again whatever
came of them."""
from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import replace
from pathlib import Path

from .folders import JSONL_SUFFIXES, TEXT_SUFFIXES
from .types import IngestReport, Problem

UPLOADS = "uploads"  # under the index folder


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
        for path in shown:
            shutil.rmtree(Path(path).parent, ignore_errors=True)
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
