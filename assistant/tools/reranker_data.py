"""Training groups for the cross-encoder, mined from a training set (never validation or test).

A set's corpus is chunked as an ingest chunks it, and BM25 over those passages, under each
question's as-of date, gives the hard negatives (no embedding pass: that would cost half an
hour a set on 2 cores).

Labels are the delicate part. "The passage holds an answer string" is noisy: short answers
("China", "Biden") occur in many passages that do not answer. A positive must hold an answer
string inside the window the model reads, share at least `POSITIVE_COVER` of the question's
stems in its title and window, and come from an article at most `POSITIVE_DAYS` old on the
question's date. On rtqa-2024's BM25 top 30 these tests keep positives for 550 of 1,048
questions; a 30-day limit kept 337 (answers often sit in older background articles, and the
eval counts those as hits too), a 0.5 cover 483. A passage that holds an answer but fails
those tests is left out, neither positive nor negative. A negative holds no answer string.
"""
from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..reading.boilerplate import is_boilerplate
from ..reading.chunking import chunk
from ..reading.words import stems
from ..search.cross_encoder import asked, pair_text, window
from ..search.retrieve import core_question
from ..storage.keyword import KeywordIndex
from ..storage.view import day
from .evaluate import first_hit

POSITIVE_DAYS = 365
POSITIVE_COVER = 0.3
NEGATIVES = 7
MINE_DEPTH = 30


@dataclass(frozen=True)
class Group:
    """One training question: its positive's text and its negatives' texts."""

    question: str
    positive: str
    negatives: tuple[str, ...]


def label(question: str, answers: list[str], title: str, text: str, age_days: int) -> int | None:
    """1 (answers), 0 (holds no answer) or None (holds one, but not credibly: left out).

    Example: label('Who won the chess open?', ['Osei'], 'Chess', 'Osei won the chess open.', 2)
             -> 1; with age_days=90 -> None; with answers ['Lund'] -> 0
    """
    if first_hit([text], answers) is None:
        return 0
    if age_days > POSITIVE_DAYS:
        return None
    start, end = window(question, text)
    if first_hit([text[start:end]], answers) is None:
        return None
    wanted = {s for _, s in stems(question)}
    have = {s for _, s in stems(f"{title}\n{text[start:end]}")}
    if wanted and len(wanted & have) / len(wanted) < POSITIVE_COVER:
        return None
    return 1


@dataclass(frozen=True)
class SetPassages:
    """A set's corpus chunked as an ingest chunks it; `first`: the article's first passage."""

    titles: list[str]
    texts: list[str]
    dates: list[str]
    days: np.ndarray
    first: list[bool]


def set_passages(set_dir: Path) -> SetPassages:
    titles, texts, dates, first = [], [], [], []
    with gzip.open(Path(set_dir) / "corpus.jsonl.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            a = json.loads(line)
            for n, (start, end) in enumerate(chunk(a["text"], 1000, is_boilerplate)):
                titles.append(a["title"])
                texts.append(a["text"][start:end])
                dates.append(a["date"])
                first.append(n == 0)
    return SetPassages(titles, texts, dates, np.array([day(d) for d in dates]), first)


def labelled(set_dir: Path, found: SetPassages, depth: int):
    """(question, [(passage index, label, BM25 score)]) for each question of the set: BM25's
    top `depth` over the titled passages, as of the question's date, labelled by `label`."""
    keyword = KeywordIndex.build(np.arange(len(found.texts)),
                                 [f"{t}\n{x}" for t, x in zip(found.titles, found.texts)])
    with open(Path(set_dir) / "questions.jsonl", encoding="utf-8") as lines:
        questions = [json.loads(line) for line in lines]
    for q in questions:
        today = day(q["date"])
        ids, scores = keyword.search(core_question(q["question"]), depth, found.days <= today)
        yield q, [(int(i), label(q["question"], q["answers"], found.titles[i], found.texts[i],
                                 today - int(found.days[i])), float(s))
                  for i, s in zip(ids, scores)]


def mine(set_dir: Path, depth: int = MINE_DEPTH, seed: int = 7, dated: bool = True,
         log=lambda *a: None) -> list[Group]:
    """The training groups of one set: BM25's top `depth` as of each question's date."""
    set_dir = Path(set_dir)
    found = set_passages(set_dir)
    titles, texts = found.titles, found.texts
    dates = found.dates if dated else [""] * len(texts)
    log(f"{set_dir.name}: {len(texts):,} passages; indexing BM25")
    rng = random.Random(seed)
    groups = []
    for q, labelled_ids in labelled(set_dir, found, depth):
        positives = [i for i, y, _ in labelled_ids if y == 1][:2]
        negatives = [i for i, y, _ in labelled_ids if y == 0]
        if not positives or len(negatives) < NEGATIVES:
            continue
        for p in positives:
            # Half the negatives from BM25's top ten (the hardest), half from the rest.
            hard, rest = negatives[:10], negatives[10:]
            picked = rng.sample(hard, min(len(hard), NEGATIVES // 2 + 1))
            picked += rng.sample(rest, min(len(rest), NEGATIVES - len(picked)))
            if len(picked) < NEGATIVES:
                picked += rng.sample([n for n in hard if n not in picked], NEGATIVES - len(picked))
            question = asked(q["question"], q["date"] if dated else "")
            groups.append(Group(question,
                                pair_text(titles[p], texts[p], q["question"], dates[p]),
                                tuple(pair_text(titles[n], texts[n], q["question"], dates[n])
                                      for n in picked)))
    log(f"{set_dir.name}: {len(groups):,} groups")
    return groups
