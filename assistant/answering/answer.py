"""Turn ranked passages into an answer: the lead sentence that best answers, and highlighting.

Everything here is extractive: the lead is a sentence copied from a passage, never written.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from html import escape

from ..reading.words import (
    sentences,
    words as terms,  # the question's words, as BM25 sees them
)
from ..types import Passage

RANK_PENALTY = 0.1  # a sentence in passage [2] must cover this much more to beat one in [1]
LEAD_PASSAGES = 3  # the lead is chosen among the sentences of the top passages ...
# ... and the cross-encoder reads only the few that share most of the question's words: on
# rtqa-2025 (validation) five of them kept the lead hit rate (0.228 against 0.226 for all,
# 13 a question on average) at a third of the model's time.
LEAD_SENTENCES = 5
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
RELATIVE_DAY = re.compile(r"\b(?:(yesterday|last night)|(today|tonight|this morning|this "
                          r"afternoon|this evening)|(tomorrow)|(?:on |last |this past )?"
                          r"(monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b"
                          r"(?! ?\[\d)", re.IGNORECASE)


@dataclass(frozen=True)
class Lead:
    """The sentence that most directly answers, and where it sits: passage `number` (1-based,
    as cited), characters `start:end` of that passage's text."""

    text: str
    number: int
    start: int
    end: int
    dated: str = ""  # `text` with its relative days resolved against the article's date

    def __str__(self) -> str:
        """Example: 'Osei won the title on Sunday [2025-03-02]. [1]'."""
        return f"{self.dated or self.text} [{self.number}]"

    def to_dict(self) -> dict:
        return {"text": self.text, "dated": self.dated or self.text, "passage": self.number,
                "start": self.start, "end": self.end, "cited": str(self)}


@dataclass(frozen=True)
class Answer:
    """What one question got: its passages, best first, and their lead (None: nothing fits)."""

    question: str
    passages: tuple[Passage, ...]
    lead: Lead | None
    as_of: str | None = None
    read_as: str = ""  # the question as retrieved, with the conversation's context
    # The calibrated probability that the lead (else the top passage) answers; None when no
    # shipped model gives one.
    confidence: float | None = None
    # False: nothing in the collection (as of that date) answers; the passages are the nearest.
    answered: bool = True

    @property
    def heading(self) -> str:
        """What a reader is told above the passages."""
        if not self.passages:
            return "Nothing in this collection matches that question" + self._as_of()
        if not self.answered:
            return ("No passage clearly answers that" + self._as_of()
                    + ". The closest passages:")
        return ""

    def _as_of(self) -> str:
        return f" as of {self.as_of}" if self.as_of else ""

    def to_dict(self) -> dict:
        return {"question": self.question, "read_as": self.read_as or self.question,
                "as_of": self.as_of, "answered": self.answered,
                "confidence": None if self.confidence is None else round(self.confidence, 4),
                "heading": self.heading, "lead": self.lead.to_dict() if self.lead else None,
                "passages": [p.to_dict() for p in self.passages]}


# (question, passages) -> one score a passage: the cross-encoder, as Assistant.answer sets it up
Scorer = Callable[[str, list[Passage]], "list[float]"]


def compose(question: str, passages: list[Passage], as_of: str | None = None,
            read_as: str = "", scorer: Scorer | None = None,
            abstain_below: float = 0.0, leads=None) -> Answer:
    """The answer to `read_as` (else `question`) from these passages, with its lead; not
    answered when the confidence is under `abstain_below`. With `leads` (the shipped lead
    scorer, lead.py) it picks the lead and its calibrated probability of holding the answer
    is the confidence; else the cross-encoder (`scorer`) picks, and the top passage's
    calibrated score is the confidence."""
    asked = read_as or question
    if leads is not None and passages:
        lead, scored = scored_lead(asked, passages, leads)
        confidence: float | None = scored
    else:
        lead = find_lead(asked, passages, scorer)
        confidence = passages[0].score if passages and scorer is not None else None
    answered = bool(passages) and (confidence is None or confidence >= abstain_below)
    return Answer(question, tuple(passages), lead if answered else None, as_of, read_as,
                  confidence, answered)


def scored_lead(question: str, passages: list[Passage], leads) -> tuple[Lead | None, float]:
    """The lead scorer's best sentence of the top `LEAD_PASSAGES` and the probability that it
    holds the answer (0.0 and no lead when the passages have no sentence)."""
    best = leads.best(question, [p.text for p in passages], LEAD_PASSAGES)
    if best is None:
        return None, 0.0
    rank, start, end, score = best
    return _lead(passages[rank], rank, start, end), leads.probability(score)


def resolve_days(text: str, published: str) -> str:
    """Relative days in `text` followed by the date they mean, read from the day the article
    was published, so that a lead quoted weeks later does not mislead. A weekday is the
    latest such day on or before publication (news reports what happened).

    Example: ('Osei won on Sunday and spoke yesterday.', '2025-03-04') ->
             'Osei won on Sunday [2025-03-02] and spoke yesterday [2025-03-03].'
    """
    try:
        base = date.fromisoformat(published)
    except (TypeError, ValueError):
        return text

    def mark(m: re.Match) -> str:
        if m.group(1):
            when = base - timedelta(days=1)
        elif m.group(2):
            when = base
        elif m.group(3):
            when = base + timedelta(days=1)
        else:
            when = base - timedelta(days=(base.weekday() - WEEKDAYS.index(m.group(4).lower())) % 7)
        return f"{m.group(0)} [{when.isoformat()}]"

    return RELATIVE_DAY.sub(mark, text)


def best_sentence(question: str, text: str) -> tuple[int, int, float] | None:
    """The sentence of `text` sharing the largest share of the question's terms, as
    (start, end, share); the first one on a tie; None when none shares a term.

    Example: ('Who won the chess open?', 'Rain fell. Osei won the chess open.') -> (11, 35, 1.0)
    """
    wanted = {stem for _, _, stem in terms(question)}
    best = None
    for start, end in sentences(text):
        found = {stem for _, _, stem in terms(text[start:end])} & wanted
        if found and (best is None or len(found) / len(wanted) > best[2]):
            best = (start, end, len(found) / len(wanted))
    return best


def find_lead(question: str, passages: list[Passage], scorer: Scorer | None = None
              ) -> Lead | None:
    """The sentence of the top passages that best answers. With a `scorer` (the
    cross-encoder), the sentence it scores highest among those of the top `LEAD_PASSAGES`
    that share a term with the question; without one, the sentence sharing the largest share
    of the question's terms, a higher rank winning unless a lower one covers clearly more.
    None when no sentence shares a term: nothing clearly answers.

    Example: ('Who won the chess open?', [Passage(text='Rain fell. Osei won the chess open.')])
             -> Lead('Osei won the chess open.', number=1, start=11, end=35)
    """
    if scorer is not None:
        return _scored_lead(question, passages[:LEAD_PASSAGES], scorer)
    best, best_score = None, 0.0
    for rank, passage in enumerate(passages):
        found = best_sentence(question, passage.text)
        if found and (best is None or found[2] - RANK_PENALTY * rank > best_score):
            start, end, share = found
            best = _lead(passage, rank, start, end)
            best_score = share - RANK_PENALTY * rank
    return best


def _scored_lead(question: str, passages: list[Passage], scorer: Scorer) -> Lead | None:
    wanted = {stem for _, _, stem in terms(question)}
    shared = [(len({stem for _, _, stem in terms(p.text[start:end])} & wanted), rank, start, end)
              for rank, p in enumerate(passages) for start, end in sentences(p.text)]
    # The most shared words first, a higher card first on a tie.
    shared.sort(key=lambda option: (-option[0], option[1]))
    options = [(rank, start, end) for count, rank, start, end in shared[:LEAD_SENTENCES]
               if count]
    if not options:
        return None
    scores = scorer(question, [replace(passages[r], text=passages[r].text[s:e])
                               for r, s, e in options])
    rank, start, end = options[max(range(len(options)), key=lambda j: scores[j])]
    return _lead(passages[rank], rank, start, end)


def _lead(passage: Passage, rank: int, start: int, end: int) -> Lead:
    text = passage.text[start:end]
    return Lead(text, rank + 1, start, end, resolve_days(text, passage.date))


def highlight(text: str, question: str, span: tuple[int, int] | None = None) -> str:
    """`text` as HTML-escaped markup: the question's terms in <b>, `span` (the lead) in <mark>.

    Example: highlight('Osei <i>won</i>.', 'Osei?') -> '<b>Osei</b> &lt;i&gt;won&lt;/i&gt;.'
    """
    wanted = {stem for _, _, stem in terms(question)}
    cuts = [(s, e) for s, e, stem in terms(text) if stem in wanted]
    marks: dict[int, list[str]] = {}  # position -> markup to insert there, opening before closing
    for s, e in cuts:
        marks.setdefault(s, []).append("<b>")
        marks.setdefault(e, []).insert(0, "</b>")
    if span is not None:
        marks.setdefault(span[0], []).insert(0, "<mark>")
        marks.setdefault(span[1], []).append("</mark>")
    out, pos = [], 0
    for at in sorted(marks):
        out.append(escape(text[pos:at]))
        out.extend(marks[at])
        pos = at
    out.append(escape(text[pos:]))
    return "".join(out)
