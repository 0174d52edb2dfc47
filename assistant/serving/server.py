"""One uvicorn process: the web chat at / and the JSON API at /api, over one index."""
from __future__ import annotations

import importlib.util
import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from ..errors import AssistantError
from ..reading.uploads import UPLOADS, clear_uploads
from .access import Access, new_token
from .api import MAX_UPLOAD_BYTES
from .feeds_api import feeds_router, start_following

TOKEN_ENV = "ASSISTANT_TOKEN"


class Shared:
    """The assistant as the chat and the API share it: questions go to a read handle that any
    number of threads may use, writes to a handle of their own, one at a time. A question is
    never held up by an upload being embedded, and sees the index before or after it. Each
    method says which handle it takes: a new one must choose."""

    def __init__(self, assistant):
        self._reader = assistant
        self._writer = assistant.write_handle()  # a collection's: with Ray, its writer actor
        self._lock = threading.Lock()
        self.settings, self.folder = assistant.settings, assistant.folder

    # Reads: the shared read handle, from any thread.
    def ask(self, *args, **kwargs):
        return self._reader.ask(*args, **kwargs)

    def answer(self, *args, **kwargs):
        return self._reader.answer(*args, **kwargs)

    def query(self, *args, **kwargs):
        return self._reader.query(*args, **kwargs)

    def stats(self) -> dict:
        return self._reader.stats()

    def sources(self) -> list[str]:
        return self._reader.sources()

    def article(self, article_id: str):
        return self._reader.article(article_id)

    def outlets(self) -> list[dict]:
        return self._reader.outlets()

    @property
    def feeds(self):
        """The index's feed store (Assistant.feeds), a new handle the caller closes."""
        return self._reader.feeds

    def unknown_sources(self, names) -> list[str]:
        return self._reader.unknown_sources(names)

    # Writes: the write handle, one at a time.
    def ingest(self, *args, **kwargs):
        return self._one_at_a_time(self._writer.ingest, *args, **kwargs)

    def ingest_articles(self, *args, **kwargs):
        return self._one_at_a_time(self._writer.ingest_articles, *args, **kwargs)

    def add_files(self, *args, **kwargs):
        return self._one_at_a_time(self._writer.add_files, *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._one_at_a_time(self._writer.delete, *args, **kwargs)

    def _one_at_a_time(self, write, *args, **kwargs):
        with self._lock:
            return write(*args, **kwargs)


def build_app(assistant, access: Access, max_upload_bytes: int = MAX_UPLOAD_BYTES):
    """The FastAPI app with the API routes first and the Gradio chat mounted at / after them,
    so that the chat never shadows /api, /docs or /openapi.json; `access` guards both."""
    import gradio as gr

    from .api import create_app
    from .ui import build_ui
    from .ui_scripts import CSS

    shared = Shared(assistant)
    app = create_app(shared, access, max_upload_bytes)
    if importlib.util.find_spec("mcp"):  # the [mcp] extra: agents' tools at /mcp
        from .agent_tools import mount_mcp

        mount_mcp(app, shared, access)
    app.include_router(feeds_router(shared, access))  # /api/feeds, from feeds_api.py
    app.state.shared = shared  # for serve's --follow thread
    system_fonts = ["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "sans-serif"]
    theme = gr.themes.Soft(font=system_fonts, font_mono=["ui-monospace", "monospace"])
    return gr.mount_gradio_app(app, build_ui(shared, access), path="/", css=CSS, theme=theme,
                               max_file_size=max_upload_bytes, footer_links=["api"],
                               run_history=False)


WARM_UP = "What is the latest news?"  # any question: it only has to run every stage once


def warm(assistant) -> None:
    """Answer one question before the port listens, so that the first real ones find every
    model loaded and run once: the embedder (on each of its worker threads: an OpenVINO
    infer request is a thread's own, and its first run took 0.15 s), the cross-encoder and
    LightGBM ranker the settings ask for, the lead's scorer, the keyword index and the
    shards' first calls. Loaded at the first questions instead, 8 sent together to a fresh
    server took 2-11 s each (issue 25). A failure here (a shard down) is left to the
    questions to report."""
    try:
        _ = assistant.rerankers  # loads the second stages, even where an empty index finds nothing
        embedder = assistant.embedder
        runs = 2 * getattr(embedder, "threads", 1)  # a run for every worker, whoever takes it
        embedder.embed([WARM_UP] * runs * getattr(embedder, "batch_size", 1))
        assistant.answer(WARM_UP)
    except AssistantError as e:
        print(f"warning: the warm-up question failed ({e}); the first questions will load "
              "what it did not", file=sys.stderr, flush=True)


def server_token(given: str | None, environ: Mapping[str, str], no_token: bool = False
                 ) -> str | None:
    """The write token: --token, else $ASSISTANT_TOKEN, else a fresh one for this run; None
    (writes open) only when asked for with --no-token.

    Example: (None, {}, True) -> None; ('t', {'ASSISTANT_TOKEN': 'e'}) -> 't'
    """
    if no_token:
        return None
    return given or environ.get(TOKEN_ENV) or new_token()


def home_url(host: str, port: int) -> str:
    """The address a browser on this machine opens; a wildcard address is not one it can.

    Example: ('0.0.0.0', 7860) -> 'http://127.0.0.1:7860/'; ('::1', 80) -> 'http://[::1]:80/'
    """
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


WEB_PACKAGES = ("fastapi", "gradio", "multipart", "uvicorn")  # the [web] extra


def missing_web_packages(find=importlib.util.find_spec) -> list[str]:
    """The [web] extra's packages this install lacks: a library user needs none of them.

    Example: missing_web_packages(lambda name: None) -> ['fastapi', 'gradio', 'multipart',
    'uvicorn']
    """
    return [name for name in WEB_PACKAGES if find(name) is None]


def serve(assistant, host: str = "127.0.0.1", port: int = 7860, token: str | None = None,
          no_token: bool = False, allow_hosts=(), allow_origins=(),
          follow_every: float | None = None, allow_private: bool | None = None) -> None:
    """Serve until interrupted, printing the URL to open (with the write token in it)."""
    missing = missing_web_packages()
    if missing:
        raise AssistantError(f"the web chat needs {', '.join(missing)}: "
                             "pip install 'news-assistant[web]' (or: make run)")
    import uvicorn

    token = server_token(token, os.environ, no_token)
    access = Access.for_server(token, host, allow_hosts, allow_origins)
    clear_uploads(assistant.folder)
    # Gradio keeps its own copy of each file uploaded in the chat: inside the index folder too.
    os.environ.setdefault("GRADIO_TEMP_DIR", str(Path(assistant.folder).resolve()
                                                 / UPLOADS / ".gradio"))
    app = build_app(assistant, access)
    if follow_every:  # stored feeds, fetched in the background through Shared's one writer
        start_following(app.state.shared, follow_every, allow_private)
    warm(assistant)  # every model loaded before the port listens: the first answers at once
    url = home_url(host, port)
    agents = f"; MCP for agents at {url}mcp" if importlib.util.find_spec("mcp") else ""

    def announce() -> None:
        if token:
            print(f"News assistant: open {url}?token={token}\n(the token is needed to add or "
                  f"delete articles; API docs at {url}docs{agents})", flush=True)
        else:
            print(f"News assistant on {url} ; API docs at {url}docs{agents}", flush=True)
            print("WARNING: --no-token: any program or web page that can reach this server can "
                  "add and delete articles", file=sys.stderr, flush=True)

    class Announcing(uvicorn.Server):
        """Says where to open the page only once the port listens: a reader (or a script)
        who opens it at once must not be refused."""

        async def startup(self, sockets=None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                announce()

    Announcing(uvicorn.Config(app, host=host, port=port, log_level="warning")).run()
