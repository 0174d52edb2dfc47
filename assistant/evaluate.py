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

from .config import Settings
from .retrieve import Query, search

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
    n = max(len(runs), 1)
    out = {f"R@{k}": sum(r["first"] is not None and r["first"] < k for r in runs) / n
           for k in KS}
    out["MRR@10"] = sum(1 / (r["first"] + 1) for r in runs
                        if r["first"] is not None and r["first"] < 10) / n
    out["MC"] = sum(r["mc"] for r in runs) / n
    return {k: round(v, 3) for k, v in out.items()}


def stages(settings: Settings) -> dict[str, Settings]:
    """Each stage adds one part to the one before; the last is the shipped pipeline."""
    plain = replace(settings, recency_boost=0.0, dedupe=False, per_article=0, rerank=False)
    recent = replace(plain, recency_boost=settings.recency_boost)
    return {
        "dense": replace(plain, keyword_weight=0.0),
        "keyword": replace(plain, dense_weight=0.0),
        "fused": plain,
        "+recency": recent,
        "+rerank": replace(recent, rerank=settings.rerank),
        "shipped": settings,
    }


def eval_index_dir(set_dir: Path, settings: Settings) -> Path:
    """A cache folder outside the repo, one per set and index fingerprint."""
    base = Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "news-assistant" / "eval")
    digest = hashlib.sha1(json.dumps(settings.index_fingerprint(), sort_keys=True).encode())
    return base / f"{set_dir.resolve().name}-{digest.hexdigest()[:8]}"


def open_eval_index(set_dir: Path, index: Path | None = None, rebuild: bool = False,
                    settings: Settings | None = None, progress: bool = False):
    """(assistant, ingest figures) for a set's corpus, ingested once and then re-used."""
    from .assistant import Assistant

    settings = settings or Settings()
    index = Path(index) if index else eval_index_dir(Path(set_dir), settings)
    ingest_file = index / "eval-ingest.json"
    if rebuild and index.exists():
        import shutil

        shutil.rmtree(index)
    assistant = Assistant(index, settings)
    if not ingest_file.exists():
        report = assistant.ingest([Path(set_dir) / "corpus.jsonl.gz"], progress=progress)
        ingest = {"articles": report.read, "passages": report.passages,
                  "seconds": round(report.seconds, 1),
                  "articles_per_s": round(report.read / max(report.seconds, 1e-9), 2),
                  "passages_per_s": round(report.passages / max(report.seconds, 1e-9), 2)}
        ingest_file.write_text(json.dumps(ingest))
    return assistant, json.loads(ingest_file.read_text())


def run_eval(set_dir: Path, index: Path | None = None, rebuild: bool = False, limit: int = 0,
             settings: Settings | None = None, progress: bool = False) -> dict:
    settings = settings or Settings()
    set_dir = Path(set_dir)
    assistant, ingest = open_eval_index(set_dir, index, rebuild, settings, progress)
    questions = [json.loads(line) for line in open(set_dir / "questions.jsonl")]
    questions = questions[:limit] if limit else questions

    from .rerank import load_ranker

    embed = cached_embed(assistant.embedder.embed)
    results = {name: measure(assistant.store, embed, questions, variant,
                             load_ranker(depth=variant.rerank_depth) if variant.rerank else None)
               for name, variant in stages(settings).items()}
    leaks = sum(r.pop("leaks") for r in results.values())
    # Latency of the shipped pipeline end to end, question embedding included.
    latencies = []
    for q in questions:
        started = time.perf_counter()
        assistant.ask(q["question"], k=20, as_of=q["date"])
        latencies.append(time.perf_counter() - started)
    end_to_end = percentiles(latencies)
    store = assistant.store
    out = {"set": set_dir.name, "questions": len(questions), "index": str(store.folder),
           "ingest": ingest, "stages": results, "end_to_end": end_to_end,
           "passages_after_as_of": leaks}
    out["table"] = format_table(out)
    return out


def cached_embed(embed):
    """The same question text is embedded once per run, whatever the stages ask."""
    one = lru_cache(maxsize=None)(lambda text: embed([text])[0])
    return lambda texts: np.vstack([one(t) for t in texts])


def measure(store, embed, questions: list[dict], settings: Settings, ranker=None) -> dict:
    """Metrics of one pipeline over the questions, each asked for 20 passages as of its date."""
    runs, latencies, leaks = [], [], 0
    for q in questions:
        started = time.perf_counter()
        passages = search(store, embed, Query(q["question"], 20, q["date"]), settings, ranker)
        latencies.append(time.perf_counter() - started)
        leaks += sum(p.date > q["date"] for p in passages)
        texts = [p.text for p in passages]
        runs.append({"first": first_hit(texts, q["answers"]),
                     "mc": mc_correct(texts, q["choices"], q["answers"])})
    return {**score(runs), **percentiles(latencies), "leaks": leaks}


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds) or [0.0]
    return {"p50_ms": round(1000 * statistics.median(ordered), 1),
            "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 1)}


def format_table(result: dict) -> str:
    cols = ["R@1", "R@5", "R@10", "R@20", "MRR@10", "MC", "p50_ms", "p95_ms"]
    lines = [f"{result['set']}: {result['questions']} questions, index {result['index']}",
             "| stage | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, row in result["stages"].items():
        lines.append(f"| {name} | " + " | ".join(str(row[c]) for c in cols) + " |")
    ing, e2e = result["ingest"], result["end_to_end"]
    lines.append(f"end to end (question embedding included): p50 {e2e['p50_ms']} ms, "
                 f"p95 {e2e['p95_ms']} ms")
    lines.append(f"ingest: {ing['articles']} articles, {ing['passages']} passages in "
                 f"{ing['seconds']} s ({ing['articles_per_s']} articles/s, "
                 f"{ing['passages_per_s']} passages/s)")
    lines.append(f"passages dated after the as-of date: {result['passages_after_as_of']}")
    return "\n".join(lines)
