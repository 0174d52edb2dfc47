"""The chat's "Feeds" section: the followed feeds with last fetch, counts and last error, and
a box to follow another (token-guarded like the chat's other writes). ui.py calls
`feeds_panel(assistant, access)` inside its Blocks; `serve --follow` does the fetching."""
# No `from __future__ import annotations`: Gradio reads the handlers' annotations (gr.Request).
from html import escape

from ..errors import AssistantError


def feeds_table(assistant) -> list[list]:
    """One row a feed: id, URL, title, last fetch, articles, last error."""
    store = assistant.feeds
    try:
        return [[f.id, f.url, f.title, f.last_fetch or "never", f.articles, f.last_error]
                for f in store.list()]
    finally:
        store.close()


def follow_feed(assistant, access, url: str, authorization: str | None, cookie: str | None
                ) -> str:
    """Follow `url` if the caller may write; the message to show."""
    if not access.may_write(authorization, cookie):
        return ("⚠️ Following a feed needs this server's token: open the page with the URL "
                "that `assistant serve` printed (it ends with `?token=…`).")
    store = assistant.feeds
    try:
        feed = store.add(url or "")
    except AssistantError as e:
        return f"⚠️ {escape(str(e))}"
    finally:
        store.close()
    return (f"Following {escape(feed.url)}; `assistant serve --follow` fetches it, or run "
            "`assistant follow` once.")


def feeds_panel(assistant, access) -> None:
    """Build the section in the Blocks being defined (call it inside `with gr.Blocks()`)."""
    import gradio as gr

    with gr.Accordion("Feeds", open=False):
        table = gr.Dataframe(value=lambda: feeds_table(assistant), interactive=False,
                             elem_id="feeds", headers=["id", "feed", "title", "last fetch",
                                                       "articles", "last error"])
        with gr.Row():
            url = gr.Textbox(label="Feed URL (RSS or Atom)", scale=4)
            follow = gr.Button("Follow", scale=1)
        message = gr.Markdown()

    def on_follow(feed_url: str, request: gr.Request):
        said = follow_feed(assistant, access, feed_url.strip(),
                           dict(request.headers).get("authorization"),
                           dict(request.cookies).get(access.cookie))
        return said, feeds_table(assistant)

    follow.click(on_follow, [url], [message, table], api_visibility="private")
