"""Read articles in a child process, so that parsing input never holds this process's GIL.

The server answers questions in the process that ingests uploads; parsing a hostile upload
there (a gzip of blank lines, a bomb, a 2 MB article) held the GIL and questions took 10-33 s
instead of 40 ms. A child reads and parses; this process only waits on a pipe (GIL released)
and unpickles a chunk of finished articles now and then.
"""
from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Iterable, Iterator

from .articles import read_articles
from .errors import AssistantError
from .types import Article, Problem

CHUNK = 64  # items a message: few round trips, and at most 64 articles in flight


class ReaderFailed(AssistantError):
    """The child reading the articles died before it finished (killed, out of memory, a bug):
    nothing of the batch it was reading is kept."""


def read_apart(paths: Iterable[str | Path], **limits: int) -> Iterator[Article | Problem]:
    """`read_articles(paths, **limits)`, read in a child process and streamed back in order.

    The child runs no further ahead than the pipe holds: closing this generator (the ingest
    stopped) ends it."""
    context = _context()
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_read_and_send, args=([str(p) for p in paths], limits, send),
                            name="article-reader", daemon=True)
    child.start()
    send.close()  # the child holds the only writing end now: its exit is our end of file
    try:
        while (chunk := _receive(receive, child)) is not None:
            yield from chunk
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        child.join()


def _receive(receive, child) -> list | None:
    try:
        return receive.recv()
    except EOFError:
        child.join()
        raise ReaderFailed(f"the process reading the articles stopped (exit code "
                           f"{child.exitcode}) before it finished; the articles of batches "
                           "already committed are kept") from None


def _read_and_send(paths: list[str], limits: dict, send) -> None:
    chunk = []
    for item in read_articles(paths, **limits):
        chunk.append(item)
        if len(chunk) == CHUNK:
            send.send(chunk)
            chunk = []
    send.send(chunk)
    send.send(None)


def _context():
    """Forkserver where there is one: a fork of a small server that has imported this module
    (quick), never of the caller, whose threads (uvicorn's, the embedder's) a plain fork would
    copy mid-lock. Spawn elsewhere (Windows)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context
