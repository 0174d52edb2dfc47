"""What kind of answer a question asks for, and whether a sentence holds a span of that kind.

Rules, not a model: a quiz question's first words say what it wants ("how many" a number,
"who" a person, "where" a place), and a news sentence that answers it names one. The lead
scorer (lead.py) reads both as features; a question that asks for a number and gets no
sentence holding one is a sign that nothing answers it. Pure and a leaf.
"""
from __future__ import annotations

import re

TYPES = ("number", "person", "place", "organisation", "date", "other")

_ASKS = [  # first match wins: the specific phrasings before the bare wh-words
    ("number", (r"\bhow (?:many|much|long|old|far|tall|big|high|large)\b|\bwhat (?:percentage|"
               r"share|proportion|number|amount|sum|price|age|rate)\b|\bby how\b")),
    ("date", (r"\bwhen\b|\bwhat (?:year|date|day|month|time)\b|\bwhich (?:year|day|month)\b"
             r"|\bhow soon\b")),
    ("place", (r"\bwhere\b|\b(?:which|what) (?:country|countries|city|cities|state|states|"
              r"nation|region|province|island|capital|county|town|continent|place|location|"
              r"venue)\b")),
    ("organisation", (r"\b(?:which|what) (?:company|companies|firm|brand|team|club|party|"
                     r"organi[sz]ation|group|agency|network|airline|bank|retailer|automaker|"
                     r"carmaker|university|newspaper|outlet|league|union|band|publisher|"
                     r"studio|app|platform|streamer|tech giant|giant)\b")),
    ("person", (r"\bwho(?:m|se)?\b|\b(?:which|what) (?:person|people|celebrity|actor|actress|"
               r"singer|player|athlete|politician|leader|candidate|senator|governor|president|"
               r"minister|ceo|executive|judge|author|artist|rapper|star|coach|official|"
               r"lawmaker|billionaire|musician|director|comedian|host)\b")),
]
ASKS = [(kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in _ASKS]

MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|"
          "december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec")
NUMBER = re.compile(r"(?<![\w.])(?:\$|£|€)?\d[\d,]*(?:\.\d+)?(?:\s?(?:%|percent|per cent|million|"
                    r"billion|trillion|thousand|hundred))?|\b(?:one|two|three|four|five|six|"
                    r"seven|eight|nine|ten|eleven|twelve|dozen|hundreds?|thousands?|millions?|"
                    r"billions?)\b", re.IGNORECASE)
DATE = re.compile(rf"\b(?:{MONTHS})\.? \d{{1,2}}\b|\b\d{{1,2}} (?:{MONTHS})\b|\b(?:19|20)\d\d\b"
                  r"|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|"
                  r"today|tomorrow|last week|next week)\b", re.IGNORECASE)
# A run of capitalised words not at a sentence's start: a name of a person, place or body.
NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b(?:[A-Z][\w'’-]+|[A-Z]\.)(?:\s+(?:of\s+|the\s+|de\s+)?"
                  r"(?:[A-Z][\w'’-]+|[A-Z]\.))*")
ORG_WORD = re.compile(r"\b(?:Inc|Corp|Co|Ltd|Group|Party|Company|Bank|University|Association|"
                      r"Council|Agency|Ministry|Department|Committee|Club|League|Union|FC)\b")


def expected_type(question: str) -> str:
    """Example: 'How many people died in the collapse?' -> 'number'; 'Who won?' -> 'person'."""
    for kind, pattern in ASKS:
        if pattern.search(question):
            return kind
    return "other"


def new_names(sentence: str, question: str) -> list[str]:
    """Capitalised names in `sentence` that the question does not already say: a candidate
    answer is something the asker does not know yet.

    Example: ('Osei beat Lund in Oslo.', 'Who beat Lund?') -> ['Oslo']  (the first word is
    the sentence's start, read as no name)
    """
    asked = question.lower()
    return [n for n in NAME.findall(sentence) if n.lower() not in asked]


def spans(sentence: str, question: str) -> dict[str, float]:
    """How much of each kind of answer `sentence` holds that `question` lacks (counts).

    Example: spans('Osei won 3 titles in March 2024.', 'How many titles?')['number'] -> 2.0
    ('3' and '2024'; the year counts under 'date' too)
    """
    asked = question.lower()
    numbers = [m for m in NUMBER.findall(sentence) if m.lower() not in asked]
    dates = [m for m in DATE.findall(sentence) if m.lower() not in asked]
    names = new_names(sentence, question)
    return {"number": float(len(numbers)), "date": float(len(dates)),
            "name": float(len(names)),
            "organisation": float(sum(bool(ORG_WORD.search(n)) for n in names))}


def type_match(kind: str, found: dict[str, float]) -> float:
    """1.0 when the sentence holds a span of the kind asked for, 0.0 when it holds none, 0.5
    when the question asks for no particular kind."""
    if kind == "other":
        return 0.5
    if kind in ("person", "place"):
        return float(found["name"] > 0)
    if kind == "organisation":
        return float(found["organisation"] > 0 or found["name"] > 0)
    return float(found[kind] > 0)
