"""Words and sentences, read one way by keyword search, the rankers and the lead.

One stemmer, one stopword list and one sentence splitter: a question's words must match a
passage's as BM25 matched them, or the ranker and the lead would favour other words than
the search did. A leaf: it imports nothing from the package.
"""
from __future__ import annotations

import html
import re
from functools import lru_cache

# A sentence ends at . ! or ? (and any closing quote or bracket) before a capital, digit or
# opening quote, or at a paragraph break.
BOUNDARY = re.compile(r"[.!?]+[\"'’”)\]]*\s+(?=[\"'‘“(\[]?[A-Z0-9])|\n\s*\n")
# A tag starts with a letter, '/' or '!' after '<': "3 < 5 and 7 > 4" is no tag. Inline tags
# vanish ('<a>Spurs</a>?' -> 'Spurs?'); any other tag parts words ('a<br>b' -> 'a b').
TAG = re.compile(r"</?([A-Za-z!][^\s<>/]*)[^<>]*>")
INLINE = frozenset({"a", "abbr", "b", "cite", "code", "em", "i", "mark", "q", "s", "small",
                    "span", "strong", "sub", "sup", "time", "u"})
ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "prof", "gen", "sen", "rep", "gov", "lt", "col",
                 "jr", "sr", "vs", "no", "inc", "co", "ltd", "mt", "ft", "jan", "feb", "aug",
                 "sept", "oct", "nov", "dec"}


def plain(text: str) -> str:
    """Text as a reader sees it: a question pasted from a web page, or a feed's title, carries
    markup whose attribute words ('href', 'data', 'analytics', a URL) would otherwise be
    searched for. Example: 'Ferry <b>back</b> &amp; running' -> 'Ferry back & running'."""
    untagged = TAG.sub(lambda m: "" if m[1].lower() in INLINE else " ", text or "")
    return " ".join(html.unescape(untagged).split())


@lru_cache(maxsize=1)
def stopwords() -> list[str]:
    """The words BM25 skips, loaded once: NLTK's English list ('were', 'which', ...)."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return list(STOPWORDS_EN_PLUS)


@lru_cache(maxsize=1)
def stemmer():
    """The English Snowball stemmer BM25 uses, built once ('elections' -> 'elect')."""
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopword_set() -> frozenset[str]:
    return frozenset(stopwords())


def words(text: str) -> list[tuple[int, int, str]]:
    """Each meaningful word's span and stem, as BM25 sees it, fast enough per query.

    Example: 'Who won the strikes?' -> [(12, 19, 'strike')]  ('who', 'won', 'the' are stopwords)
    """
    stop = _stopword_set()
    found = [(m.start(), m.end(), m.group().lower())
             for m in re.finditer(r"(?u)\b\w\w+\b", text)]
    found = [(start, end, w) for start, end, w in found if w not in stop]
    stemmed = stemmer().stemWords([w for _, _, w in found])
    return [(start, end, stem) for (start, end, _), stem in zip(found, stemmed)]


def stems(text: str) -> list[tuple[int, str]]:
    """Example: 'The elections were held' -> [(4, 'elect'), (19, 'held')]"""
    return [(start, stem) for start, _, stem in words(text)]


def tokenize(texts: list[str]) -> list[list[str]]:
    """Example: ['The elections were held'] -> [['elect', 'held']]"""
    import bm25s

    return bm25s.tokenize(texts, stopwords=stopwords(), stemmer=stemmer(), return_ids=False,
                          show_progress=False)


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
