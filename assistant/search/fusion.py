"""Pure ranking arithmetic: fuse ranked lists, favour recent news, collapse repeated text."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from ..types import Passage


def rrf(rankings: Sequence[Sequence[int]], weights: Sequence[float] = (), k: int = 60
        ) -> dict[int, float]:
    """Weighted reciprocal-rank fusion, best first.

    Example: rrf([[7, 3], [3]], k=0) -> {3: 1.5, 7: 1.0}
    """
    weights = list(weights) or [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank + 1)
    return dict(sorted(scores.items(), key=lambda kv: -kv[1]))


def blend(scored: Sequence[dict[int, float]], weights: Sequence[float] = ()) -> dict[int, float]:
    """Weighted sum of min-max normalised scores (missing counts as 0), best first.

    Example: blend([{1: 0.9, 2: 0.5}, {2: 12.0, 3: 4.0}]) -> {2: 1.0, 1: 1.0, 3: 0.0}
    """
    weights = list(weights) or [1.0] * len(scored)
    out: dict[int, float] = {}
    for scores, weight in zip(scored, weights):
        if not scores:
            continue
        low, high = min(scores.values()), max(scores.values())
        span = (high - low) or 1.0
        for item, value in scores.items():
            out[item] = out.get(item, 0.0) + weight * (value - low) / span
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def boost_window(scores: dict[int, float], days: dict[int, int], first: int, last: int,
                 boost: float) -> dict[int, float]:
    """Add `boost` x the best score to items dated from day `first` to `last`, then re-sort.

    Example: boost_window({1: 1.0, 2: 0.8}, {1: 30, 2: 42}, 40, 45, 0.5) -> {2: 1.3, 1: 1.0}
    """
    if not scores or boost <= 0:
        return scores
    top = max(scores.values())
    out = {i: s + (boost * top if first <= days.get(i, first - 1) <= last else 0.0)
           for i, s in scores.items()}
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def recency_prior(scores: dict[int, float], days: dict[int, int], today: int, boost: float,
                  half_life: float, window: tuple[int, int] | None = None,
                  window_boost: float = 0.0, within: int = 0) -> dict[int, float]:
    """Recency as one more term of the score, not a reorder: each item gains `boost` x the
    best score x 0.5 ** (age / half_life) (age in days before `today`), plus `window_boost`
    x the best score when it falls in the `window` of days a time phrase names. With
    `within` > 0 only the first `within` items gain, so recency orders what fusion found and
    never pushes one of them below the cut.

    Example: recency_prior({1: 1.0, 2: 0.8}, {1: 30, 2: 44}, 44, 0.5, 7) -> {2: 1.3, 1: 1.125}
    """
    if not scores or (boost <= 0 and not (window and window_boost > 0)):
        return scores
    top = max(scores.values())
    out = {}
    for rank, (i, s) in enumerate(scores.items()):
        if within and rank >= within:
            out[i] = s
            continue
        d = days.get(i)
        gain = 0.0
        if d is not None and boost > 0:
            gain += boost * 0.5 ** (max(today - d, 0) / half_life)
        if window and window_boost > 0 and d is not None and window[0] <= d <= window[1]:
            gain += window_boost
        out[i] = s + gain * top
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def text_key(text: str) -> str:
    """Example: 'Hello,  World!' -> 'hello world' (what makes two passages the same text)."""
    return " ".join(re.sub(r"[\W_]+", " ", text.lower()).split())


def shingles(text: str, n: int = 5) -> frozenset[str]:
    """Example: shingles('a b c', 2) -> {'a b', 'b c'} (runs of n words, normalised)."""
    words = text_key(text).split()
    return frozenset(" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1)))


def same_story(a: frozenset[str], b: frozenset[str], overlap: float = 0.8) -> bool:
    """True when most of the shorter text's word runs stand in the other one too: the same
    wire story cut at other places, or with another outlet's furniture around it."""
    return bool(a and b) and len(a & b) >= overlap * min(len(a), len(b))


def collapse_duplicates(passages: list[Passage]) -> list[Passage]:
    """Keep the first of passages telling the same text; name the other outlets in `also_in`."""
    kept: list[tuple[Passage, frozenset[str], list[str]]] = []
    for p in passages:
        runs = shingles(p.text)
        twin = next((k for k in kept if same_story(k[1], runs)), None)
        if twin is None:
            kept.append((p, runs, []))
            continue
        source = p.source or p.url
        if source and source != twin[0].source and source not in twin[2]:
            twin[2].append(source)
    return [replace(p, also_in=tuple(others)) if others else p for p, _, others in kept]


def fold_articles(passages: list[Passage], per_article: int) -> list[Passage]:
    """At most `per_article` cards of one article: its later passages are folded into its
    last card's `more` (still there for a reader who opens the card), so the top k reads more
    articles. 0 folds nothing.

    Example: articles [a1, b1, a2, c1] with 1 -> [a1 (more: a2), b1, c1]
    """
    if per_article <= 0:
        return passages
    cards: list[Passage] = []
    last: dict[str, int] = {}  # article id -> index of its last card
    count: dict[str, int] = {}
    for p in passages:
        count[p.article_id] = count.get(p.article_id, 0) + 1
        if count[p.article_id] <= per_article:
            last[p.article_id] = len(cards)
            cards.append(p)
        else:
            card = cards[last[p.article_id]]
            cards[last[p.article_id]] = replace(card, more=card.more + (p,))
    return cards
