"""Measure retrieval on a RealTime-QA-style set, with the metrics of ../shared/eval/README.md.

The metric functions are pure; `run_eval` ingests the set's corpus into a cached index once,
then asks every question as of its date under each retrieval stage, so one run shows what
each stage buys.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import statistics
import time
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..config import Settings
from ..search.retrieve import Query, search
from ..storage.store import settings_for_index
from .eval_table import INTERVAL_METRICS, format_table

KS = (1, 5, 10, 20)
CACHE_ENV = "ASSISTANT_EVAL_CACHE"


def norm(text: str) -> str:
    """Example: 'The U.S.  Senate!' -> 'the u s senate'."""
    return " ".join(re.sub(r"[^\w\s]", " ", (text or "").lower()).split())


def first_hit(texts: list[str], answers: list[str]) -> int | None:
    """Rank (0-based) of the first text holding a normalised answer as whole words."""
    keys = [f" {norm(a)} " for a in answers if len(norm(a)) >= 2]
    for rank, text in enumerate(texts):
        padded = f" {norm(text)} "
        if any(key in padded for key in keys):
            return rank
    return None


def mc_correct(texts: list[str], choices: list[str], answers: list[str]) -> bool:
    """The first of the top 20 texts naming exactly one choice decides the answer."""
    keys = {norm(a) for a in answers if len(norm(a)) >= 2}
    for text in texts[:20]:
        padded = f" {norm(text)} "
        present = [norm(c) for c in choices if norm(c) and f" {norm(c)} " in padded]
        if len(present) == 1:
            return present[0] in keys
    return False


def score(runs: list[dict]) -> dict[str, float]:
    """runs: [{'first': rank or None, 'mc': bool}] -> {'R@1': .., 'MRR@10': .., 'MC': ..}."""
    return {k: round(float(np.mean(v)) if len(v) else 0.0, 3)
            for k, v in per_question(runs).items()}


def per_question(runs: list[dict]) -> dict[str, np.ndarray]:
    """Each metric's value for each question, so that two pipelines can be compared paired.

    Example: [{'first': 2, 'mc': True}] -> {'R@1': [0.], 'R@5': [1.], ..., 'MRR@10': [0.333],
             'MC': [1.]}
    """
    first = [r["first"] for r in runs]
    out = {f"R@{k}": np.array([f is not None and f < k for f in first], dtype=float)
           for k in KS}
    out["MRR@10"] = np.array([1 / (f + 1) if f is not None and f < 10 else 0.0 for f in first])
    out["MC"] = np.array([bool(r["mc"]) for r in runs], dtype=float)
    return out


def paired_bootstrap(a: np.ndarray, b: np.ndarray, resamples: int = 2000, seed: int = 0
                     ) -> tuple[float, float, float]:
    """Mean of a - b over questions and its 95% interval, resampling questions (paired).

    Example: paired_bootstrap(np.ones(50), np.zeros(50)) -> (1.0, 1.0, 1.0)
    """
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if not len(diff):
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (resamples, len(diff)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return round(float(diff.mean()), 3), round(float(low), 3), round(float(high), 3)


NAIVE = "naive floor"
PREVIOUS = "previous"


def stages(settings: Settings) -> dict[str, Settings]:
    """Each stage adds one part to the one before; the last is the shipped pipeline. Two
    references run on the same index: the naive floor of ../shared/eval/README.md
    (reciprocal-rank fusion with k=60, articles of the 10 days before the question first)
    and the pipeline shipped before the cross-encoder (LightGBM ranker, one card a passage)."""
    plain = replace(settings, recency_boost=0.0, phrase_boost=0.0, dedupe=False, per_article=0,
                    rerank=False, cross_encoder=False, abstain_below=0.0)
    recent = replace(plain, recency_boost=settings.recency_boost,
                     phrase_boost=settings.phrase_boost)
    return {
        NAIVE: replace(plain, fusion="rrf", rrf_k=60, recency_days=10, recency_boost=1.0,
                       recency_half_life=0.0),
        PREVIOUS: replace(plain, fusion="blend", dense_weight=1.0, keyword_weight=1.0,
                          candidates=200, recency_days=7, recency_boost=0.5,
                          recency_half_life=0.0, rerank=True, rerank_depth=20, dedupe=True),
        "dense": replace(plain, keyword_weight=0.0),
        "keyword": replace(plain, dense_weight=0.0),
        "fused": plain,
        "+recency": recent,
        "+rerank": replace(recent, rerank=settings.rerank, cross_encoder=settings.cross_encoder),
        "shipped (passage level)": replace(settings, per_article=0),
        "shipped": settings,
    }


def eval_index_dir(set_dir: Path, settings: Settings) -> Path:
    """A cache folder outside the repo, one per set and index fingerprint."""
    base = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "news-assistant" / "eval")
    digest = hashlib.sha1(json.dumps(settings.index_fingerprint(), sort_keys=True).encode())
    return base / f"{set_dir.resolve().name}-{digest.hexdigest()[:8]}"


def open_eval_index(set_dir: Path, index: Path | None = None, rebuild: bool = False,
                    settings: Settings | None = None, progress: bool = False, open_index=None):
    """(assistant, ingest figures) for a set's corpus, ingested once and then re-used."""
    from ..assistant import Assistant

    settings = settings or (settings_for_index(index) if index else Settings())
    index = Path(index) if index else eval_index_dir(Path(set_dir), settings)
    ingest_file = index / "eval-ingest.json"
    if rebuild and index.exists():
        import shutil

        shutil.rmtree(index)
    assistant = (open_index or Assistant)(index, settings)
    if not ingest_file.exists():
        report = assistant.ingest([Path(set_dir) / "corpus.jsonl.gz"], progress=progress)
        ingest = {"articles": report.read, "passages": report.passages,
                  "seconds": round(report.seconds, 1),
                  "articles_per_s": round(report.read / max(report.seconds, 1e-9), 2),
                  "passages_per_s": round(report.passages / max(report.seconds, 1e-9), 2)}
        ingest_file.write_text(json.dumps(ingest))
    return assistant, json.loads(ingest_file.read_text())


def run_eval(set_dir: Path, index: Path | None = None, rebuild: bool = False, limit: int = 0,
             settings: Settings | None = None, progress: bool = False, open_index=None) -> dict:
    """Every stage over every question, paired intervals against the two references, and
    the answer-level figures of the shipped pipeline. open_index(folder, settings): what
    opens the index (a sharded collection's `cluster.connect`); `Assistant` by default."""
    set_dir = Path(set_dir)
    assistant, ingest = open_eval_index(set_dir, index, rebuild, settings, progress, open_index)
    settings = assistant.settings  # the index's own where none were given
    with open(set_dir / "questions.jsonl") as lines:
        questions = [json.loads(line) for line in lines]
    questions = questions[:limit] if limit else questions

    from ..search.rerank import second_stages

    embed = cached_embed(assistant.embedder.embed)
    reader, first_stage = searched(assistant)
    runs = {name: measure(reader, embed, questions, variant, second_stages(variant), first_stage)
            for name, variant in stages(settings).items()}
    results = {name: {**score(r["runs"]), **percentiles(r["seconds"])}
               for name, r in runs.items()}
    leaks = sum(r["leaks"] for r in runs.values())
    metrics = {name: per_question(r["runs"]) for name, r in runs.items()}
    intervals = {name: {ref: {m: paired_bootstrap(metrics[name][m], metrics[ref][m])
                              for m in INTERVAL_METRICS}
                        for ref in (NAIVE, PREVIOUS)}
                 for name in metrics if name not in (NAIVE, PREVIOUS)}
    # Latency of the shipped pipeline end to end (question embedding, lead included).
    latencies, answers = [], []
    for q in questions:
        started = time.perf_counter()
        answers.append(assistant.answer(q["question"], k=20, as_of=q["date"]))
        latencies.append(time.perf_counter() - started)
    out = {"set": set_dir.name, "questions": len(questions), "index": str(assistant.folder),
           "ingest": ingest, "stages": results, "intervals": intervals,
           "answers": answer_figures(assistant, questions, answers),
           "end_to_end": percentiles(latencies), "passages_after_as_of": leaks}
    out["table"] = format_table(out)
    return out


def searched(assistant) -> tuple:
    """(what the stages search, its first stage): one index's store and the default, or a
    sharded collection and its shards' fan-out (cluster/front.py)."""
    return getattr(assistant, "searched", (assistant.store, None))


def answer_figures(assistant, questions: list[dict], answers: list) -> dict:
    """Lead hit rate (the lead sentence holds an answer string), and abstention: on each
    question as asked, and on its unanswerable copy, asked with every passage that holds an
    answer string masked out (an eval-only exclusion)."""
    leads = [a.lead is not None and first_hit([a.lead.text], q["answers"]) == 0
             for q, a in zip(questions, answers)]
    # The lead's ceiling: the top card holds an answer at all (the lead is read from it first).
    ceiling = [bool(a.passages) and first_hit([a.passages[0].text], q["answers"]) == 0
               for q, a in zip(questions, answers)]
    holders = AnswerHolders(searched(assistant)[0])
    unanswerable = [assistant.answer(q["question"], k=20, as_of=q["date"],
                                     exclude=holders(q["answers"])) for q in questions]
    n = max(len(questions), 1)
    return {"lead_hit_rate": round(sum(leads) / n, 3),
            "lead_ceiling": round(sum(ceiling) / n, 3),
            "abstains_answerable": round(sum(not a.answered for a in answers) / n, 3),
            "abstains_unanswerable": round(sum(not a.answered for a in unanswerable) / n, 3),
            "confidence": [round(a.confidence, 4) if a.confidence is not None else None
                           for a in answers],
            "confidence_unanswerable": [round(a.confidence, 4) if a.confidence is not None
                                        else None for a in unanswerable]}


class AnswerHolders:
    """The ids of every passage holding one of some answer strings (as the metric matches),
    found with one scan of all normalised passage texts joined into one string."""

    def __init__(self, store):
        ids = np.flatnonzero(store.view.allowed())  # every stored passage
        rows = store.passages([int(i) for i in ids])
        self.ids = [i for i in map(int, ids) if i in rows]
        parts, self.starts, at = [], [], 0
        for i in self.ids:
            text = f" {norm(rows[i].text)} "
            self.starts.append(at)
            parts.append(text)
            at += len(text)
        self.text = "".join(parts)

    def __call__(self, answers: list[str]) -> frozenset[int]:
        import bisect

        found = set()
        for key in {f" {norm(a)} " for a in answers if len(norm(a)) >= 2}:
            at = self.text.find(key)
            while at >= 0:
                found.add(self.ids[bisect.bisect_right(self.starts, at) - 1])
                at = self.text.find(key, at + 1)
        return frozenset(found)


def cached_embed(embed):
    """The same question text is embedded once per run, whatever the stages ask."""
    one = lru_cache(maxsize=None)(lambda text: embed([text])[0])
    return lambda texts: np.vstack([one(t) for t in texts])


def measure(store, embed, questions: list[dict], settings: Settings, rerankers=(),
            first_stage=None) -> dict:
    """Each question asked for 20 passages as of its date: per-question runs and timings."""
    runs, seconds, leaks = [], [], 0
    for q in questions:
        started = time.perf_counter()
        passages = search(store, embed, Query(q["question"], 20, q["date"]), settings,
                          rerankers, first_stage)
        seconds.append(time.perf_counter() - started)
        leaks += sum(p.date > q["date"] for p in passages)
        texts = [p.text for p in passages]
        runs.append({"first": first_hit(texts, q["answers"]),
                     "mc": mc_correct(texts, q["choices"], q["answers"])})
    return {"runs": runs, "seconds": seconds, "leaks": leaks}


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds) or [0.0]
    return {"p50_ms": round(1000 * statistics.median(ordered), 1),
            "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 1)}
