"""Page furniture: one paragraph for each pattern, in mixed case, so a cue word that its
pattern does not need (and would wrongly clear the paragraph) fails here."""
import re

import pytest

from assistant.reading.boilerplate import CUED_PATTERNS, MAX_BOILERPLATE_CHARS, is_boilerplate

FURNITURE = [
    "Sign up for our Morning Briefing newsletter.",
    "Get the best of our Newsletters.",
    "Subscribe now to read more.",
    "We use cookies to improve your experience. Accept all.",
    "ADVERTISEMENT",
    "Follow Jane Doe on Twitter.",
    "Contributing: Staff reporters.",
    "2024 Example Media. All Rights Reserved.",
    "We may earn a commission from products bought through links.",
    "Thank you for supporting our journalism.",
    "Need a break? Play the crossword.",
    "Download the app for breaking news.",
    "Updated 3 hours ago",
    "New York CNN Business —",
    "* * *",
]


@pytest.mark.parametrize(("cued", "paragraph"), list(zip(CUED_PATTERNS, FURNITURE, strict=True)))
def test_each_pattern_matches_its_example_and_its_cue_is_there(cued, paragraph):
    cues, pattern = cued
    low = paragraph.lower()
    assert re.search(pattern, low)
    assert not cues or any(cue in low for cue in cues)


@pytest.mark.parametrize("paragraph", FURNITURE)
def test_furniture_is_recognised(paragraph):
    assert is_boilerplate(paragraph)
    assert is_boilerplate(f"  {paragraph.upper()}\n")


@pytest.mark.parametrize("paragraph", [
    "The minister said the attack killed four soldiers.",
    "We received the report on Monday, the agency said.",
    "Voters can sign the petition until Friday.",
    "Residents were told to follow the evacuation orders.",
])
def test_news_is_kept(paragraph):
    assert not is_boilerplate(paragraph)


def test_a_long_paragraph_that_quotes_such_words_is_kept():
    quote = "He told reporters to sign up for the newsletter, and then he resigned. "
    long_paragraph = quote * (MAX_BOILERPLATE_CHARS // len(quote) + 1)
    assert is_boilerplate(quote) and not is_boilerplate(long_paragraph)
