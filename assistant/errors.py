"""The domain's own exceptions; only the edges (CLI, HTTP, UI) turn them into messages."""


class AssistantError(Exception):
    """Base for every error the assistant raises on purpose, with the fix in its message."""


class IndexMismatch(AssistantError):
    """The index folder was built with another model, chunking or format version."""


class IndexBusy(AssistantError):
    """Another process holds the write lock of the index."""


class BadQuery(AssistantError):
    """A question, k or date that cannot be answered as given."""


class IndexDamaged(AssistantError):
    """Files of the index are missing or inconsistent; `assistant check --repair` rebuilds them."""


class NoIndex(AssistantError):
    """The folder holds no index; only a writer (ingest, serve) creates one."""

    def __init__(self, folder):
        super().__init__(f"there is no index at {folder}; create one with: "
                         f"assistant ingest FILES --index {folder}")


class EmbeddingStalled(AssistantError):
    """An embedding call made no progress for its allowance; nothing of it was kept."""
