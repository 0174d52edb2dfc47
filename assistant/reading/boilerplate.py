"""Recognise page furniture (newsletter pitches, cookie banners, bylines, navigation) so it
never becomes a passage or wins a ranking.

The patterns come from the paragraphs repeated most often across the rtqa-2024 training
corpus; they only ever match short paragraphs, so a news paragraph that quotes such words
survives.
"""
from __future__ import annotations

import re

MAX_BOILERPLATE_CHARS = 300
PATTERNS = [
    r"\bsign[ -]?up\b.*\b(newsletter|inbox|email|here)\b",
    r"\bnewsletters?\b",
    r"^subscribe\b|\bsubscribe (now|today|here)\b|\bsubscribe to [\w.]+\.com\b",
    r"\bcookies?\b.*\b(accept|consent|settings|policy|use)\b",
    (r"^(advertisement|skip to (main )?content|share this( article| story)?|read more|show more"
     r"|related( articles| stories)?|most popular|trending( now)?|watch:?|listen:?|click here.*)$"),
    r"\b(follow|reach|contact|email)\b.*(@|\bon (x|twitter|facebook|instagram|threads)\b)",
    r"^(contributing|from .* wire reports|©|copyright|all rights reserved)",
    r"\ball rights reserved\b",
    r"\bwe (occasionally )?(may )?(earn|recommend|receive)\b.*\b(commission|purchase|products)\b",
    r"\b(thank you for|support) (supporting )?(our|local) journalism\b",
    r"^(need a break\?|prep for the polls|holiday deals|podcasts:|learn more:|get (the|our) .* app)",
    r"\b(download|get) (the|our) app\b",
    r"^(updated|posted|published|last updated)\b.*\b(ago|am|pm|a\.m\.|p\.m\.|gmt|utc|et)\.?$",
    r"^[\w .,'&-]{0,40}\bcnn( business)?\s*[—-]$",  # dateline furniture: 'New York CNN Business —'
    r"^(\W|_)+$",  # '___', '***', '♦'
]
BOILERPLATE = re.compile("|".join(f"(?:{p})" for p in PATTERNS), re.IGNORECASE)


def is_boilerplate(paragraph: str) -> bool:
    """Example: 'Sign up for our newsletter' -> True; 'The minister said ...' -> False."""
    text = paragraph.strip()
    return len(text) <= MAX_BOILERPLATE_CHARS and bool(BOILERPLATE.search(text))
