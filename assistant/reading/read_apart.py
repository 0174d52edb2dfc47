"""Read articles in a child process, so that parsing input never holds this process's GIL.

The server answers questions in the process that ingests uploads; parsing a hostile upload
there (a gzip of blank lines, a bomb, a 2 MB article) held the GIL while questions waited.
A child reads and parses; this process only waits on a pipe (GIL released) and unpickles a
chunk of finished articles now and then.

The child is a fresh interpreter (`python -P -c ...`), not a multiprocessing one: spawn and
forkserver re-run the caller's main script in the child, so a user's script without an
`if __name__ == "__main__":` guard would ingest again there; fork would copy the threads of a
server (uvicorn's, the embedder's) mid-lock.
"""
from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from ..errors import AssistantError
from ..types import Article, Problem

CHUNK = 64  # items a message: few round trips, and at most 64 articles in flight
CHILD = "from assistant.reading.read_apart import child_main; child_main()"


class ReaderFailed(AssistantError):
    """The child reading the articles died before it finished (killed, out of memory, a bug):
    nothing of the batch it was reading is kept."""


def read_apart(paths: Iterable[str | Path], **limits: int) -> Iterator[Article | Problem]:
    """`read_articles(paths, **limits)`, read in a child process and streamed back in order.

    The child runs no further ahead than the pipe holds: closing this generator (the ingest
    stopped) ends it."""
    package_root = str(Path(__file__).resolve().parents[2])  # this very package, whatever cwd
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (package_root, os.environ.get("PYTHONPATH")) if p)}
    argument = json.dumps([[str(p) for p in paths], limits])
    child = subprocess.Popen([sys.executable, "-P", "-c", CHILD, argument], env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    stdout = child.stdout
    assert stdout is not None  # stdout=PIPE
    try:
        while (chunk := _receive(child, stdout)) is not None:
            yield from chunk
    finally:
        child.kill()
        stdout.close()
        child.wait()


def _receive(child: subprocess.Popen, stdout: IO[bytes]) -> list | None:
    try:
        return pickle.load(stdout)
    except (EOFError, pickle.UnpicklingError):
        raise ReaderFailed(f"the process reading the articles stopped (exit code "
                           f"{child.wait()}) before it finished; the articles of batches "
                           "already committed are kept") from None


def child_main() -> None:
    """The child: read what argv[1] names, write pickled chunks of items to stdout, then None."""
    from .articles import read_articles

    # Ctrl-C reaches the whole process group: the parent handles it and ends this child,
    # which should not print a KeyboardInterrupt traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    paths, limits = json.loads(sys.argv[1])
    out, chunk = sys.stdout.buffer, []
    try:
        for item in read_articles(paths, **limits):
            chunk.append(item)
            if len(chunk) == CHUNK:
                _send(out, chunk)
                chunk = []
        _send(out, chunk)
        _send(out, None)
    except BrokenPipeError:  # the parent is gone (killed mid-ingest): no one left to read for
        os._exit(0)


def _send(out, value) -> None:
    pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
    out.flush()
