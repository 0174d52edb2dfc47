"""Plain helpers shared by test modules (fixtures live in conftest.py): paths, a small
deterministic embedder for plumbing tests, a three-question eval set, and one way to serve."""
from __future__ import annotations

import gzip
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import zlib
from pathlib import Path

import httpx
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
SHARED = ROOT.parent / "shared"

# The live-server tests' write token, its header and a question the demo index answers.
TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CHESS = "Who won the Northern Open chess championship?"
UPLOAD_LIMIT = 200_000  # a small upload limit, so that "too big" is cheap to send

# An index built with `small_settings()` records this model name; conftest.py makes
# `load_embedder` answer it with a WordHashEmbedder in the test process (the server's own
# write handle and `check --repair` load their embedder by name, so a constructor argument
# would not reach them). Anywhere else the name is no model: loud, never a silent mix.
SMALL_MODEL = "test-word-hash"
WORD = re.compile(r"\w+")


class WordHashEmbedder:
    """A stand-in for the model where a test needs *an* embedder, not a good one: every word
    (lower-cased) adds 1 to one of `dim` slots picked by a stable hash (CRC-32), and each row
    is scaled to unit length. Texts that share words are near, others near orthogonal; the
    same text gives the same row in every process; no model loads, a text takes microseconds.
    A text without a word gets slot 0, so every row is a unit vector.

    Example: embed(["Chess open", "the CHESS open!"]) -> two rows whose dot product is 0.82
    """

    name = SMALL_MODEL

    def __init__(self, dim: int = 256):
        self.dim = dim

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in WORD.findall(text.lower()):
                out[row, zlib.crc32(word.encode()) % self.dim] += 1.0
            if not out[row].any():
                out[row, 0] = 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def small_settings(**changes):
    """Settings for an index embedded by WordHashEmbedder, with no second stage (the
    cross-encoder is a real model: its tests load it on purpose)."""
    from assistant import Settings

    return Settings(model=SMALL_MODEL, cross_encoder=False, rerank=False).with_(**changes)


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or a skip saying why when this clone has none (a user's)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not here: ../shared exists only on the project's machines")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(index_dir, access=None, settings=None, max_upload_bytes=UPLOAD_LIMIT):
    """Serve the chat and the API for `index_dir` on a free port, in a thread: (url, stop).
    `access`: by default, writes need TOKEN."""
    import uvicorn

    from assistant import Assistant
    from assistant.serving.access import Access
    from assistant.serving.server import build_app

    assistant = Assistant(index_dir, settings)
    _ = assistant.embedder  # loaded before serving, as `serve` does
    app = build_app(assistant, access or Access(TOKEN), max_upload_bytes=max_upload_bytes)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]

    def stop():
        server.should_exit = True
        # A test's requests have ended by now: half a second for any still in flight, then no
        # more waiting for connections a client left open (gradio_client's streams, an httpx
        # pool's socket after a refused upload), which would hold it 2-10 s.
        thread.join(timeout=0.5)
        server.force_exit = True
        thread.join(timeout=10)

    return f"http://127.0.0.1:{port}", stop


def gzip_repeated(data: bytes, times: int) -> bytes:
    """`data` repeated `times` times, gzipped: one gzip member of `data` written `times` times,
    which gzip reads as one stream (RFC 1952). A bomb of 100 MB costs one copy's compression,
    not 100 MB's (`gzip.compress(b"x" * 100_000_000)` took a second).

    Example: gzip.decompress(gzip_repeated(b"ab", 3)) -> b"ababab"
    """
    return gzip.compress(data) * times


def wait_until_healthy(server: subprocess.Popen, url: str, timeout_s: float, log: Path) -> None:
    """Until `url`/api/health answers 200, polled every 0.2 s: a failure quoting the end of
    `log` (the server's output) if `server` exits first or `timeout_s` passes. On a failure the
    caller ends `server` (its own way: `assistant serve --ray` wants a ^C)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/api/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:  # not listening yet, or too busy starting to answer in 5 s
            pass
        time.sleep(0.2)
    pytest.fail(f"{url}/api/health did not answer within {timeout_s} s: {log.read_text()[-3000:]}")


def stop_server(server: subprocess.Popen, wait_s: float = 15) -> None:
    """SIGTERM, as ^C; SIGKILL if it has not ended in `wait_s` (a deadlocked server may not
    hear SIGTERM)."""
    server.terminate()
    try:
        server.wait(timeout=wait_s)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=wait_s)


def make_eval_set(folder: Path) -> Path:
    """A three-article, three-question set in the RealTime-QA layout."""
    folder.mkdir()
    corpus = [
        {"id": "n1", "url": "https://ex/1", "title": "Ferry service resumes", "date": "2024-03-01",
         "source": "ex.com", "text": "The island ferry resumed on Friday after the storm."},
        {"id": "n2", "url": "https://ex/2", "title": "Ferry operator picks new captain",
         "date": "2024-03-08", "source": "ex.com",
         "text": "The ferry operator named Ada Lovell as its new captain."},
        {"id": "n3", "url": "https://ex/3", "title": "Bakery wins prize", "date": "2024-03-02",
         "source": "ex.org", "text": "A bakery in Portside won the national sourdough prize."},
    ]
    with gzip.open(folder / "corpus.jsonl.gz", "wt") as f:
        f.writelines(json.dumps(a) + "\n" for a in corpus)
    questions = [
        {"id": "q1", "question": "Who is the ferry operator's new captain?", "date": "2024-03-09",
         "choices": ["Ada Lovell", "Bob Ray"], "answers": ["Ada Lovell"], "google_ranked_ids": []},
        {"id": "q2", "question": "Which town's bakery won the sourdough prize?",
         "date": "2024-03-05", "choices": ["Portside", "Hull"], "answers": ["Portside"],
         "google_ranked_ids": []},
        {"id": "q3", "question": "Who is the new ferry captain?", "date": "2024-03-05",
         "choices": ["Ada Lovell", "Bob Ray"], "answers": ["Ada Lovell"], "google_ranked_ids": []},
    ]
    (folder / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    return folder


def private_copy(folder: Path, tmp_path: Path) -> Path:
    """A writable copy of a session's index, this test's alone. Without SQLite's WAL and
    shared-memory files: another worker's reader opens and drops them at any moment (a copy
    met one vanishing mid-way), and they hold no commit (the index was closed after its
    build, and readers write nothing)."""
    return Path(shutil.copytree(folder, tmp_path / "index",
                                ignore=shutil.ignore_patterns("*-wal", "*-shm")))
