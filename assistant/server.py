"""One uvicorn process: the web chat at / and the JSON API at /api, over one Assistant."""
from __future__ import annotations

import functools
import os
import threading
from pathlib import Path

from .api import MAX_UPLOAD_BYTES, UPLOADS

TOKEN_ENV = "ASSISTANT_TOKEN"


class Serialized:
    """`assistant` with one call at a time: the chat and the API share one index handle,
    whose in-memory indexes a write swaps while a read may be using them."""

    def __init__(self, assistant):
        self._assistant, self._lock = assistant, threading.RLock()

    def __getattr__(self, name):
        value = getattr(self._assistant, name)
        if not callable(value):
            return value

        @functools.wraps(value)
        def locked(*args, **kwargs):
            with self._lock:
                return value(*args, **kwargs)

        return locked


def build_app(assistant, token: str | None = None, max_upload_bytes: int = MAX_UPLOAD_BYTES):
    """The FastAPI app with the API routes first and the Gradio chat mounted at / after them,
    so that the chat never shadows /api, /docs or /openapi.json."""
    import gradio as gr

    from .api import create_app
    from .ui import CSS, build_ui

    shared = Serialized(assistant)
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
