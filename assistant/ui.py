"""The web chat (Gradio): questions in, a cited lead and source cards out, as of a date.

Article text and titles are untrusted: every piece of them is HTML-escaped before display.
"""
# No `from __future__ import annotations`: Gradio reads the annotations of the functions below
# (gr.Request, and the types of the /ask endpoint), which strings would hide from it.

import re
from datetime import date as Date, timedelta
from html import escape
from itertools import count
from pathlib import Path

from .answer import Answer, best_sentence, highlight
from .access import Access
from .errors import AssistantError
from .types import IngestReport, Passage

ARCHIVE_AFTER = timedelta(days=7)  # newest article older than this: the index is an archive
MAX_ECHO = 300  # characters of a question repeated in the chat
ACCEPTED = (".txt", ".jsonl", ".jsonl.gz")  # what an upload may be
FIELDS = {"as_of": "As of date", "since": "Since date"}  # code names -> the labels people see
EXCERPT = 3  # sentences a card shows; the rest is behind "show the whole passage"
answers = count(1)  # tells one answer's card anchors from another's in the same page
# A citation [n] scrolls to its card and flashes it (the chat's links would open a new tab).
CITE_JS = """() => { document.addEventListener('click', (e) => {
  const link = e.target.closest && e.target.closest('a.cite'); if (!link) return;
  e.preventDefault(); e.stopPropagation();
  const card = document.getElementById(link.getAttribute('href').slice(1)); if (!card) return;
  card.scrollIntoView({behavior: 'smooth', block: 'center'});
  card.classList.remove('flash'); void card.offsetWidth; card.classList.add('flash');
}, true);
  // Gradio's calendar buttons have no name: say which date each one picks.
  const name = () => document.querySelectorAll('#as-of .calendar, #since .calendar')
    .forEach(b => b.setAttribute('aria-label', 'Pick the ' +
      (b.closest('#as-of') ? 'As of' : 'Since') + ' date from a calendar'));
  name(); new MutationObserver(name).observe(document.body, {childList: true, subtree: true});
}"""
# After an answer, bring its question to the top of the chat: the lead sits right below it.
SHOW_LATEST = """() => { const rows = document.querySelectorAll('#chat .user-row');
  if (rows.length) rows[rows.length - 1].scrollIntoView({block: 'start'}); }"""
CSS = """
.gradio-container {max-width: 1100px !important; margin: auto; font-size: 16px}
#status {font-size: .9rem; opacity: .85}
.answer .lead {font-size: 1.05rem; font-weight: 600; line-height: 1.45; margin: 0 0 .2rem}
.answer .none {font-weight: 500}
.answer .meta {font-size: .875rem; color: var(--body-text-color); margin: 0 0 .6rem}
.answer a.cite {text-decoration: underline; font-weight: 600}
.answer ol.cards {list-style: none; padding: 0; margin: 0}
.answer li.card {border: 1px solid var(--border-color-primary); border-radius: 10px;
  padding: .6rem .8rem; margin: 0 0 .5rem; background: var(--background-fill-secondary)}
.card .card-title {font-weight: 600; line-height: 1.35}
.card .card-meta {font-size: .875rem; color: var(--body-text-color); margin: .1rem 0 .35rem}
.card .card-text {font-size: .92rem; line-height: 1.55}
/* Fixed colours on both sides: dark text on yellow passes WCAG AA in either theme. */
.card mark, .card mark * {background: #fde68a; color: #1f2937; padding: 0 .1em; border-radius: 3px}
.answer li.card.flash {animation: flash 1.2s ease-out}
@keyframes flash {from {box-shadow: 0 0 0 4px #f59e0b} to {box-shadow: 0 0 0 0 transparent}}
:focus-visible, #question textarea:focus, .gradio-container input:focus {
  outline: 3px solid #2563eb !important; outline-offset: 2px}
/* Hints and small print at full text colour (AA in both themes), buttons' text on a darker fill. */
[data-testid=block-info], .info-text, .min_value, .max_value, .show-api, footer a {
  color: var(--body-text-color) !important; opacity: 1 !important}
button.primary {background: #c2410c !important; color: #fff !important}
#chat .message, #chat .message * {overflow-wrap: anywhere}  /* long pastes and urls wrap */
@media (max-width: 640px) {.gradio-container {padding: 0 6px !important}}
"""


def build_ui(assistant, access: Access):
    """The chat page for `assistant`; adding articles needs the token of `access`, which the
    page has as a cookie when it was opened with the URL `assistant serve` printed."""
    import gradio as gr

    def on_load():
        stats = assistant.stats()
        return status_line(stats), default_as_of(stats["newest"], Date.today()), outlet_choices()

    def outlet_choices():
        """The outlets to filter by, as of the last `stats()` (native files have none)."""
        names = [name for name in assistant.sources() if name]
        return gr.Dropdown(choices=names, visible=bool(names))

    def respond(question, as_of, since, sources, k, history, previous):
        """Answer one chat message, read with the conversation's last answer; returns the
        chat, this answer (the next message's `previous`) and the answer as JSON."""
        history, k, question = list(history or []), int(k or 5), question or ""
        if question.strip():
            history.append({"role": "user", "content": escape(shorten(question))})
        try:
            assistant.query(question, k, as_of, since, sources)  # says what to fix, if anything
            if as_of and since and since > as_of:
                raise AssistantError(f"the Since date ({since}) is after the As of date "
                                     f"({as_of}): nothing can match; move one of them")
            answer = assistant.answer(question.strip(), k, as_of, since, sources,
                                      previous=previous)
        except AssistantError as e:
            message = shown_error(str(e))
            history.append({"role": "assistant", "content": f"⚠️ {escape(message)}"})
            return history, history, previous, {"error": message}, question
        history.append({"role": "assistant",
                        "content": render_answer(answer, since=since, sources=sources)})
        return history, history, answer, answer.to_dict(), ""

    def ask_api(question: str, as_of: str | None = None, since: str | None = None,
                sources: list[str] | None = None, k: int = 5) -> dict:
        """One question, read on its own (a program's calls are not a conversation): the
        answer as /api/ask returns it."""
        try:
            return assistant.answer(question, k, as_of or None, since or None,
                                    sources or ()).to_dict()
        except AssistantError as e:
            raise gr.Error(str(e)) from None

    def add(files, request: gr.Request, progress=gr.Progress(track_tqdm=True)):
        """Add uploaded files to the index; returns the summary, status line and outlets."""
        headers, cookies = dict(request.headers), dict(request.cookies)
        if not access.may_write(headers.get("authorization"), cookies.get(access.cookie)):
            summary = ("⚠️ Adding articles needs this server's token: open the page with the "
                       "URL that `assistant serve` printed (it ends with `?token=…`).")
        elif not files:
            summary = "Choose one or more .txt, .jsonl or .jsonl.gz files first."
        elif refused := [Path(f).name for f in files if not Path(f).name.endswith(ACCEPTED)]:
            summary = (f"⚠️ {escape(', '.join(refused))}: not a type this index reads. "
                       f"Accepted: {', '.join(ACCEPTED)}.")
        else:
            progress(0, desc="reading files")
            try:
                report = assistant.add_files([(Path(f).name, Path(f).read_bytes())
                                              for f in files], progress=True)  # a tqdm bar
                summary = render_report(report)
            except AssistantError as e:
                summary = f"⚠️ {escape(str(e))}"
            finally:
                for f in files:  # Gradio's copies: read once, never needed again
                    Path(f).unlink(missing_ok=True)
        return summary, status_line(assistant.stats()), outlet_choices()

    # Gradio keeps a copy of each file uploaded here; an hour is enough to ingest it.
    with gr.Blocks(title="News assistant", analytics_enabled=False,
                   delete_cache=(3600, 3600)) as page:
        gr.Markdown("## News assistant")
        status = gr.Markdown(elem_id="status")
        history, turn = gr.State([]), gr.State(None)
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chat = gr.Chatbot(show_label=False, elem_id="chat", height="62vh", layout="panel",
                                  latex_delimiters=[], feedback_options=None, buttons=["copy"],
                                  autoscroll=False,
                                  placeholder="Ask about the news in this index: answers quote "
                                              "the articles and cite them.")
                with gr.Row():
                    question = gr.Textbox(label="Question", show_label=False,
                                          elem_id="question", scale=5,
                                          placeholder="Ask a question, e.g. Who won the chess "
                                                      "championship?", max_lines=4, autofocus=True)
                    ask = gr.Button("Ask", variant="primary", scale=1, min_width=80)
                new = gr.Button("New conversation", size="sm", elem_id="new-conversation")
                with gr.Accordion("This answer as JSON", open=False):
                    raw = gr.JSON(show_label=False)
            with gr.Column(scale=1, min_width=260):
                as_of = gr.DateTime(label="As of", include_time=False, type="string",
                                    elem_id="as-of", info="'yesterday' counts from here")
                since = gr.DateTime(label="Since", include_time=False, type="string",
                                    elem_id="since", info="empty: from the start")
                sources = gr.Dropdown(label="Sources", multiselect=True, choices=[],
                                      allow_custom_value=True, info="none chosen: all outlets")
                k = gr.Slider(1, 20, value=5, step=1, label="Passages")
                with gr.Accordion("Add articles", open=False, elem_id="add-articles"):
                    files = gr.File(file_count="multiple", elem_id="files",
                                    label=".txt (native), .jsonl or .jsonl.gz")
                    add_button = gr.Button("Add to the index", elem_id="add")
                    summary = gr.Markdown(elem_id="ingest-summary")

        page.load(on_load, outputs=[status, as_of, sources], api_visibility="private")
        page.load(None, js=CITE_JS)
        # The conversation lives in this page's state: the chat's events are not for programs,
        # which call /ask, where each question stands on its own.
        gr.on([question.submit, ask.click], respond,
              inputs=[question, as_of, since, sources, k, history, turn],
              outputs=[history, chat, turn, raw, question], api_visibility="private"
              ).then(None, js=SHOW_LATEST)
        gr.api(ask_api, api_name="ask")
        new.click(lambda: ([], [], None, None), outputs=[history, chat, turn, raw],
                  api_visibility="private")
        chat.clear(lambda: ([], None, None), outputs=[history, turn, raw],  # its bin icon
                   api_visibility="private")
        add_button.click(add, inputs=[files], outputs=[summary, status, sources],
                         api_name="add_articles")
    return page


def default_as_of(newest: str | None, today: Date) -> str:
    """Today, or for an archive (nothing in the last week) the newest article's date.

    Example: ('2024-01-05', date(2026, 3, 1)) -> '2024-01-05'; (None, date(2026, 3, 1)) -> '2026-03-01'
    """
    if newest and Date.fromisoformat(newest) < today - ARCHIVE_AFTER:
        return newest
    return today.isoformat()


def shorten(text: str) -> str:
    """Example: 'x' * 301 -> 'x' * 300 + '…'"""
    text = text.strip()
    return text if len(text) <= MAX_ECHO else text[:MAX_ECHO] + "…"


def status_line(stats: dict) -> str:
    """Example: {'articles': 8, 'passages': 9, 'newest': '2026-02-21', 'model': 'm'}
    -> '**8** articles · **9** passages · newest 2026-02-21 · model `m`'"""
    return (f"**{stats['articles']:,}** articles · **{stats['passages']:,}** passages · "
            f"newest {stats['newest'] or '–'} · model `{stats['model']}`")


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
    best = best_sentence(question, text)
    return highlight(text, question, best[:2] if best else None).replace("\n", "<br>")


def render_report(report: IngestReport) -> str:
    """The ingest summary as Markdown, with each skipped input and its reason (escaped)."""
    lines = [f"**{escape(report.summary())}**"]
    lines += [f"- skipped {escape(str(p))}" for p in report.skipped[:20]]
    if len(report.skipped) > 20:
        lines.append(f"- … and {len(report.skipped) - 20} more")
    return "\n".join(lines)
