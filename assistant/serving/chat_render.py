"""The chat's answers as HTML: cited lead, filters in force, one card an article.

Article text and titles are untrusted: every piece of them is HTML-escaped before display.
"""
import re
from html import escape
from itertools import count
from pathlib import Path

from ..answering.answer import Answer, best_sentence, highlight
from ..types import IngestReport, Passage

MAX_ECHO = 300  # characters of a question repeated in the chat
FIELDS = {"as_of": "As of date", "since": "Since date"}  # code names -> the labels people see
EXCERPT = 3  # sentences a card shows; the rest is behind "show the whole passage"
answers = count(1)  # tells one answer's card anchors from another's in the same page


def shorten(text: str) -> str:
    """Example: 'x' * 301 -> 'x' * 300 + '…'"""
    text = text.strip()
    return text if len(text) <= MAX_ECHO else text[:MAX_ECHO] + "…"


def status_line(stats: dict) -> str:
    """The collection, not the machinery: {'index': '/x/demo', 'articles': 8, 'oldest':
    '2025-01-02', 'newest': '2026-02-21'} -> '**demo** · **8** articles · 2025-01-02 to 2026-02-21'"""
    name = escape(Path(stats.get("index") or "news").name)
    dates = f"{stats['oldest']} to {stats['newest']}" if stats.get("newest") else "no articles yet"
    return f"**{name}** · **{stats['articles']:,}** articles · {dates}"


def progress_line(stats: dict) -> str:
    """The line an answer that is slow to come shows (empty until then: ui_scripts.WAITING).

    Example: {'articles': 1200} ->
    '<p id="progress-line" ... data-text="Searching 1,200 articles…"></p>'"""
    return (f'<p id="progress-line" role="status" aria-live="polite" '
            f'data-text="Searching {stats["articles"]:,} articles…"></p>')


def shown_error(message: str) -> str:
    """An error as the page's labels name things.

    Example: 'as_of: not a real date' -> 'As of date: not a real date'"""
    return re.sub(r"\b(as_of|since)\b", lambda m: FIELDS[m.group(1)], message)


def render_answer(answer: Answer, since: str | None = None, sources=()) -> str:
    """The chat message: the cited lead, every filter in force, then one card an article
    (HTML, one line, so that the chat's Markdown leaves it alone)."""
    when = " · ".join([f"as of {answer.as_of}" if answer.as_of else "all dates"]
                      + ([f"since {since}"] if since else [])
                      + ([f"only {', '.join(sources)}"] if sources else []))
    when = escape(when)
    tag = next(answers)
    if not answer.passages:
        return (f'<div class="answer"><p class="lead none">Nothing in the index answers that '
                f'({when}). Try other words, another as-of date or fewer filters.</p></div>')
    if not answer.answered:
        lead = f'<p class="lead none">{escape(answer.heading)}</p>'
    elif answer.lead:
        lead = f'<p class="lead">{cite_links(escape(str(answer.lead)), tag)}</p>'
    else:
        lead = '<p class="lead none">No passage answers this directly; the closest are below.</p>'
    meta = when
    if answer.read_as and answer.read_as != answer.question:
        meta += f" · read with the previous question as “{escape(answer.read_as)}”"
    cards = "".join(render_card(n, p, answer.read_as or answer.question, tag)
                    for n, p in enumerate(answer.passages, 1))
    return f'<div class="answer">{lead}<p class="meta">{meta}</p><ol class="cards">{cards}</ol></div>'


def cite_links(lead: str, tag: int) -> str:
    """Example: ('Osei won. [1]', 7) -> 'Osei won. <a class="cite" href="#src-7-1">[1]</a>'"""
    return re.sub(r"\[(\d+)\]", lambda m: f'<a class="cite" href="#src-{tag}-{m.group(1)}" '
                  f'aria-label="source {m.group(1)}">[{m.group(1)}]</a>', lead)


def render_card(number: int, passage: Passage, question: str, tag: int = 0) -> str:
    """One source card: number, title (linked when the url is http[s]), outlet, date, and the
    text with its best sentence marked and the question's terms in bold."""
    title = escape(passage.title)
    if passage.url.lower().startswith(("https://", "http://")):
        title = (f'<a href="{escape(passage.url)}" target="_blank" rel="noopener noreferrer">'
                 f'{title}</a>')
    where = [passage.source, passage.date] + ([f"also in {', '.join(passage.also_in)}"]
                                              if passage.also_in else [])
    more = ""
    if passage.more:
        shown = "".join(f'<div class="card-text">{marked(p.text, question)}</div>'
                        for p in passage.more)
        count = len(passage.more)
        more = (f'<details class="more"><summary>{count} more passage{"s" * (count > 1)} '
                f'from this article</summary>{shown}</details>')
    return (f'<li class="card" id="src-{tag}-{number}"><div class="card-title">[{number}] '
            f'{title}</div><div class="card-meta">{escape(" · ".join(x for x in where if x))}'
            f'</div>{excerpt(passage.text, question)}{more}</li>')


def excerpt(text: str, question: str) -> str:
    """The best sentence and its neighbours, EXCERPT in all; the whole passage, when longer,
    behind a 'show the whole passage' toggle."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
    if len(sentences) <= EXCERPT:
        return f'<div class="card-text">{marked(text, question)}</div>'
    best = best_sentence(question, text)
    at = len(re.split(r"(?<=[.!?])\s+", text[:best[0]].strip())) if best and best[0] else 0
    start = max(0, min(at - 1, len(sentences) - EXCERPT))
    shown = " ".join(sentences[start:start + EXCERPT])
    return (f'<div class="card-text">{marked(shown, question)}</div><details class="whole">'
            f'<summary>show the whole passage</summary><div class="card-text">'
            f'{marked(text, question)}</div></details>')


def marked(text: str, question: str) -> str:
    """A passage as HTML: its best sentence marked, the question's terms in bold."""
    text = re.sub(r"\n\s*\n\s*", "\n\n", text.strip())  # never two blank lines in a row
    best = best_sentence(question, text)
    return highlight(text, question, best[:2] if best else None).replace("\n", "<br>")


def render_report(report: IngestReport) -> str:
    """The ingest summary as Markdown, with each skipped input and its reason (escaped)."""
    lines = [f"**{escape(report.summary())}**"]
    lines += [f"- skipped {escape(str(p))}" for p in report.skipped[:20]]
    if len(report.skipped) > 20:
        lines.append(f"- … and {len(report.skipped) - 20} more")
    return "\n".join(lines)
