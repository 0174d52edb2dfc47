"""The domain's own exceptions; only the edges (CLI, HTTP, UI) turn them into messages."""


class AssistantError(Exception):
    """Base for every error the assistant raises on purpose, with the fix in its message.

    `http_status` says whose fault it is at the HTTP edge: a subclass that is the caller's
    (a bad question) says 4xx; the rest (a damaged index, a missing model) stay 500, so the
    server's trouble never reads as the client's."""

    http_status = 500


class IndexMismatch(AssistantError):
    """The index folder was built with another model, chunking or format version."""

    http_status = 409


class IndexBusy(AssistantError):
    """Another process holds the write lock of the index."""

    http_status = 409


class BadQuery(AssistantError):
    """A question, k or date that cannot be answered as given."""

    http_status = 400


class IndexDamaged(AssistantError):
    """Files of the index are missing or inconsistent; `assistant check --repair` rebuilds them."""


class NoIndex(AssistantError):
    """The folder holds no index; only a writer (ingest, serve) creates one."""

    http_status = 404

    def __init__(self, folder):
        super().__init__(f"there is no index at {folder}; create one with: "
                         f"assistant ingest FILES --index {folder}")


class EmbeddingStalled(AssistantError):
    """An embedding call made no progress for its allowance; nothing of it was kept."""

    http_status = 503


class BadSettings(AssistantError, ValueError):
    """A `Settings` field holds a value it cannot mean (the message names the field); the
    settings are the operator's, not the HTTP caller's, so it stays a 500."""


class ShardUnavailable(AssistantError):
    """A shard of a sharded collection did not answer (its actor or node is down, or it is
    behind the catalog): the question fails whole rather than answer from the other shards."""

    http_status = 503

    def __init__(self, shard: int, why: str = ""):
        self.shard = shard
        super().__init__(f"shard {shard} unavailable{': ' + why if why else ''}; "
                         "try again in a moment")


class RayUnreachable(AssistantError):
    """Nothing answers at the `--ray` address given. Ray's own client would wait there for
    minutes, logging retries, before it failed."""

    http_status = 503

    def __init__(self, address: str, why: str):
        super().__init__(f"no Ray cluster answers at {address} ({why}); start one with: "
                         "ray start --head --port 6379, then pass --ray 127.0.0.1:6379 "
                         "(docs/cluster.md)")


class WriterUnavailable(AssistantError):
    """A sharded collection's writer actor is down or restarting. A write it had begun is in
    whole or not at all (an epoch commits whole); sending it again is safe, since unchanged
    articles are skipped."""

    http_status = 503

    def __init__(self, why: str = ""):
        super().__init__(f"the collection's writer is unavailable{': ' + why if why else ''}; "
                         "the write is in whole or not at all: send it again in a moment")


class UnknownSource(BadQuery):
    """An outlet filter no stored article comes from: a misspelt outlet would silently match
    nothing, so it is refused with the outlets there are. Every edge shows this one message."""

    SHOWN = 20  # outlets named in the message; a big collection's list is cut, and says so

    def __init__(self, unknown, known):
        self.unknown, self.known = list(unknown), sorted(known)
        names = ", ".join(self.known[:self.SHOWN]) or "none (this collection has no outlets)"
        more = len(self.known) - self.SHOWN
        if more > 0:
            names += f" and {more} more (assistant stats, list_sources)"
        super().__init__(f"no article comes from {', '.join(map(repr, self.unknown))}; "
                         f"the outlets are {names}")


class NothingRead(BadQuery):
    """Articles were sent and none could be stored; `report` says why for each."""

    http_status = 422

    def __init__(self, report):
        self.report = report
        super().__init__("no article could be read: "
                         + "; ".join(str(p) for p in report.skipped[:3]))


class NeedsToken(AssistantError):
    """A write without the server's token (`Authorization: Bearer <token>`)."""

    http_status = 401

    def __init__(self, what: str = "add or delete articles"):
        super().__init__(f"this server needs 'Authorization: Bearer <token>' to {what}; "
                         "'assistant serve' printed the token in the URL to open")
