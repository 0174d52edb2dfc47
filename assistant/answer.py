"""Turn ranked passages into an answer: the lead sentence that best answers, and highlighting.

Everything here is extractive: the lead is a sentence copied from a passage, never written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

from .keyword import words as terms  # the question's words, as BM25 sees them
from .types import Passage

# A sentence ends at . ! or ? (and any closing quote or bracket) before a capital, digit or
# opening quote, or at a paragraph break.
BOUNDARY = re.compile(r"[.!?]+[\"'’”)\]]*\s+(?=[\"'‘“(\[]?[A-Z0-9])|\n\s*\n")
ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "prof", "gen", "sen", "rep", "gov", "lt", "col",
                 "jr", "sr", "vs", "no", "inc", "co", "ltd", "mt", "ft", "jan", "feb", "aug",
                 "sept", "oct", "nov", "dec"}
RANK_PENALTY = 0.1  # a sentence in passage [2] must cover this much more to beat one in [1]


@dataclass(frozen=True)
class Lead:
    """The sentence that most directly answers, and where it sits: passage `number` (1-based,
    as cited), characters `start:end` of that passage's text."""

    text: str
    number: int
    start: int
    end: int

    def __str__(self) -> str:
        """Example: 'Osei won the title. [1]'."""
        return f"{self.text} [{self.number}]"

    def to_dict(self) -> dict:
        return {"text": self.text, "passage": self.number, "start": self.start, "end": self.end,
                "cited": str(self)}


@dataclass(frozen=True)
class Answer:
    """What one question got: its passages, best first, and their lead (None: nothing fits)."""

    question: str
    passages: tuple[Passage, ...]
    lead: Lead | None
    as_of: str | None = None
    read_as: str = ""  # the question as retrieved, with the conversation's context

    def to_dict(self) -> dict:
        return {"question": self.question, "read_as": self.read_as or self.question,
                "as_of": self.as_of, "lead": self.lead.to_dict() if self.lead else None,
                "passages": [p.to_dict() for p in self.passages]}


def compose(question: str, passages: list[Passage], as_of: str | None = None,
            read_as: str = "") -> Answer:
    """The answer to `read_as` (else `question`) from these passages, with its lead."""
    return Answer(question, tuple(passages), find_lead(read_as or question, passages), as_of,
                  read_as)


def sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of `text`, trimmed of surrounding space.

    Example: 'Dr. Lund spoke. It rained.' -> [(0, 15), (16, 26)]
    """
    spans, start = [], 0
    for match in BOUNDARY.finditer(text):
        before = text[start:match.start()].split()
        last = before[-1].lower().rstrip(".") if before else ""
        if match.group().strip() and (last in ABBREVIATIONS or len(last) == 1 and last.isalpha()):
            continue  # 'Dr. Lund', 'J. Smith': not the end of a sentence
        spans.append((start, match.start() + len(match.group().rstrip())))
        start = match.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        chunk = text[s:e]
        s, e = s + len(chunk) - len(chunk.lstrip()), e - (len(chunk) - len(chunk.rstrip()))
        if e > s:
            out.append((s, e))
    return out


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


def find_lead(question: str, passages: list[Passage]) -> Lead | None:
    """The best sentence of the best passages, a higher rank winning unless a lower one covers
    clearly more of the question. None when no sentence shares a term: nothing clearly answers.

    Example: ('Who won the chess open?', [Passage(text='Rain fell. Osei won the chess open.')])
             -> Lead('Osei won the chess open.', number=1, start=11, end=35)
    """
    best, best_score = None, 0.0
    for rank, passage in enumerate(passages):
        found = best_sentence(question, passage.text)
        if found and (best is None or found[2] - RANK_PENALTY * rank > best_score):
            start, end, share = found
            best = Lead(passage.text[start:end], rank + 1, start, end)
            best_score = share - RANK_PENALTY * rank
    return best


def highlight(text: str, question: str, span: tuple[int, int] | None = None) -> str:
    """`text` as HTML-escaped markup: the question's terms in <b>, `span` (the lead) in <mark>.

    Example: highlight('Osei <i>won</i>.', 'Osei?') -> '<b>Osei</b> &lt;i&gt;won&lt;/i&gt;.'
    """
    wanted = {stem for _, _, stem in terms(question)}
    cuts = [(s, e) for s, e, stem in terms(text) if stem in wanted]
    marks = {}  # position -> markup to insert there, opening before closing
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
