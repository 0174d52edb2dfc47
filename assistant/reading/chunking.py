"""Cut an article into passages of at most `max_chars`: paragraphs first, then sentences.

Passages are character spans of the article text, so every passage is an exact substring and
its citation can be checked against the stored article.
"""
from __future__ import annotations

import re
from collections.abc import Callable

PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=\S)")
Span = tuple[int, int]


def chunk(text: str, max_chars: int = 1000,
          drop: Callable[[str], bool] = lambda paragraph: False) -> list[Span]:
    """Spans of `text` that pack whole paragraphs up to `max_chars`, skipping dropped ones.

    Example: chunk("One.\\n\\nTwo.", 8) -> [(0, 4), (6, 10)]; chunk("One.\\n\\nTwo.") -> [(0, 10)]
    """
    spans: list[Span] = []
    run: list[Span] = []  # units that may share a passage: no dropped paragraph between them
    for start, end in paragraphs(text):
        if drop(text[start:end]):
            spans += pack(run, max_chars)
            run = []
        else:
            run += split_long(text, start, end, max_chars)
    return spans + pack(run, max_chars)


def paragraphs(text: str) -> list[Span]:
    """Example: paragraphs("a\\n\\n b ") -> [(0, 1), (4, 5)] (spans trimmed of spaces)."""
    out, start = [], 0
    for m in [*PARAGRAPH_BREAK.finditer(text), None]:
        end = m.start() if m else len(text)
        span = _trim(text, start, end)
        if span:
            out.append(span)
        start = m.end() if m else end
    return out


def split_long(text: str, start: int, end: int, max_chars: int) -> list[Span]:
    """A paragraph as sentence spans when it is too long; a sentence as word runs likewise."""
    if end - start <= max_chars:
        return [(start, end)]
    out = []
    for s, e in _cuts(text, start, end, SENTENCE_END):
        if e - s <= max_chars:
            out.append((s, e))
        else:
            out += _words(text, s, e, max_chars)
    return out


def pack(units: list[Span], max_chars: int) -> list[Span]:
    """Greedily join consecutive units while the joined span fits.

    Example: pack([(0, 4), (6, 10), (12, 20)], 10) -> [(0, 10), (12, 20)]
    """
    out: list[Span] = []
    for s, e in units:
        if out and e - out[-1][0] <= max_chars:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def _cuts(text: str, start: int, end: int, pattern: re.Pattern) -> list[Span]:
    out, pos = [], start
    for m in pattern.finditer(text, start, end):
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, end))
    return [span for s, e in out if (span := _trim(text, s, e))]


def _words(text: str, start: int, end: int, max_chars: int) -> list[Span]:
    """Runs of whole words up to max_chars; a single word longer than that is cut hard."""
    out = []
    for m in re.finditer(r"\S+", text[start:end]):
        s, e = start + m.start(), start + m.end()
        while e - s > max_chars:
            out.append((s, s + max_chars))
            s += max_chars
        out.append((s, e))
    return pack(out, max_chars)


def _trim(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None
