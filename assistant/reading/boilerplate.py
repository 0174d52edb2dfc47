"""Recognise page furniture (newsletter pitches, cookie banners, bylines, navigation) so it
never becomes a passage or wins a ranking.

The patterns come from the paragraphs repeated most often across the rtqa-2024 training
corpus; they only ever match short paragraphs, so a news paragraph that quotes such words
survives.
"""
from __future__ import annotations

import re

MAX_BOILERPLATE_CHARS = 300
# Each pattern (read on lowercased text) with the words it cannot match without, or () for
# one anchored at the start, which fails at once. Checking the words first (substring tests,
# in C) clears most paragraphs before any pattern runs: the patterns searched at every
# position took 25 us a paragraph, a third of ingestion's work outside the model.
CUED_PATTERNS = [
    (("sign",), r"\bsign[ -]?up\b.*\b(newsletter|inbox|email|here)\b"),
    (("newsletter",), r"\bnewsletters?\b"),
    (("subscribe",), r"^subscribe\b|\bsubscribe (now|today|here)\b|\bsubscribe to [\w.]+\.com\b"),
    (("cookie",), r"\bcookies?\b.*\b(accept|consent|settings|policy|use)\b"),
    ((), (r"^(advertisement|skip to (main )?content|share this( article| story)?|read more"
          r"|show more|related( articles| stories)?|most popular|trending( now)?|watch:?"
          r"|listen:?|click here.*)$")),
    (("follow", "reach", "contact", "email"),
     r"\b(follow|reach|contact|email)\b.*(@|\bon (x|twitter|facebook|instagram|threads)\b)"),
    ((), r"^(contributing|from .* wire reports|©|copyright|all rights reserved)"),
    (("all rights reserved",), r"\ball rights reserved\b"),
    (("we ",),
     r"\bwe (occasionally )?(may )?(earn|recommend|receive)\b.*\b(commission|purchase|products)\b"),
    (("journalism",), r"\b(thank you for|support) (supporting )?(our|local) journalism\b"),
    ((), (r"^(need a break\?|prep for the polls|holiday deals|podcasts:|learn more:"
          r"|get (the|our) .* app)")),
    ((" app",), r"\b(download|get) (the|our) app\b"),
    ((), r"^(updated|posted|published|last updated)\b.*\b(ago|am|pm|a\.m\.|p\.m\.|gmt|utc|et)\.?$"),
    (("cnn",), r"^[\w .,'&-]{0,40}\bcnn( business)?\s*[—-]$"),  # 'New York CNN Business —'
    ((), r"^(\W|_)+$"),  # '___', '***', '♦'
]
CUED = [(cues, re.compile(pattern)) for cues, pattern in CUED_PATTERNS]


def is_boilerplate(paragraph: str) -> bool:
    """Example: 'Sign up for our newsletter' -> True; 'The minister said ...' -> False."""
    text = paragraph.strip()
    if len(text) > MAX_BOILERPLATE_CHARS:
        return False
    low = text.lower()
    return any((not cues or any(cue in low for cue in cues)) and pattern.search(low)
               for cues, pattern in CUED)
