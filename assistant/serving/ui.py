"""The web chat (Gradio): questions in, a cited lead and source cards out, as of a date.

Article text and titles are untrusted: every piece of them is HTML-escaped before display.
"""
# No `from __future__ import annotations`: Gradio reads the annotations of the functions below
# (gr.Request, and the types of the /ask endpoint), which strings would hide from it.

from html import escape
from pathlib import Path
from types import SimpleNamespace

from ..assistant import Assistant
from ..errors import AssistantError
from .access import Access
from .chat_render import (
    progress_line,
    render_answer,
    render_report,
    shorten,
    shown_error,
    status_line,
)
from .feeds_panel import feeds_panel
from .ui_scripts import (
    ANSWERED,
    ASK_SHARED,
    COPY_JS,
    FILTERS_BUTTON,
    PAGE_JS,
    SHARE_URL,
    WAITING,
)

ACCEPTED = (".txt", ".jsonl", ".jsonl.gz")  # what an upload may be
MAX_PASSAGES = 20  # the Passages slider's top; the server takes what Assistant.query allows


def build_ui(assistant, access: Access):
    """The chat page for `assistant`; adding articles needs the token of `access`, which the
    page has as a cookie when it was opened with the URL `assistant serve` printed."""
    import gradio as gr

    # Gradio keeps a copy of each file uploaded here; an hour is enough to ingest it.
    with gr.Blocks(title="News assistant", analytics_enabled=False,
                   delete_cache=(3600, 3600)) as page:
        ui = layout(assistant, access)
        loading(page, assistant, ui)
        # The conversation lives in this page's state: the chat's events are not for programs,
        # which call /ask, where each question stands on its own.
        asking(page, assistant, ui)
        ask_endpoint(assistant)
        ui.new.click(lambda: ([], [], None, None, []),
                     outputs=[ui.history, ui.chat, ui.turn, ui.raw, ui.saved],
                     api_visibility="private"
                     ).then(None, js="() => history.replaceState(null, '', location.pathname)")
        ui.chat.clear(lambda: ([], None, None, []),  # its bin
                      outputs=[ui.history, ui.turn, ui.raw, ui.saved], api_visibility="private")
        adding(assistant, access, ui)
    return page


def layout(assistant, access: Access) -> SimpleNamespace:
    """The page's parts, in page order (built inside the Blocks being defined): a header
    with the status line, the conversation, and beside it the filters, the upload and the
    feeds; with the state the events share."""
    import gradio as gr

    with gr.Column(elem_id="header"):
        gr.Markdown("## News assistant")
        gr.HTML(FILTERS_BUTTON, elem_id="filters-bar")  # a phone's; CSS hides it elsewhere
        status = gr.Markdown(elem_id="status")
    history, turn = gr.State([]), gr.State(None)
    saved = gr.BrowserState([], storage_key="news-assistant-chat")  # kept across reloads
    with gr.Row(equal_height=False, elem_id="main"):
        with gr.Column(scale=3, min_width=320):
            talk = conversation_column()
        with gr.Column(scale=1, min_width=260, elem_id="side"):
            with gr.Column(elem_id="filters"):
                filters = filters_column()
            with gr.Accordion("Add articles", open=False, elem_id="add-articles"):
                files = gr.File(file_count="multiple", elem_id="files",
                                label=".txt (native), .jsonl or .jsonl.gz")
                add_button = gr.Button("Add to the index", elem_id="add")
                summary = gr.Markdown(elem_id="ingest-summary")
            feeds_panel(assistant, access)
    return SimpleNamespace(status=status, history=history, turn=turn, saved=saved, files=files,
                           add_button=add_button, summary=summary, **talk, **filters)


def conversation_column() -> dict:
    """The question box and Ask, the example questions, New conversation, the answer as
    JSON, the chat and the progress line."""
    import gradio as gr

    with gr.Row():  # first in the page, for the keyboard; CSS shows it below the chat
        question = gr.Textbox(label="Question", show_label=False, elem_id="question", scale=5,
                              placeholder="Ask a question, e.g. Who won the chess "
                                          "championship?", max_lines=4, autofocus=True)
        ask = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="ask")
    with gr.Row(elem_id="examples"):
        tries = [gr.Button(visible=False, size="sm") for _ in range(3)]
    new = gr.Button("New conversation", size="sm", elem_id="new-conversation")
    with gr.Accordion("This answer as JSON", open=False):
        raw = gr.JSON(show_label=False)
    chat = gr.Chatbot(show_label=False, elem_id="chat", height="62vh", layout="panel",
                      latex_delimiters=[], feedback_options=None, buttons=["copy"],
                      autoscroll=False,
                      placeholder="Ask about the news in this index: answers quote "
                                  "the articles and cite them.")
    progress = gr.HTML(elem_id="progress")  # "Searching N articles…" when slow
    return dict(question=question, ask=ask, tries=tries, new=new, raw=raw, chat=chat,
                progress=progress)


def filters_column() -> dict:
    """As of, since, outlets and how many passages: what every question is asked with."""
    import gradio as gr

    as_of = gr.DateTime(label="As of", include_time=False, type="string", elem_id="as-of",
                        info="only articles published on or before this date are used")
    since = gr.DateTime(label="Since", include_time=False, type="string", elem_id="since",
                        info="empty: from the start")
    sources = gr.Dropdown(label="Sources", multiselect=True, choices=[],
                          allow_custom_value=True, elem_id="sources",
                          info="none chosen: all outlets")
    k = gr.Slider(1, MAX_PASSAGES, value=5, step=1, precision=0, label="Passages",
                  elem_id="passages", info=f"how many sources to show: 1 to {MAX_PASSAGES}")
    return dict(as_of=as_of, since=since, sources=sources, k=k)


def outlet_choices(assistant):
    """The outlets to filter by, as of the last `stats()` (native files have none)."""
    import gradio as gr

    names = [name for name in assistant.sources() if name]
    return gr.Dropdown(choices=names, visible=bool(names))


def loading(page, assistant, ui: SimpleNamespace) -> None:
    """What a page does as it opens: fill in the status, the filters and the conversation
    this browser kept, ask a shared question, and run the page's scripts."""
    import gradio as gr

    def on_load(saved, request: gr.Request):
        """The page as its URL asks (`?q=...&as_of=...`: a shared answer), with the
        conversation this browser kept."""
        stats, shared = assistant.stats(), dict(request.query_params)
        # The field shows the date a question without one is asked as of (Assistant.query's).
        as_of_value = shared.get("as_of") or Assistant.default_as_of()
        kept = saved if saved else gr.skip()  # never wipe what was asked while loading
        return (status_line(stats), progress_line(stats), as_of_value, outlet_choices(assistant),
                kept, kept, shared.get("q") or gr.skip())

    page.load(on_load, inputs=[ui.saved], outputs=[ui.status, ui.progress, ui.as_of, ui.sources,
                                                   ui.history, ui.chat, ui.question],
              api_visibility="private").then(None, js=ASK_SHARED)
    page.load(None, js=PAGE_JS)
    page.load(None, js=COPY_JS)


def asking(page, assistant, ui: SimpleNamespace) -> None:
    """A question typed, or an example clicked: shown at once, then answered with the
    conversation's last answer; the examples are filled in when the page loads."""
    import gradio as gr

    def respond(question, as_of, since, sources, k, history, previous):
        """Answer one chat message, read with the conversation's last answer; returns the
        chat (shown, and kept in this browser), this answer (the next message's `previous`), the
        answer as JSON, the emptied question box and Ask turned back on."""
        history, question = list(history or []), question or ""
        try:
            answer = assistant.answer(question, passages_wanted(k), as_of or None,
                                      since or None, sources or (), previous=previous)
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

    def answering(asked):
        asked.then(None, inputs=[ui.question, ui.as_of], js=SHARE_URL).then(None, js=WAITING).then(
            respond, inputs=[ui.question, ui.as_of, ui.since, ui.sources, ui.k, ui.history, ui.turn],
            outputs=[ui.history, ui.chat, ui.saved, ui.turn, ui.raw, ui.question, ui.ask],
            api_visibility="private").then(None, js=ANSWERED)

    echoed = dict(inputs=[ui.question, ui.history], outputs=[ui.history, ui.chat, ui.ask],
                  api_visibility="private")
    answering(gr.on([ui.question.submit, ui.ask.click], echo, **echoed))
    for button in ui.tries:  # an example: into the question box, then asked
        answering(button.click(lambda text: text, inputs=button, outputs=ui.question,
                               api_visibility="private").then(echo, **echoed))

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

    page.load(examples, outputs=ui.tries, api_visibility="private")


def ask_endpoint(assistant) -> None:
    """/ask for programs (gradio_client): one question, read on its own."""
    import gradio as gr

    def ask_api(question: str, as_of: str | None = None, since: str | None = None,
                sources: list[str] | None = None, k: int = 5) -> dict:
        """One question, read on its own (a program's calls are not a conversation): the
        answer as /api/ask returns it."""
        try:
            return assistant.answer(question, passages_wanted(k), as_of or None,
                                    since or None, sources or ()).to_dict()
        except AssistantError as e:
            raise gr.Error(str(e)) from None

    gr.api(ask_api, api_name="ask")


def adding(assistant, access: Access, ui: SimpleNamespace) -> None:
    """Add to the index: the uploaded files read, with the token's rule; the summary, status
    line, outlets and progress line follow."""
    import gradio as gr

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
        return summary, status_line(assistant.stats()), outlet_choices(assistant)

    ui.add_button.click(add, inputs=[ui.files], outputs=[ui.summary, ui.status, ui.sources],
                        api_name="add_articles").then(  # the API's answer stays three parts
        lambda: progress_line(assistant.stats()), outputs=ui.progress, api_visibility="private")


def passages_wanted(k):
    """The Passages field as a number of passages: a slider sends whole floats, and a
    program None; Assistant.query judges the rest (k from 1 to Settings.max_k), as at every
    edge. Example: 5.0 -> 5; None -> 5; 2.5 -> 2.5 (refused by query)"""
    if k is None:
        return 5
    if isinstance(k, float) and k.is_integer():
        return int(k)
    return k
