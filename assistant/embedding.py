"""The one model seam: texts in, unit-length float32 vectors out.

Three backends run the same packaged model (`model_files.py` finds it and makes its int8
graphs): "torch" (sentence-transformers, fp32, the reference), "openvino-int8" (the
default: weights and activations in int8, run by OpenVINO) and "onnx-int8" (weights in int8,
activations quantised on the fly, run by onnxruntime).
"""
from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

from .errors import AssistantError
from .model_files import go_offline, max_seq_length, model_path, onnx_int8, openvino_int8

BACKENDS = ("torch", "openvino-int8", "onnx-int8")
COMPILED_BATCH = 4  # texts a run: 2-4 measured alike, 32 was 15% slower (padding, cache)
TORCH_BATCH = 32  # sentence-transformers' default, the baseline of the benchmark


class UnknownBackend(AssistantError):
    """`embed_backend` names no way of running the model."""


class Embedder:
    """Sentence-transformers on the CPU; `embed` returns normalised rows for inner product."""

    def __init__(self, model: str, batch_size: int = TORCH_BATCH):
        go_offline()
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars are noise in a CLI

        self.name = model
        self.batch_size = batch_size
        self._model = SentenceTransformer(str(model_path(model)), device="cpu",
                                          local_files_only=True)
        self.dim = int(self._model.get_embedding_dimension()
                       if hasattr(self._model, "get_embedding_dimension")
                       else self._model.get_sentence_embedding_dimension())

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(texts, batch_size=self.batch_size,
                                     normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


class _CompiledEmbedder:
    """What the int8 backends share: the model's own tokenizer, texts sorted by length and
    cut into small batches, so padding costs next to nothing, and one single-threaded run
    per core side by side (on 2 cores: 3.0x fp32 for onnx-int8, where one two-threaded run
    over batches of 32 gave 2.6x). Subclasses say how a batch runs; runs must be reentrant.
    """

    backend = ""

    def __init__(self, model: str, batch_size: int = COMPILED_BATCH, threads: int | None = None):
        from tokenizers import Tokenizer

        folder = model_path(model)
        self.name = model
        self.batch_size = batch_size
        self.dim = json.loads((folder / "config.json").read_text())["hidden_size"]
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_seq_length(folder))
        self._tokenizer.no_padding()
        self.threads = threads or len(os.sched_getaffinity(0))
        # Both runtimes let go of the GIL while they compute.
        self._workers = ThreadPoolExecutor(self.threads, thread_name_prefix="embed")

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(texts)
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")

        def run(rows: np.ndarray) -> None:
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for row, i in enumerate(rows):
                ids[row, :len(encodings[i].ids)] = encodings[i].ids
                mask[row, :len(encodings[i].ids)] = 1
            out[rows] = self._run(ids, mask)

        batches = [order[start:start + self.batch_size]
                   for start in range(0, len(texts), self.batch_size)]
        if len(batches) == 1:
            run(batches[0])  # a question: no hand-over to a worker
        else:
            list(self._workers.map(run, batches))
        return out


class OnnxEmbedder(_CompiledEmbedder):
    """The model as int8 ONNX (weights int8, activations quantised per batch on the fly)."""

    backend = "onnx-int8"

    def __init__(self, model: str, batch_size: int = COMPILED_BATCH, threads: int | None = None):
        import onnxruntime as ort

        super().__init__(model, batch_size, threads)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(onnx_int8(model)), options,
                                             providers=["CPUExecutionProvider"])

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


class OpenVinoEmbedder(_CompiledEmbedder):
    """The model in static int8 on OpenVINO: the fastest here (4.2x fp32 on 2 cores against
    3.0x for onnx-int8) and the closest to fp32 (mean cosine 0.997 against 0.994)."""

    backend = "openvino-int8"

    def __init__(self, model: str, batch_size: int = COMPILED_BATCH, threads: int | None = None):
        go_offline()  # before openvino is imported: it loads its usage reporter at once
        import openvino as ov

        super().__init__(model, batch_size, threads)
        # One single-threaded stream a worker, as for onnxruntime.
        self._compiled = ov.Core().compile_model(
            str(openvino_int8(model)), "CPU",
            {"PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": str(self.threads),
             "INFERENCE_NUM_THREADS": str(self.threads)})
        self._requests = threading.local()  # an infer request serves one thread at a time

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        request = getattr(self._requests, "request", None)
        if request is None:
            request = self._requests.request = self._compiled.create_infer_request()
        request.infer({"input_ids": ids, "attention_mask": mask})
        return request.get_output_tensor(0).data.copy()


@lru_cache(maxsize=4)
def load_embedder(model: str, batch_size: int = 0, backend: str = "torch"):
    """One loaded model per process and setting: loading costs seconds, encoding is reentrant.
    batch_size 0 takes the backend's own best."""
    if backend == "torch":
        return Embedder(model, batch_size or TORCH_BATCH)
    if backend == "onnx-int8":
        return OnnxEmbedder(model, batch_size or COMPILED_BATCH)
    if backend == "openvino-int8":
        return OpenVinoEmbedder(model, batch_size or COMPILED_BATCH)
    raise UnknownBackend(f"unknown embed_backend {backend!r}; use one of {', '.join(BACKENDS)}")
