"""A fresh `assistant serve` answers its first questions when they arrive together, and as
fast as it answers later ones.

The OpenVINO embedder once deadlocked at first use from several threads at once: a server
freshly started and sent 8 questions together stopped answering anything, /api/health
included, in 6 of 20 tries (issue 11). The deadlock is in a process's first inferences, so
each try starts a new process. Answered, they still took 2-11 s each while the cross-encoder
loaded under them (issue 25): the server now answers one question before it listens.
"""
import math
import os
import subprocess
import sys
import threading
import time

import httpx
import pytest
from helpers import ROOT, free_port, wait_until_healthy

pytestmark = pytest.mark.slow
# Fresh servers; the warm-speed test's two fresh servers are two more. The server now makes
# its first inference before it listens, so the first questions no longer meet an unused
# model; test_embed_stress.py guards the embedder's own first use, 20 runs a backend.
TRIES = 3
QUESTIONS = ["Who won the Northern Open chess championship?", "tidal power station turbines",
             "What happened at the Harbourton tidal station?", "Who is the new ferry captain?",
             "Which bakery won a prize?", "What did the city council decide?",
             "Where did the storm hit?", "Who broke the record?"]
TOKEN = "first-use-token"
TIMEOUT_S = 60  # a question takes ~0.1 s; the first ones together, a few seconds at most
P95_S = 1.5  # the 8 first questions' p95 on the demo index, 2 cores (issue 25)
# ... or, on a machine too loaded for that, no slower than this many times the 8 questions
# sent again (a server that loads a model at its first questions was 2-4x slower)
WARM_RATIO = 1.5


def start_serve(index, port: int, log) -> subprocess.Popen:
    """`assistant serve` in a new process, its output to `log`, once /api/health answers."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--index", str(index),
                               "--port", str(port), "--token", TOKEN], env=env,
                              stdout=subprocess.DEVNULL, stderr=log.open("w"))
    try:
        wait_until_healthy(server, f"http://127.0.0.1:{port}", 120, log)
    except BaseException:  # pytest's failure too
        server.kill()
        server.wait(timeout=15)
        raise
    return server


def first_questions(url: str, seconds: list | None = None) -> list:
    """The 8 questions sent at once: each thread's status code, or the exception it met.
    seconds: where each question's time from send to answer is appended."""
    results = [None] * len(QUESTIONS)
    barrier = threading.Barrier(len(QUESTIONS))

    def ask(i: int) -> None:
        try:
            with httpx.Client(timeout=TIMEOUT_S) as http:
                barrier.wait()
                sent = time.monotonic()
                results[i] = http.post(f"{url}/api/ask", json={"q": QUESTIONS[i], "k": 3},
                                       headers={"Authorization": f"Bearer {TOKEN}"}).status_code
                if seconds is not None:
                    seconds.append(time.monotonic() - sent)
        except Exception as e:  # noqa: BLE001 (a timeout is what a deadlock looks like here)
            results[i] = repr(e)

    threads = [threading.Thread(target=ask, args=(i,), daemon=True)
               for i in range(len(QUESTIONS))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT_S + 10)
    return results


def test_a_fresh_server_answers_its_first_questions_sent_together(demo_copy, tmp_path):
    for attempt in range(TRIES):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_serve(demo_copy, port, tmp_path / "serve.log")
        try:
            results = first_questions(url)
            assert results == [200] * len(QUESTIONS), f"try {attempt + 1}: {results}"
            assert httpx.get(f"{url}/api/health", timeout=10).json() == {"status": "ok"}
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:  # a deadlocked server may not hear SIGTERM
                server.kill()
                server.wait(timeout=15)


def p95(seconds: list[float]) -> float:
    """Nearest rank. Example: p95([1, 2, 3, 4]) -> 4; p95(list(range(1, 21))) -> 19"""
    return sorted(seconds)[math.ceil(0.95 * len(seconds)) - 1]


@pytest.mark.alone  # p95 against the same questions sent again: both measured alone
def test_a_fresh_servers_first_questions_are_answered_at_warm_speed(demo_copy, tmp_path):
    """Two fresh servers, each sent the 8 questions together twice: the first time, every
    model is already loaded (server.warm), so they are answered as the second time is."""
    first, again = [], []
    for _ in range(2):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_serve(demo_copy, port, tmp_path / "serve.log")
        try:  # each also a try of the test above: all answered, then /api/health
            assert first_questions(url, first) == [200] * len(QUESTIONS)
            assert httpx.get(f"{url}/api/health", timeout=10).json() == {"status": "ok"}
            assert first_questions(url, again) == [200] * len(QUESTIONS)
        finally:
            server.terminate()
            server.wait(timeout=15)
    shown = (f"first: {sorted(round(s, 2) for s in first)}; "
             f"again: {sorted(round(s, 2) for s in again)}")
    assert p95(first) < max(P95_S, WARM_RATIO * p95(again)), shown
