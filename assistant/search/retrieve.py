"""Hybrid retrieval: dense and keyword candidates under the as-of rule, fused and ranked."""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from ..config import Settings
from ..reading.words import plain
from ..storage.view import View, day
from ..types import Passage
from .dates import time_window
from .fusion import blend, boost_window, collapse_duplicates, fold_articles, recency_prior, rrf
from .stages import stage

# Quiz and chat phrasing that says nothing about the answer; time phrases are read
# separately (dates.py), so "this week" only adds noise to the text searches.
PHRASING = re.compile(r"\b(?:(?:this|last|past) week|(?:what is|what was|is|was)? ?the name of"
                      r"|(?:which|who|what) of the following|according to)\b", re.IGNORECASE)


def core_question(question: str) -> str:
    """Example: 'Which of the following won this week?' -> 'won ?'."""
    core = " ".join(PHRASING.sub(" ", question).split())
    return core if len(core) >= 3 else question


class Reader(Protocol):
    """What retrieval reads: the current generation's indexes and the passages by id. A
    `Store` is one, a sharded collection another, and a test's in-memory snapshot a third,
    so fusion and ranking run without SQLite."""

    @property
    def view(self) -> View: ...

    def passages(self, ids: list[int]) -> dict[int, Passage]: ...


@dataclass(frozen=True)
class Query:
    """A question with its filters; `as_of` is a hard limit on article dates."""

    question: str
    k: int = 5
    as_of: str | None = None
    since: str | None = None
    sources: tuple[str, ...] = ()
    # Passage ids never to return: the eval's unanswerable copies of a question mask every
    # passage that holds an answer.
    exclude: frozenset[int] = frozenset()

    def __post_init__(self):
        # Read as plain text at every entry (front door, eval, tools alike): a question pasted
        # from a web page keeps its words, not its tags' attributes and URLs.
        object.__setattr__(self, "question", plain(self.question))


@dataclass
class Candidates:
    """What the first stage found for one query: enough for fusion and for a reranker."""

    scores: dict[int, float]  # passage id -> fused (and boosted) score, best first
    dense: dict[int, tuple[int, float]] = field(default_factory=dict)  # id -> (rank, cosine)
    keyword: dict[int, tuple[int, float]] = field(default_factory=dict)  # id -> (rank, bm25)
    favoured: tuple[int, int] = (0, 0)  # first and last favoured day
    allowed: np.ndarray = field(kw_only=True)  # a mask by passage id
    view: View = field(kw_only=True)  # the one generation every step of this search used


def search(store: Reader, embed: Callable[[list[str]], np.ndarray], query: Query,
           settings: Settings, rerankers: Sequence[Callable] = (), first_stage=None
           ) -> list[Passage]:
    """The top `query.k` passages, best first; none dated after `query.as_of`. Each of
    `rerankers` reorders what the one before it left (see `rerank.second_stages`).
    first_stage: what finds the candidates, `candidates` by default (a sharded collection
    gives its fan-out, cluster/fanout.py)."""
    found = (first_stage or candidates)(store, embed, query, settings)
    if not found.scores:
        return []
    for rerank in rerankers:
        with stage("second stage"):
            found = replace(found, scores=rerank(store, query, found))
    scores = found.scores
    # Fetch more than k: collapsing duplicates and folding articles take some out.
    wanted = list(scores)[: query.k * 4 if settings.dedupe or settings.per_article else query.k]
    with stage("database"):
        rows = store.passages(wanted)
    ranked = [replace(rows[i], score=round(scores[i], 6)) for i in wanted
              if i in rows and found.allowed[i]
              and (not query.as_of or rows[i].date <= query.as_of)]
    if settings.dedupe:
        ranked = collapse_duplicates(ranked)
    return fold_articles(ranked, settings.per_article)[: query.k]


def candidates(store: Reader, embed: Callable[[list[str]], np.ndarray], query: Query,
               settings: Settings) -> Candidates:
    """Dense and keyword candidates among the allowed passages, fused, recent ones boosted."""
    view = store.view
    with stage("filters"):
        found = Candidates({}, allowed=allowed_for(view, query), view=view)
    if not found.allowed.any():
        return found
    allowed, text = found.allowed, core_question(query.question)
    keyword = None
    if settings.keyword_weight > 0:  # beside the embedding and dense search, on the other core
        keyword = BESIDE.submit(copy_context().run, _keyword_hits, view, text,
                                settings.candidates, allowed, settings.common_word_share)
    if settings.dense_weight > 0 and view.dense is not None and len(view.dense):
        with stage("embedding"):
            vector = embed([text])[0]
        with stage("dense search"):
            ids, sims = view.dense.search(vector, settings.candidates, allowed)
        found.dense = {int(i): (r, float(s)) for r, (i, s) in enumerate(zip(ids, sims))}
    if keyword is not None:
        found.keyword = keyword.result()
    with stage("fusion"):
        return ranked(found, query, settings)


# Keyword searches run here while the asking thread embeds and searches the dense index: both
# spend their time in numpy and FAISS, which release the GIL. One worker a concurrent question
# (a server's threads), so that no question waits for another's keyword search.
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=16, thread_name_prefix="keyword-search")


BESIDE = _pool()
# A forked child inherits the pool without its threads, and would wait on them forever.
os.register_at_fork(after_in_child=lambda: globals().update(BESIDE=_pool()))


def _keyword_hits(view: View, text: str, k: int, allowed: np.ndarray, common: float
                  ) -> dict[int, tuple[int, float]]:
    with stage("keyword search"):
        ids, bm25 = view.keyword.search(text, k, allowed, common=common)
    return {int(i): (r, float(s)) for r, (i, s) in enumerate(zip(ids, bm25))}


def allowed_for(view: View, query: Query) -> np.ndarray:
    """A mask by passage id: what `query` may show (its dates, outlets and exclusions)."""
    allowed = view.allowed(query.as_of, query.since, list(query.sources))
    if query.exclude:
        allowed[[i for i in query.exclude if i < len(allowed)]] = False
    return allowed


def ranked(found: Candidates, query: Query, settings: Settings) -> Candidates:
    """`found` with its dense and keyword hits fused and recency added as a term of the
    score (fusion.recency_prior, within the fused top `recency_within`), or, with
    `recency_half_life` 0, the favoured days boosted as a step (the earlier release's rule)."""
    view = found.view
    found.favoured = favoured_days(view, query, settings)
    days = {i: int(view.days[i]) for i in found.dense | found.keyword}
    fused = fuse(found, settings)
    if settings.recency_half_life <= 0:
        found.scores = boost_window(fused, days, *found.favoured, settings.recency_boost)
        return found
    window = time_window(query.question, query.as_of) if query.as_of else None
    today = day(query.as_of) if query.as_of else int(view.days.max(initial=0))
    found.scores = recency_prior(fused, days, today, settings.recency_boost,
                                 settings.recency_half_life,
                                 (day(window.start), day(window.end)) if window else None,
                                 settings.phrase_boost, settings.recency_within)
    return found


def fuse(found: Candidates, settings: Settings) -> dict[int, float]:
    """The two rankings as one, by `settings.fusion`: reciprocal ranks, or a score blend."""
    lists = [(found.dense, settings.dense_weight), (found.keyword, settings.keyword_weight)]
    lists = [(hits, weight) for hits, weight in lists if weight > 0]
    if settings.fusion == "blend":
        return blend([{i: s for i, (_, s) in hits.items()} for hits, _ in lists],
                     [weight for _, weight in lists])
    return rrf([list(hits) for hits, _ in lists], [weight for _, weight in lists],
               settings.rrf_k)


def favoured_days(view: View, query: Query, settings: Settings) -> tuple[int, int]:
    """The days whose articles come first: those a time phrase in the question names, else
    the `recency_days` before the as-of date (or before the newest article, for an archive)."""
    window = time_window(query.question, query.as_of) if query.as_of else None
    if window:
        return day(window.start), day(window.end)
    newest = day(query.as_of) if query.as_of else int(view.days.max(initial=0))
    return newest - settings.recency_days, newest
