"""The learned lead scorer: which sentence of the top passages answers the question.

Each candidate sentence is described by how many of the question's key terms it repeats, by
whether it holds a span of the kind the question asks for (answer_type.py), by where it sits,
and optionally by the sentence model's cosine to the question. A LightGBM ranker trained on
the training sets' sentences (positives hold an answer string: `python -m
assistant.tools.train_lead`) orders them; it ships as a small text file in the package, and
costs no model call at question time, so it scales with the first stage, not with a reader.
"""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..reading.words import sentences, words as terms
from .answer_type import TYPES, expected_type, spans, type_match

MODEL_FILE = Path(__file__).parents[1] / "models" / "lead.txt"
FEATURES = ["share", "shared", "rank", "position", "first", "log_chars", "new_terms",
            *(f"asks_{t}" for t in TYPES), "numbers", "dates", "names", "organisations",
            "type_match", "passage_share", "sentences"]


def stem_set(text: str) -> set[str]:
    return {stem for _, _, stem in terms(text)}


def options(question: str, texts: Sequence[str], depth: int = 3
            ) -> list[tuple[int, int, int]]:
    """(passage rank, start, end) of every sentence of the first `depth` texts."""
    return [(rank, s, e) for rank, text in enumerate(texts[:depth])
            for s, e in sentences(text)]


def features(question: str, texts: Sequence[str], found: list[tuple[int, int, int]]
             ) -> np.ndarray:
    """One row a sentence (columns: FEATURES); `found` as `options` gives them."""
    wanted = stem_set(question)
    kind = expected_type(question)
    asks = [float(kind == t) for t in TYPES]
    passage_stems = {rank: stem_set(texts[rank]) for rank in {r for r, _, _ in found}}
    counts: dict[int, int] = {}
    for rank, _, _ in found:
        counts[rank] = counts.get(rank, 0) + 1
    out = np.zeros((len(found), len(FEATURES)), dtype=np.float32)
    position: dict[int, int] = {}
    for row, (rank, start, end) in enumerate(found):
        sentence = texts[rank][start:end]
        have = stem_set(sentence)
        shared = len(have & wanted)
        held = spans(sentence, question)
        at = position[rank] = position.get(rank, -1) + 1
        out[row] = [
            shared / len(wanted) if wanted else 0.0, shared, rank, at, at == 0,
            math.log1p(len(sentence)), len(have - wanted), *asks, held["number"],
            held["date"], held["name"], held["organisation"], type_match(kind, held),
            len(passage_stems[rank] & wanted) / len(wanted) if wanted else 0.0, counts[rank],
        ]
    return out


class LeadScorer:
    """Scores candidate sentences with the shipped ranker; higher answers better."""

    def __init__(self, model_file: Path = MODEL_FILE):
        import lightgbm

        self.booster = lightgbm.Booster(model_file=str(model_file))
        calibration = Path(model_file).with_suffix(".json")
        self.calibration = json.loads(calibration.read_text()) if calibration.is_file() else {}

    def probability(self, score: float) -> float:
        """The chance that the best sentence holds the answer: a Platt curve fitted on the
        training sets' held-out weeks (`lead.json`)."""
        a, b = self.calibration.get("a", 1.0), self.calibration.get("b", 0.0)
        return float(1.0 / (1.0 + math.exp(-(a * score + b))))

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        if not len(matrix):
            return np.zeros(0)
        return np.asarray(self.booster.predict(matrix, num_threads=1))  # typed as a union

    def best(self, question: str, texts: Sequence[str], depth: int = 3
             ) -> tuple[int, int, int, float] | None:
        """(passage rank, start, end, score) of the best sentence; None without sentences."""
        found = options(question, texts, depth)
        if not found:
            return None
        scores = self(features(question, texts, found))
        j = int(np.argmax(scores))
        return (*found[j], float(scores[j]))


@lru_cache(maxsize=2)
def load_lead_scorer(model_file: str = str(MODEL_FILE)) -> LeadScorer | None:
    """The shipped lead scorer, or None when the package holds none."""
    return LeadScorer(Path(model_file)) if Path(model_file).is_file() else None
