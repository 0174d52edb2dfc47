"""A fresh `assistant serve` process, and the 8 questions sent to it together: what
test_server_first_use.py and test_server_warm_speed.py ask of a server that has just
started."""
import os
import subprocess
import sys
import threading
import time

import httpx
from helpers import ROOT, wait_until_healthy

QUESTIONS = ["Who won the Northern Open chess championship?", "tidal power station turbines",
             "What happened at the Harbourton tidal station?", "Who is the new ferry captain?",
             "Which bakery won a prize?", "What did the city council decide?",
             "Where did the storm hit?", "Who broke the record?"]
TOKEN = "first-use-token"
TIMEOUT_S = 60  # a question takes ~0.1 s; the first ones together, a few seconds at most


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
