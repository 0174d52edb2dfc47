"""The web chat (Gradio): questions in, a cited lead and source cards out, as of a date.

Article text and titles are untrusted: every piece of them is HTML-escaped before display.
"""
# No `from __future__ import annotations`: Gradio reads the annotations of the functions below
# (gr.Request, and the types of the /ask endpoint), which strings would hide from it.

from datetime import date as Date, timedelta
from html import escape
from pathlib import Path

from .access import Access
from .errors import AssistantError
from .feeds_panel import feeds_panel
from .chat_render import render_answer, render_report, shorten, shown_error, status_line

ARCHIVE_AFTER = timedelta(days=7)  # newest article older than this: the index is an archive
ACCEPTED = (".txt", ".jsonl", ".jsonl.gz")  # what an upload may be
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
# Copy gives plain text: the lead, then the numbered citations with title, outlet, date, link
# (Gradio's own copy button would put the message's HTML on the clipboard).
COPY_JS = """() => { const plain = (answer) => [answer.querySelector('.lead')?.innerText || '',
  ...[...answer.querySelectorAll('.card')].map(card => { const link = card.querySelector(
    '.card-title a'); return [card.querySelector('.card-title').innerText,
    card.querySelector('.card-meta').innerText, link ? link.href : ''].filter(Boolean)
    .join(' · '); })].join('\\n');
  document.addEventListener('click', (e) => {
    const button = e.target.closest && e.target.closest('#chat button[aria-label="Copy message"]');
    const answer = button && button.closest('.message')?.querySelector('.answer');
    if (!answer) return;
    e.preventDefault(); e.stopPropagation(); navigator.clipboard.writeText(plain(answer));
  }, true); }"""
# The URL carries the question and its date, so that an answer can be shared and reopened.
SHARE_URL = """(q, asOf) => { const url = new URL(location.href);
  url.searchParams.set('q', q); if (asOf) url.searchParams.set('as_of', asOf);
  else url.searchParams.delete('as_of'); history.replaceState(null, '', url);
  sessionStorage.setItem('news-asked', url.search); }"""
# A shared URL is asked as soon as the page has filled its question box from it, once: a
# reload of this tab shows the kept conversation instead of asking again.
ASK_SHARED = """() => { if (new URLSearchParams(location.search).get('q')
    && sessionStorage.getItem('news-asked') !== location.search)
  setTimeout(() => document.querySelector('#ask').click(), 0); }"""
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
#files .filename, #files .filename .stem {white-space: normal !important;
  overflow: visible !important; overflow-wrap: anywhere}  /* whole upload names, never "….txt" */
#chat .message, #chat .message * {overflow-wrap: anywhere}  /* long pastes and urls wrap */
@media (max-width: 640px) {.gradio-container {padding: 0 6px !important}}
"""


def build_ui(assistant, access: Access):
    """The chat page for `assistant`; adding articles needs the token of `access`, which the
    page has as a cookie when it was opened with the URL `assistant serve` printed."""
    import gradio as gr

    def on_load(saved, request: gr.Request):
        """The page as its URL asks (`?q=...&as_of=...`: a shared answer), with the
        conversation this browser kept."""
        stats, shared = assistant.stats(), dict(request.query_params)
        as_of_value = shared.get("as_of") or default_as_of(stats["newest"], Date.today())
        kept = saved if saved else gr.skip()  # never wipe what was asked while loading
        return (status_line(stats), as_of_value, outlet_choices(), kept, kept,
                shared.get("q") or gr.skip())

    def outlet_choices():
        """The outlets to filter by, as of the last `stats()` (native files have none)."""
        names = [name for name in assistant.sources() if name]
        return gr.Dropdown(choices=names, visible=bool(names))

    def respond(question, as_of, since, sources, k, history, previous):
        """Answer one chat message, read with the conversation's last answer; returns the
        chat (shown, and kept in this browser), this answer (the next message's `previous`), the
        answer as JSON, the emptied question box and Ask turned back on."""
        history, k, question = list(history or []), int(k or 5), question or ""
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
            return history, history, history, previous, {"error": message}, question, gr.Button(
                interactive=True)
        history.append({"role": "assistant",
                        "content": render_answer(answer, since=since, sources=sources)})
        return history, history, history, answer, answer.to_dict(), "", gr.Button(
            interactive=True)

    def echo(question, history):
        """The question in the chat at once, and Ask off until its answer is there."""
        history = list(history or [])
        if (question or "").strip():
            history.append({"role": "user", "content": escape(shorten(question))})
        return history, history, gr.Button(interactive=False)

    def examples():
        """Three questions about the newest headlines, for a visitor who does not know what
        the collection holds."""
        newest = assistant.stats()["newest"]
        found = assistant.ask("news", k=20, as_of=newest) if newest else []
        titles = list(dict.fromkeys(p.title for p in sorted(found, key=lambda p: p.date,
                                                            reverse=True) if p.title))
        asks = [f"What happened: {title}?" for title in titles[:3]]
        return [gr.Button(value=q, visible=True) for q in asks] + [
            gr.Button(visible=False)] * (3 - len(asks))

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
        saved = gr.BrowserState([], storage_key="news-assistant-chat")  # kept across reloads
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
                    ask = gr.Button("Ask", variant="primary", scale=1, min_width=80,
                                    elem_id="ask")
                with gr.Row(elem_id="examples"):
                    tries = [gr.Button(visible=False, size="sm") for _ in range(3)]
                new = gr.Button("New conversation", size="sm", elem_id="new-conversation")
                with gr.Accordion("This answer as JSON", open=False):
                    raw = gr.JSON(show_label=False)
            with gr.Column(scale=1, min_width=260):
                as_of = gr.DateTime(label="As of", include_time=False, type="string",
                                    elem_id="as-of", info="only articles published on or before this "
                                                         "date are used")
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
                feeds_panel(assistant, access)

        page.load(on_load, inputs=[saved], outputs=[status, as_of, sources, history, chat,
                                                    question], api_visibility="private"
                  ).then(None, js=ASK_SHARED)
        page.load(None, js=CITE_JS)
        page.load(None, js=COPY_JS)
        # The conversation lives in this page's state: the chat's events are not for programs,
        # which call /ask, where each question stands on its own.
        def answering(asked):
            asked.then(None, inputs=[question, as_of], js=SHARE_URL).then(
                respond, inputs=[question, as_of, since, sources, k, history, turn],
                outputs=[history, chat, saved, turn, raw, question, ask],
                api_visibility="private").then(None, js=SHOW_LATEST)

        answering(gr.on([question.submit, ask.click], echo, inputs=[question, history],
                        outputs=[history, chat, ask], api_visibility="private"))
        for button in tries:  # an example: into the question box, then asked
            answering(button.click(lambda text: text, inputs=button, outputs=question,
                                   api_visibility="private").then(
                echo, inputs=[question, history], outputs=[history, chat, ask],
                api_visibility="private"))
        page.load(examples, outputs=tries, api_visibility="private")
        gr.api(ask_api, api_name="ask")
        new.click(lambda: ([], [], None, None, []), outputs=[history, chat, turn, raw, saved],
                  api_visibility="private"
                  ).then(None, js="() => history.replaceState(null, '', location.pathname)")
        chat.clear(lambda: ([], None, None, []), outputs=[history, turn, raw, saved],  # its bin
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
