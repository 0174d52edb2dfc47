"""Which files a list of paths names: files as given, folders walked for the kinds the
assistant reads, and links followed only where they stay inside what was given."""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..types import Problem

JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".json.gz", ".gz")
TEXT_SUFFIXES = (".txt",)


def files_under(paths: Iterable[str | Path]) -> Iterator[Path | Problem]:
    """The readable files of `paths`, each once, folders walked recursively in name order.

    A path given is read even through a symbolic link (its owner named it); inside a folder a
    link is followed only to somewhere inside that folder, each place once (no loops): a link
    out of an uploaded or shared folder (to /etc/passwd, to a home folder) is not what was
    given. Each link not followed is a Problem saying why."""
    done: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files, problems = _walk(path)
            yield from problems
            if not files and not problems:
                yield Problem(str(path), 0, "folder holds no .txt, .jsonl or .jsonl.gz files")
        elif path.is_file():
            files = [path]
        else:
            yield Problem(str(path), 0, "not a regular file (a device, a pipe)" if path.exists()
                          else "no such file or folder")
            continue
        for file in files:
            if (real := file.resolve()) not in done:
                done.add(real)
                yield file


def _walk(root: Path) -> tuple[list[Path], list[Problem]]:
    """The readable files under `root`, sorted, and a Problem for each link not followed."""
    top = root.resolve()
    files, problems, folders, walked = [], [], [root], {top}
    while folders:
        folder = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as e:
            problems.append(Problem(str(folder), 0, f"cannot list: {e.strerror}"))
            continue
        for entry in entries:
            path = Path(entry.path)
            if entry.is_symlink():
                target = path.resolve()
                if not target.exists():
                    problems.append(Problem(str(path), 0, "broken symbolic link: skipped"))
                    continue
                if not target.is_relative_to(top):
                    problems.append(Problem(str(path), 0, f"symbolic link to a place outside "
                                            f"{root}: not followed"))
                    continue
            if path.is_dir():
                if (real := path.resolve()) not in walked:
                    walked.add(real)
                    folders.append(path)
            elif path.is_file() and _readable_kind(path):
                files.append(path)
    return sorted(files), problems


def _readable_kind(path: Path) -> bool:
    name = path.name.lower()
    return not name.startswith(".") and name.endswith(TEXT_SUFFIXES + JSONL_SUFFIXES)
