"""One uvicorn process: the web chat at / and the JSON API at /api, over one index."""
from __future__ import annotations

import functools
import os
import threading
from pathlib import Path

from .api import MAX_UPLOAD_BYTES, UPLOADS

TOKEN_ENV = "ASSISTANT_TOKEN"


class Shared:
    """The assistant as the chat and the API share it: questions go to a read handle that any
    number of threads may use, writes to a handle of their own, one at a time. A question is
    never held up by an upload being embedded, and sees the index before or after it."""

    WRITES = frozenset({"ingest", "ingest_articles", "delete"})

    def __init__(self, assistant):
        from .assistant import Assistant

        self._reader = assistant
        self._writer = Assistant(assistant.store.folder, assistant.settings)
        self._lock = threading.Lock()

    def __getattr__(self, name):
        if name not in self.WRITES:
            return getattr(self._reader, name)
        method = getattr(self._writer, name)

        @functools.wraps(method)
        def one_at_a_time(*args, **kwargs):
            with self._lock:
                return method(*args, **kwargs)

        return one_at_a_time


def build_app(assistant, token: str | None = None, max_upload_bytes: int = MAX_UPLOAD_BYTES):
    """The FastAPI app with the API routes first and the Gradio chat mounted at / after them,
    so that the chat never shadows /api, /docs or /openapi.json."""
    import gradio as gr

    from .api import create_app
    from .ui import CSS, build_ui

    shared = Shared(assistant)
    app = create_app(shared, token, max_upload_bytes)
    system_fonts = ["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "sans-serif"]
    theme = gr.themes.Soft(font=system_fonts, font_mono=["ui-monospace", "monospace"])
    return gr.mount_gradio_app(app, build_ui(shared, token), path="/", css=CSS, theme=theme,
                               max_file_size=max_upload_bytes, footer_links=["api"],
                               run_history=False)


def serve(assistant, host: str = "127.0.0.1", port: int = 7860, token: str | None = None) -> None:
    """Serve until interrupted; `token` (or $ASSISTANT_TOKEN) guards adding and deleting."""
    import uvicorn

    token = token or os.environ.get(TOKEN_ENV) or None
    # Gradio keeps its own copy of each file uploaded in the chat: inside the index folder too.
    os.environ.setdefault("GRADIO_TEMP_DIR", str(Path(assistant.store.folder).resolve()
                                                 / UPLOADS / ".gradio"))
    app = build_app(assistant, token)
    assistant.embedder  # load the model now, so that the first question is answered at once
    guard = "writes need the token" if token else f"writes are open (set --token or ${TOKEN_ENV})"
    print(f"News assistant on http://{host}:{port}/ ; API docs at /docs ; {guard}", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
