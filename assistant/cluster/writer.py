"""A server's writes to a sharded collection (`ClusterAssistant.write_handle`, which
serving/server.py's `Shared` writes with). Without Ray, a second `ClusterAssistant` in the
server's process. With Ray, one named writer actor for the collection, which every Serve
replica calls: uploads from any replica queue there and are written one after another,
instead of meeting the collection's lock (409) when two arrive at once. The actor is
detached, like the shard actors: a replica stopped by a rescale leaves it.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import WriterUnavailable
from .ray_shards import writer_name

WRITER_CPUS = 0.25


def write_handle(assistant):
    """What a server writes `assistant`'s collection with (`ClusterAssistant.write_handle`):
    another front door of `assistant`'s class, which this module takes from it rather than
    import front.py, which imports this one. A server also keeps the feeds it follows
    (feedstore.py) in its index's database: a collection's is one at its root, beside
    catalog.json, holding those tables only (its articles live in the shards)."""
    from ..storage.rows import DB_FILE

    feeds = Path(assistant.folder) / DB_FILE
    if not feeds.exists():
        sqlite3.connect(feeds).close()
    front = type(assistant)
    if assistant.ray_embedding is None:
        return front(assistant.folder, assistant.settings, embedder=assistant._embedder)
    return RemoteWriter(front, assistant.folder, assistant.settings, assistant._embedder)


class Host:
    """The writer actor: a write-only front door to the collection (`front`, ClusterAssistant:
    no shard opened for reading), embedding in its own process (with `embedder`, or the
    settings' model)."""

    def __init__(self, front, root: str, settings, embedder=None):
        self.assistant = front(root, settings, embedder=embedder, reads=False)

    def write(self, method: str, *args, **kwargs):
        return getattr(self.assistant, method)(*args, **kwargs)


class RemoteWriter:
    """The writes `server.Shared` makes (ingest, ingest_articles, add_files, delete), sent to
    the collection's writer actor, found by name or started (a `Host` of `front`); its errors
    raised here as they were raised there (an `AssistantError` keeps its HTTP status)."""

    def __init__(self, front, root: str | Path, settings, embedder=None):
        import ray

        self.actor = ray.remote(Host).options(
            name=writer_name(Path(root)), get_if_exists=True, lifetime="detached",
            max_restarts=-1, num_cpus=WRITER_CPUS).remote(front, str(Path(root).resolve()), settings,
                                                          embedder)

    def _call(self, method: str, *args, **kwargs):
        import ray
        from ray.exceptions import RayActorError, RayTaskError

        try:
            # Ray types a handle as ActorHandle | the class itself, whose plain (not
            # @ray.method) `write` has no .remote: the handle's has.
            return ray.get(self.actor.write.remote(  # type: ignore[attr-defined]
                method, *args, **kwargs))
        except RayTaskError as e:
            raise e.cause from None
        except RayActorError as e:  # died, or restarting after its process or node was lost
            raise WriterUnavailable(str(e).strip().splitlines()[0][:200]) from None

    def ingest(self, paths, progress: bool = False):
        return self._call("ingest", paths if isinstance(paths, (str, Path)) else list(paths),
                          progress)

    def ingest_articles(self, items, progress: bool = False):
        return self._call("ingest_articles", list(items), progress)

    def add_files(self, *args, **kwargs):
        return self._call("add_files", *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._call("delete", *args, **kwargs)
