"""Second-stage ranking: a learned ranker (LightGBM LambdaRank) over retrieval features.

No cross-encoder installs offline from PyPI, so the ranker is trained here, on rtqa-2024
(`assistant train-ranker`), and shipped as a small text model file in the package.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..embedding.model_files import ModelNotFound
from ..reading.words import sentences, stems, tokenize
from ..storage.view import day
from .retrieve import Candidates, Query, Reader

MODEL_FILE = Path(__file__).parents[1] / "models" / "ranker.txt"
CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w'-]+")
NUMBER = re.compile(r"\b\d[\d,.]*\b")
FEATURES = [
    "fused", "fused_rank", "dense_cos", "dense_rank", "bm25", "bm25_rel", "bm25_rank",
    "age_days", "favoured", "seq", "chars", "term_cover", "title_cover", "names_cover",
    "numbers_cover", "article_hits", "article_best_rank", "dense_rel", "sentence_cover",
]


def features(store: Reader, query: Query, found: Candidates, depth: int
             ) -> tuple[list[int], np.ndarray, dict]:
    """The top `depth` fused candidates and one feature row each (columns: FEATURES)."""
    ids = list(found.scores)[:depth]
    rows = store.passages(ids)
    ids = [i for i in ids if i in rows]
    if not ids:
        return [], np.zeros((0, len(FEATURES)), dtype=np.float32), rows
    terms = set(tokenize([query.question])[0])
    names = {n.lower() for n in CAPITALISED.findall(query.question)}
    numbers = set(NUMBER.findall(query.question))
    texts = [rows[i].text for i in ids]
    passage_terms = tokenize(texts)
    title_terms = tokenize([rows[i].title for i in ids])
    top_bm25 = max((s for _, s in found.keyword.values()), default=0.0) or 1.0
    top_cos = max((s for _, s in found.dense.values()), default=0.0) or 1.0
    days = found.view.days
    today = day(query.as_of) if query.as_of else int(days.max(initial=0))
    article_hits: dict[str, int] = {}
    article_best: dict[str, int] = {}
    for rank, i in enumerate(ids):
        a = rows[i].article_id
        article_hits[a] = article_hits.get(a, 0) + 1
        article_best.setdefault(a, rank)
    out = np.full((len(ids), len(FEATURES)), np.nan, dtype=np.float32)
    for r, i in enumerate(ids):
        p, lower = rows[i], texts[r].lower()
        dense_rank, cos = found.dense.get(i, (np.nan, np.nan))
        bm25_rank, bm25 = found.keyword.get(i, (np.nan, np.nan))
        age = today - int(days[i])
        out[r] = [
            found.scores[i], r, cos, dense_rank, bm25, bm25 / top_bm25, bm25_rank,
            age, found.favoured[0] <= int(days[i]) <= found.favoured[1], p.seq,
            len(p.text), _cover(terms, passage_terms[r]), _cover(terms, title_terms[r]),
            _cover_text(names, lower), _cover_text(numbers, lower),
            article_hits[p.article_id], article_best[p.article_id], cos / top_cos,
            best_sentence_cover(terms, texts[r]),
        ]
    return ids, out, rows


def best_sentence_cover(wanted: set[str], text: str) -> float:
    """The largest share of the question's terms that one sentence of `text` holds: the
    answer usually sits in a sentence that repeats the question's words.

    Example: ({'chess', 'open'}, 'Rain fell. Osei won the chess open.') -> 1.0
    """
    if not wanted:
        return np.nan
    found = stems(text)
    best = 0.0
    for start, end in sentences(text):
        inside = {stem for at, stem in found if start <= at < end}
        best = max(best, len(inside & wanted) / len(wanted))
    return best


def _cover(wanted: set[str], have: list[str]) -> float:
    """Example: ({'a', 'b'}, ['a', 'c']) -> 0.5; NaN when nothing is wanted."""
    return len(wanted & set(have)) / len(wanted) if wanted else np.nan


def _cover_text(wanted: set[str], text: str) -> float:
    return sum(w.lower() in text for w in wanted) / len(wanted) if wanted else np.nan


class Ranker:
    """Reorders the top `depth` candidates by the learned model; the rest keep their order."""

    def __init__(self, model_file: Path = MODEL_FILE, depth: int = 100):
        import lightgbm

        if not Path(model_file).is_file():
            raise ModelNotFound(f"no ranker model at {model_file}; train one with: "
                                f"assistant train-ranker SET_DIR --out {model_file}")
        self.booster = lightgbm.Booster(model_file=str(model_file))
        self.depth = depth

    def __call__(self, store: Reader, query: Query, found: Candidates) -> dict[int, float]:
        ids, matrix, _ = features(store, query, found, self.depth)
        if not ids:
            return found.scores
        learned = np.asarray(self.booster.predict(matrix, num_threads=1))  # typed as a union
        # Reranked scores lie in (1, 2), above every fused score (< 1), so they stay ahead.
        squashed = 1.0 + 1.0 / (1.0 + np.exp(-learned))
        scores = {ids[j]: float(squashed[j]) for j in np.argsort(-learned, kind="stable")}
        for i, s in found.scores.items():
            scores.setdefault(i, s)
        return scores


@lru_cache(maxsize=2)
def load_ranker(model_file: str = str(MODEL_FILE), depth: int = 100) -> Ranker | None:
    """The shipped ranker, or None when the package holds no model file."""
    return Ranker(Path(model_file), depth) if Path(model_file).is_file() else None


def second_stages(settings) -> list[Callable[[Reader, Query, Candidates], dict[int, float]]]:
    """The rerankers `settings` asks for that the package ships, in the order they run."""
    from .cross_encoder import CrossRanker, load_cross_encoder

    stages: list[Callable[[Reader, Query, Candidates], dict[int, float]]] = []
    if settings.rerank and (ranker := load_ranker(depth=settings.rerank_depth)) is not None:
        stages.append(ranker)
    if settings.cross_encoder and (model := load_cross_encoder()) is not None:
        stages.append(CrossRanker(model, settings.cross_depth, settings.cross_prior))
    return stages
