"""The one model seam: texts in, unit-length float32 vectors out.

Three backends run the same packaged model (`model_files.py` finds it and makes its int8
graphs): "torch" (sentence-transformers, fp32, the reference), "openvino-int8" (weights and
activations in int8, run by OpenVINO) and "onnx-int8" (weights in int8, activations quantised
on the fly, run by onnxruntime). A new index takes whichever int8 one is faster on its CPU
(`config.host_backend`).

Every call is bounded: the model runs on the embedder's own worker threads, and a call none
of whose runs finishes for a generous while raises EmbeddingStalled instead of waiting forever.
The bound cannot end a hang that holds the GIL, as the first-use deadlock of OpenVINO's
binding did (nothing in Python runs then): the warm-up prevents that one, and
tests/test_embed_stress.py looks for it in fresh processes under a time limit.
"""
from __future__ import annotations

import json
import os
import threading
from functools import lru_cache
from typing import Protocol, runtime_checkable

import numpy as np

from ..config import BACKENDS, cpu_flags
from ..errors import AssistantError
from .embed_workers import STALL_S, BoundedEmbedder
from .model_files import go_offline, model_path, onnx_int8, openvino_int8, tokenizer_for

COMPILED_BATCH = 4  # texts a run: 2-4 measured alike, 32 was 15% slower (padding, cache)
# With AMX (tile matrix units), OpenVINO's int8 runs gain from longer runs: at 128 tokens,
# runs of 16 gave 335-340 passages/s against 319-320 for 4 (Xeon, 2 cores; alike at 256).
AMX_BATCH = 16
TORCH_BATCH = 32  # sentence-transformers' default, the baseline of the benchmark
# OpenVINO compiles and keeps kernels for every input shape it meets: padded to a multiple
# of this many tokens, a run meets 16 widths instead of 256 (see OpenVinoEmbedder).
OPENVINO_WIDTH_STEP = 16

_FIRST_USE = threading.Lock()  # see _CompiledEmbedder._warm_up
_LOADING = threading.Lock()


class UnknownBackend(AssistantError):
    """`embed_backend` names no way of running the model."""


@runtime_checkable
class Embedder(Protocol):
    """What the rest of the package needs of an embedder (the backends here; a test's small
    stand-in): `embed(texts)` gives one unit-length float32 row of `dim` numbers a text, in
    the texts' order ((0, dim) for none), and may be called from several threads at once."""

    dim: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


class TorchEmbedder(BoundedEmbedder):
    """Sentence-transformers on the CPU; `embed` returns normalised rows for inner product.
    One worker: torch spreads a run over every core itself."""

    backend = "torch"

    def __init__(self, model: str, batch_size: int = TORCH_BATCH, stall_s: float = STALL_S,
                 max_tokens: int = 0):
        go_offline()
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars are noise in a CLI

        self.name = model
        self.batch_size = batch_size
        self._model = SentenceTransformer(str(model_path(model)), device="cpu",
                                          local_files_only=True)
        dim = (self._model.get_embedding_dimension()
               if hasattr(self._model, "get_embedding_dimension")
               else self._model.get_sentence_embedding_dimension())
        if dim is None:  # sentence-transformers' answer when no module knows it
            raise ValueError(f"{model}: the model does not say its embedding dimension")
        self.dim = int(dim)
        limit = self._model.max_seq_length
        if max_tokens:
            self._model.max_seq_length = min(max_tokens, limit) if limit else max_tokens
        self._start(1, stall_s)

    def _prepare(self, texts):
        # The order sentence-transformers sorts a call in, so runs are the batches it makes.
        return texts, np.argsort([-len(t) for t in texts], kind="stable")

    def _encode(self, texts, rows):
        return self._model.encode([texts[i] for i in rows], batch_size=len(rows),
                                  normalize_embeddings=True, convert_to_numpy=True,
                                  show_progress_bar=False)


class _CompiledEmbedder(BoundedEmbedder):
    """What the int8 backends share: the model's own tokenizer, texts sorted by length and
    cut into small batches, so padding costs next to nothing, and one single-threaded run
    per core side by side (on 2 cores: 3.0x fp32 for onnx-int8, where one two-threaded run
    over batches of 32 gave 2.6x). Subclasses open the runtime (`_open`) and say how a
    batch runs (`_run`); runs must be reentrant."""

    width_step = 1  # pad a run to a multiple of this many tokens

    def __init__(self, model: str, batch_size: int = COMPILED_BATCH, threads: int | None = None,
                 stall_s: float = STALL_S, max_tokens: int = 0):
        folder = model_path(model)
        self.name = model
        self.batch_size = batch_size
        self.dim = json.loads((folder / "config.json").read_text())["hidden_size"]
        self._tokenizer = tokenizer_for(folder, max_tokens)
        self.max_tokens = self._tokenizer.truncation["max_length"]
        threads = threads or len(os.sched_getaffinity(0))
        self._open(model, threads)
        self._warm_up()
        self._start(threads, stall_s)  # both runtimes let go of the GIL while they compute

    def _open(self, model: str, threads: int) -> None:
        raise NotImplementedError

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _warm_up(self) -> None:
        """One run here, in the thread that builds the embedder, before any worker or
        request thread can reach it, and one process-wide build at a time.

        Why: OpenVINO's Python binding sets up process-wide state on its first use (the
        dtype map, a C++ function-local static built on first `Tensor.data`, and pybind11's
        `gil_safe_call_once_and_store<npy_api>`). Two threads that make their first
        `infer()` at once can deadlock on it: one holds the GIL waiting for the static's
        guard, the other owns the guard and waits for the GIL (native stacks, issue 11).
        Fresh processes whose two threads meet at their first `infer()` hung 6 times in 40
        (19 in 40 here); with one `infer()` in the main thread first, 0 in 40; and a process
        past its first run never hung (300 runs). A fresh server sent 8 first questions at
        once hung 6 times in 20, 0 in 12 with this warm-up. onnxruntime never hung (30 runs),
        but the same run costs it a few milliseconds, so it gets the same treatment."""
        ids = np.ones((1, 8), dtype=np.int64)
        with _FIRST_USE:
            self._run(ids, ids)

    def _prepare(self, texts):
        encodings = self._tokenizer.encode_batch(texts)
        return encodings, np.argsort([-len(e.ids) for e in encodings], kind="stable")

    def _encode(self, encodings, rows):
        width = bucket(max(len(encodings[i].ids) for i in rows), self.width_step,
                       self.max_tokens)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for row, i in enumerate(rows):
            ids[row, :len(encodings[i].ids)] = encodings[i].ids
            mask[row, :len(encodings[i].ids)] = 1
        return self._run(ids, mask)


def bucket(width: int, step: int, cap: int) -> int:
    """The padded width of a run: `width` rounded up to a multiple of `step`, at most `cap`
    (and never below `width`, which the tokenizer already truncates to `cap`).

    Example: bucket(37, 16, 256) -> 48; bucket(250, 16, 250) -> 250; bucket(5, 1, 256) -> 5
    """
    return max(width, min(-(-width // step) * step, cap))


class OnnxEmbedder(_CompiledEmbedder):
    """The model as int8 ONNX (weights int8, activations quantised per batch on the fly).
    Runs are not padded beyond their longest text: padding would move the per-batch
    activation ranges, and onnxruntime's memory stays flat (262 MB) without it."""

    backend = "onnx-int8"

    def _open(self, model: str, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(onnx_int8(model)), options,
                                             providers=["CPUExecutionProvider"])

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


class OpenVinoEmbedder(_CompiledEmbedder):
    """The model in static int8 on OpenVINO: the fastest here (4.2x fp32 on 2 cores against
    3.0x for onnx-int8) and the closest to fp32 (mean cosine 0.997 against 0.994).

    Runs are padded to a multiple of OPENVINO_WIDTH_STEP tokens: OpenVINO keeps compiled
    kernels for every shape it meets, and RSS grew from 277 MB to 2,462 MB over 6,144
    passages of all widths. Padding carries attention mask 0, so vectors stay the same (the
    activation scales are static)."""

    backend = "openvino-int8"
    width_step = OPENVINO_WIDTH_STEP

    def _open(self, model: str, threads: int) -> None:
        go_offline()  # before openvino is imported: it loads its usage reporter at once
        import openvino as ov

        self._graph = str(openvino_int8(model))
        # One single-threaded stream a worker, as for onnxruntime.
        self._config = {"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": str(threads),
                        "INFERENCE_NUM_THREADS": str(threads)}
        self._compiled = ov.Core().compile_model(self._graph, "CPU", self._config)
        self._full = None  # compiled on the first full run: questions never need it
        self._compiling = threading.Lock()
        self._requests = threading.local()  # an infer request serves one thread at a time

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        slot = "full" if ids.shape == (self.batch_size, self.max_tokens) else "any"
        request = getattr(self._requests, slot, None)
        if request is None:
            graph = self._full_graph() if slot == "full" else self._compiled
            request = graph.create_infer_request()
            setattr(self._requests, slot, request)
        request.infer({"input_ids": ids, "attention_mask": mask})
        return request.get_output_tensor(0).data.copy()

    def _full_graph(self):
        """The graph compiled for a full run's fixed shape (batch_size texts at the token
        limit): most runs of an ingest at 128 tokens, since 90% of passages reach it. A
        fixed shape lets OpenVINO pick its kernels ahead: 74.5 ms a run of 16 at 128 tokens
        against 83.4 ms on the graph that takes any shape (one thread, Xeon with AMX)."""
        import openvino as ov

        with self._compiling:
            if self._full is None:
                core = ov.Core()
                graph = core.read_model(self._graph)
                shape = [self.batch_size, self.max_tokens]
                graph.reshape({"input_ids": shape, "attention_mask": shape})
                self._full = core.compile_model(graph, "CPU", self._config)
        return self._full


def load_embedder(model: str, batch_size: int = 0, backend: str = "torch",
                  stall_s: float = STALL_S, max_tokens: int = 0) -> Embedder:
    """One loaded model per process and setting: loading costs seconds, encoding is reentrant.
    batch_size 0 takes the backend's own best; max_tokens 0 the model's own limit. One build
    at a time: a fresh server's first questions, arriving together, share one model instead
    of each loading its own."""
    with _LOADING:
        return _load(model, batch_size, backend, stall_s, max_tokens)


@lru_cache(maxsize=4)
def _load(model: str, batch_size: int, backend: str, stall_s: float, max_tokens: int):
    if backend == "torch":
        return TorchEmbedder(model, batch_size or TORCH_BATCH, stall_s, max_tokens)
    if backend == "onnx-int8":
        return OnnxEmbedder(model, batch_size or COMPILED_BATCH, stall_s=stall_s,
                            max_tokens=max_tokens)
    if backend == "openvino-int8":
        amx = "amx_int8" in cpu_flags()
        return OpenVinoEmbedder(model, batch_size or (AMX_BATCH if amx else COMPILED_BATCH),
                                stall_s=stall_s, max_tokens=max_tokens)
    raise UnknownBackend(f"unknown embed_backend {backend!r}; use one of {', '.join(BACKENDS)}")
