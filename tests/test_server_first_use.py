"""A fresh `assistant serve` answers its first questions when they arrive together (and
test_server_warm_speed.py: as fast as it answers later ones).

The OpenVINO embedder once deadlocked at first use from several threads at once: a server
freshly started and sent 8 questions together stopped answering anything, /api/health
included, in 6 of 20 tries (issue 11). The deadlock is in a process's first inferences, so
each try starts a new process. Answered, they still took 2-11 s each while the cross-encoder
loaded under them (issue 25): the server now answers one question before it listens.
"""
import httpx
import pytest
from fresh_server import QUESTIONS, first_questions, start_serve
from helpers import free_port, stop_server

pytestmark = pytest.mark.slow
# Fresh servers; test_server_warm_speed.py's two fresh servers are two more. The server now
# makes its first inference before it listens, so the first questions no longer meet an unused
# model; test_embed_stress.py guards the embedder's own first use, 20 runs a backend.
TRIES = 3


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
            stop_server(server)
