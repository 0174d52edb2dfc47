"""Follow-up questions: read "Who is he?" or "what about Ukraine?" in the light of the last turn.

The rule is small on purpose, so that a reader can predict it and the chat can show it: a
follow-up keeps the question as typed and appends the previous turn's key words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .dates import time_phrase
from .words import words as terms

WHAT_ABOUT = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\s+(.+)$|^\s*and\s+(.+)$",
                        re.IGNORECASE | re.DOTALL)
PRONOUNS = {"he", "she", "him", "her", "his", "hers", "they", "them", "their", "theirs", "it",
            "its"}
MAX_CARRIED = 12  # words taken from the previous turn; keeps a long chat's questions short


@dataclass(frozen=True)
class Turn:
    """What a follow-up may refer to: the last question as retrieved, and its lead sentence."""

    question: str
    lead: str = ""

    @classmethod
    def after(cls, answer) -> "Turn | None":
        """The turn an `Answer` leaves for the next question; None when there is none."""
        if answer is None:
            return None
        return cls(answer.read_as or answer.question, answer.lead.text if answer.lead else "")


def with_context(question: str, previous: Turn | None) -> str:
    """The question to retrieve with: `question` itself, or, for a follow-up, `question`
    followed by the previous turn's key words.

    A follow-up starts with "what about" / "and", names someone by a pronoun, or has fewer than
    two words of its own. "What about X" with a new name in X drops the previous names (X takes
    their place); a pronoun brings in the names of the previous lead (who "he" most likely is).
    Example: ('Who is he?', Turn('Who won the chess open?', 'Amara Osei won.'))
             -> 'Who is he? chess open Amara Osei'
    """
    if previous is None or not question.strip():
        return question  # a blank question stays blank, for the caller to refuse
    own = terms(question)
    words = {w.lower() for w in re.findall(r"\w+", question)}
    about = WHAT_ABOUT.match(question)
    has_pronoun = bool(words & PRONOUNS)
    if not (about or has_pronoun or len(own) < 2):
        return question
    carried = _keywords(previous.question)
    if about and any(_is_name(w) for w, _ in _keywords(about.group(1) or about.group(2))):
        carried = [(w, stem) for w, stem in carried if not _is_name(w)]
    if has_pronoun:
        carried += [(w, stem) for w, stem in _keywords(previous.lead) if _is_name(w)]
    # The previous turn's time phrase goes along whole ("this week", not "week"), unless the
    # follow-up names a time of its own.
    phrase = time_phrase(previous.question)
    own_phrase = time_phrase(question)
    seen = {stem for _, _, stem in own}
    seen |= {w.lower() for w in phrase.split()} if phrase else set()
    extra = []
    for word, stem in carried:
        if stem not in seen and word.lower() not in seen:
            seen.add(stem)
            extra.append(word)
    carried_phrase = [phrase] if phrase and not own_phrase else []
    return " ".join([question.strip(), *extra[:MAX_CARRIED], *carried_phrase])


def _keywords(text: str) -> list[tuple[str, str]]:
    """Example: 'Who won the chess open?' -> [('chess', 'chess'), ('open', 'open')]"""
    return [(text[s:e], stem) for s, e, stem in terms(text)]


def _is_name(word: str) -> bool:
    return word[:1].isupper()
