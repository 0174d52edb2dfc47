"""Read time phrases in a question ("this week", "yesterday", "in 2023") against its as-of date.

Parsing is dateparser's; this module only decides which of its finds to trust and turns each
into a window of days, so retrieval can favour articles from the period the question means.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date as Date, datetime, timedelta
from functools import lru_cache

# dateparser also reads a bare "May" (as in Theresa May) as a month: only phrases with a digit
# or one of these words are taken as time.
TIME_WORD = re.compile(
    r"\b(today|tonight|yesterday|ago|this|last|past|previous|earlier|week|weekend|month|year"
    r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|\d{1,4})\b", re.IGNORECASE)


@dataclass(frozen=True)
class Window:
    """The days a question's time phrase points at, both ends included, never after as-of."""

    start: str
    end: str
    phrase: str


@lru_cache(maxsize=4096)
def time_window(question: str, as_of: str) -> Window | None:
    """Example: ('Who won this week?', '2024-01-05') -> Window('2023-12-30', '2024-01-05', ...)."""
    if not TIME_WORD.search(question):
        return None
    from dateparser.search import search_dates

    base = datetime.fromisoformat(as_of)
    found = search_dates(question, languages=["en"], settings=_settings(as_of)) or []
    for phrase, when in found:
        if not TIME_WORD.search(phrase):
            continue
        period = _parser(as_of).get_date_data(phrase).period or "day"
        start, end = _span(when.date(), period)
        end = min(end, base.date())
        if start <= end:
            return Window(start.isoformat(), end.isoformat(), phrase.strip())
    return None


def time_phrase(text: str) -> str | None:
    """The time phrase of a text, whatever its date. Example: 'Who won this week?' -> 'this week'."""
    window = time_window(text, Date.today().isoformat())
    return window.phrase if window else None


def _span(day: Date, period: str) -> tuple[Date, Date]:
    """Example: (2023-03-05, 'month') -> (2023-03-01, 2023-03-31); a day gets 2 more days."""
    if period == "year":
        return Date(day.year, 1, 1), Date(day.year, 12, 31)
    if period == "month":
        return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])
    if period == "week":
        return _shift(day, -6), day
    return day, _shift(day, 2)  # news of a day is often published a day or two later


def _shift(day: Date, days: int) -> Date:
    """Example: (2024-01-05, 2) -> 2024-01-07; (9999-12-31, 2) -> 9999-12-31, the last date
    there is (a caller's as-of may sit at the calendar's edge: no OverflowError)."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return Date.max if days > 0 else Date.min


@lru_cache(maxsize=64)
def _settings(as_of: str) -> dict:
    return {"RELATIVE_BASE": datetime.fromisoformat(as_of), "PREFER_DATES_FROM": "past",
            "RETURN_AS_TIMEZONE_AWARE": False}


@lru_cache(maxsize=64)
def _parser(as_of: str):
    from dateparser.date import DateDataParser

    return DateDataParser(languages=["en"], settings=_settings(as_of))
