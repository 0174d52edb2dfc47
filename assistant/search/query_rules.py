"""The rules a question is asked by, the same at every edge (CLI, HTTP, chat, MCP):
`Assistant.query` applies these, then the one that needs the index (a known outlet)."""
from __future__ import annotations

import unicodedata
from datetime import date as Date

from ..config import Settings
from ..errors import BadQuery
from ..reading.articles import BadArticle, check_date
from ..reading.words import plain
from .retrieve import Query


def checked_query(question, k, as_of, since, sources, settings: Settings) -> Query:
    """The question as a Query, or BadQuery saying what to fix. The rules:

    - the question: plain text (markup and entities of a pasted web snippet are dropped
      at search), not empty, at most `max_question_chars`; surrounding space trimmed;
    - k: a whole number from 1 to `Settings.max_k`;
    - as_of and since: YYYY-MM-DD; since on or before as_of;
    - as_of not given: **today** (`default_as_of()`, this machine's local date), and the
      answer echoes that date. Why today and not "no limit": every answer is as of a
      date, and says which (the echo is a date, never null); no edge decides it on its
      own (the same request gets the same date from the CLI, HTTP, the chat and MCP); and
      a page whose stated date is in the future (a wrong or embargo date fetched from a
      feed) is not shown as news before its day. Stored news is all from before today,
      so for anything else today and no limit find the same passages.

    Example: ("  Who won? ", 5, None, None, (), settings) -> Query("Who won?", 5, <today>)"""
    if not isinstance(question, str) or not visible(plain(question)):
        raise BadQuery("the question is empty: type a question")
    if len(question) > settings.max_question_chars:
        raise BadQuery(f"the question is {len(question):,} characters long; "
                       f"the limit is {settings.max_question_chars:,}")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= settings.max_k:
        raise BadQuery(f"k must be a whole number from 1 to {settings.max_k}, got {k!r}")
    for name, value in (("as_of", as_of), ("since", since)):
        if value is not None and value != "":
            try:
                check_date(value, name)
            except BadArticle as e:
                raise BadQuery(str(e)) from None
    as_of = as_of or default_as_of()
    if since and since > as_of:
        raise BadQuery(f"since ({since}) is after the as_of ({as_of}): no article can "
                       "match; move one of them")
    return Query(question.strip(), k, as_of, since or None, tuple(sources or ()))


def default_as_of() -> str:
    """The as-of date of a question that gives none: today, this machine's local date
    (`checked_query` says why). Example: -> '2026-03-01'"""
    return Date.today().isoformat()


def visible(text: str) -> bool:
    """Whether `text` has a letter, digit, punctuation mark or symbol. Example: 'a' -> True;
    '\u200b\u200d \ufeff' (zero-width and format characters only) -> False."""
    return any(unicodedata.category(c)[0] in "LNPS" for c in text)
