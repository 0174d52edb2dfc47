"""A news question-answering assistant: cited passages from your articles, as of a date.

The front door's names load on first use (PEP 562): `import assistant.reading.read_apart`,
which every ingest's reader child runs, then costs that module alone, not the whole
assistant (0.45 s of numpy, FAISS and the rankers a child never calls).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .answering.answer import Answer
    from .assistant import Assistant
    from .config import Settings
    from .errors import AssistantError
    from .types import Article, IngestReport, Passage

__all__ = ["Answer", "Article", "Assistant", "AssistantError", "IngestReport", "Passage",
           "Settings", "connect"]
_HOMES = {"Answer": ".answering.answer", "Assistant": ".assistant", "Settings": ".config",
          "AssistantError": ".errors", "Article": ".types", "IngestReport": ".types",
          "Passage": ".types"}


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module 'assistant' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name], __name__), name)
    globals()[name] = value  # once: later lookups never come back here
    return value


def connect(index=None, ray: str | None = None, create: bool = False, settings=None,
            **options) -> Assistant:
    """What `index` holds, opened for questions and writes: one index folder as `Assistant`,
    a sharded collection (`assistant cluster init`) or any folder given `ray` as its
    `ClusterAssistant` (the same methods). create: make an empty index where the folder
    holds none (what only writers that add articles want); else NoIndex, nothing made.
    options: for the collection (pin, cpus, timeout_s with Ray).

    >>> connect("index").answer("Who won the chess championship?", as_of="2025-12-31")
    """
    from pathlib import Path

    from .assistant import Assistant
    from .cluster.catalog import is_collection
    from .config import default_index_dir

    folder = Path(index) if index is not None else default_index_dir()
    if ray or is_collection(folder):
        from .cluster.front import ClusterAssistant

        return ClusterAssistant(folder, settings, ray, **options)
    return Assistant(folder, settings, create=create)
