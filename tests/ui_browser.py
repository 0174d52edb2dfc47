"""Plain helpers for the browser tests of the chat (test_ui_*.py): what they ask, and how they
open a page, ask a question and read the answer (fixtures live in conftest.py)."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from pathlib import Path

NEWEST = "2026-02-21"  # the demo archive's newest article
TIDAL = "What happened at the Harbourton tidal station?"
HOSTILE = '<img src=x onerror="window.pwned=1">'
CHROMIUM = ("/usr/bin/chromium", "chromium", "chromium-browser")
AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP, PHONE = (1280, 900), (390, 844)


def today() -> str:
    """The as-of date a visitor starts at (Assistant.default_as_of), read when a test asks: a
    run that passed midnight expected the day it started on, and its browser tests failed."""
    return date.today().isoformat()


# The WCAG contrast of an element's text against the first opaque background behind it.
CONTRAST = """el => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  let back = el, bg = [255, 255, 255];
  while (back) { const c = rgb(getComputedStyle(back).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) { bg = c; break; }
    back = back.parentElement; }
  if (!back) bg = document.body.classList.contains('dark') ? [11, 15, 25] : [255, 255, 255];
  const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(bg)];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); }"""


@contextmanager
def browser(chromium):
    """The worker's Chromium (conftest's `chromium`, launched once) for one test: the contexts
    the test opened are closed after the block, so the next test starts from none."""
    try:
        yield chromium
    finally:
        for context in chromium.contexts:
            context.close()


def opened(browser, url: str, size=DESKTOP, theme: str = "light", **context):
    """A page of the chat at `url`, once it has loaded the collection (As of is filled in)."""
    from playwright.sync_api import expect

    width, height = size
    page = browser.new_context(viewport={"width": width, "height": height},
                               color_scheme=theme, **context).new_page()
    page.goto(url)
    expect(page.locator("#as-of input")).to_have_value(today(), timeout=30_000)
    return page


def ask(page, question: str):
    """Type a question, press Enter, and return the chat's newest reply once it is there."""
    replies = page.locator("#chat [data-testid=bot]")
    count = replies.count()
    page.locator("#question textarea").fill(question)
    page.locator("#question textarea").press("Enter")
    page.wait_for_function("n => document.querySelectorAll('#chat [data-testid=bot]').length > n",
                           arg=count, timeout=60_000)
    return replies.last


def set_as_of(page, day: str) -> None:
    page.locator("#as-of input").fill(day)
    page.locator("#as-of input").press("Enter")


def card_dates(reply) -> list[str]:
    return [text.split(" · ")[-1] for text in reply.locator(".card-meta").all_inner_texts()]
