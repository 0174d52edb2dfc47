"""Shards as Ray actors: one named actor a shard, restarted by Ray when it dies, each opening
its own folder (constructor arguments are two small values, so a restart never needs an
object evicted from the store). A shard that does not answer fails the call with
ShardUnavailable (503), never a partial answer from the others.
"""
from __future__ import annotations

import socket
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import AssistantError, RayUnreachable, ShardUnavailable
from .shard import Behind, Shard

NAMESPACE = "news-assistant"
# Ray started in this process ("local"): 2 CPUs, a small object store, no dashboard (about
# 0.55 GB for Ray's own processes, up in 3 s on 2 cores).
LOCAL: dict[str, Any] = {"num_cpus": 2, "object_store_memory": 200 * 1024 ** 2,
                         "include_dashboard": False}
SHARD_CPUS = 0.25  # fractional: on a 2-CPU node, whole CPUs for 4 shards would starve the rest
TIMEOUT_S = 30.0
PROBE_S = 5.0  # a head node on the same network accepts a connection in milliseconds


def init(address: str) -> bool:
    """Connect to Ray at `address` ("local": start it here); True if this call started it.
    A HOST:PORT where nothing listens fails at once with RayUnreachable."""
    import ray

    if ray.is_initialized():
        return False
    if address == "local":
        ray.init(namespace=NAMESPACE, log_to_driver=False, **LOCAL)
    else:
        probe(address)
        ray.init(address=address, namespace=NAMESPACE, log_to_driver=False)
    return True


def probe(address: str, timeout_s: float = PROBE_S) -> None:
    """RayUnreachable unless something accepts a connection at `address` ([ray://]HOST:PORT);
    other forms ("auto") are left to Ray.

    Example: probe("127.0.0.1:1") -> RayUnreachable: no Ray cluster answers at 127.0.0.1:1 ...
    """
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as e:
        raise RayUnreachable(address, e.strerror or type(e).__name__) from None


def _collection(root: str | Path) -> str:
    """Example: '/data/news' -> '1a2b3c4d': what names a collection's parts on Ray."""
    return f"{zlib.crc32(str(Path(root).resolve()).encode()):08x}"


def actor_name(root: str | Path, shard: int) -> str:
    """Example: ('/data/news', 2) -> 'shard-2-1a2b3c4d' (one set of names per collection)."""
    return f"shard-{shard}-{_collection(root)}"


def writer_name(root: str | Path) -> str:
    """Example: '/data/news' -> 'writer-1a2b3c4d' (the collection's one writer actor)."""
    return f"writer-{_collection(root)}"


def app_name(root: str | Path) -> str:
    """Example: '/data/news' -> 'news-assistant-1a2b3c4d' (its Ray Serve app: serve --ray)."""
    return f"news-assistant-{_collection(root)}"


def named(name: str):
    """The live actor called `name` in this namespace, or None."""
    import ray

    try:
        return ray.get_actor(name)
    except ValueError:
        return None


def stop_collection(root: str | Path, address: str | None) -> tuple[int, bool]:
    """`assistant cluster stop`: delete the collection's Ray Serve app if one is up (a
    `serve --ray` killed before its shutdown leaves it, and its replicas would start the
    actors again by name), then end its shard actors and its writer actor (writer.py) on the
    cluster at `address`. They are detached, so they outlive every process that used them;
    returns how many actors were up, and whether an app was."""
    from ..errors import BadQuery
    from .catalog import read

    if not address:
        raise BadQuery("cluster stop needs --ray ADDRESS: the Ray cluster the shards run on")
    shards = read(root).shards
    started = init(address)
    app = _delete_app(app_name(root))
    names = [actor_name(root, i) for i in range(shards)] + [writer_name(root)]
    up = {name: actor for name in names if (actor := named(name)) is not None}
    RayShards(list(up.values()), names=list(up)).stop()
    if started:
        import ray

        ray.shutdown()
    return len(up), app


def _delete_app(name: str) -> bool:
    """Delete the Ray Serve app `name` if it is up; whether it was. Asking starts no Serve."""
    try:
        from ray import serve
    except ImportError:  # Ray without Serve runs no app
        return False
    if name not in serve.status().applications:
        return False
    serve.delete(name)
    return True


class RayShards:
    """Calls the collection's shard actors; `start` creates them (or finds them by name)."""

    def __init__(self, actors: list, started_ray: bool = False, timeout_s: float = TIMEOUT_S,
                 names: Sequence[str] = ()):
        self.actors = actors
        self.started_ray = started_ray
        self.timeout_s = timeout_s
        self.names = list(names)

    @classmethod
    def start(cls, root: str | Path, shards: int, address: str = "local", pin: bool = False,
              cpus: float = SHARD_CPUS, timeout_s: float = TIMEOUT_S) -> RayShards:
        """pin: place shard i only on a node that offers the custom resource `shard-i`
        (the node holding its folder; a spare node offering it takes over when one dies)."""
        import ray

        started = init(address)
        remote = ray.remote(Shard)
        actors = []
        for i in range(shards):
            # Detached: an actor otherwise dies with the process that made it (a Serve
            # replica stopped by a rescale took its shards with it), and the shards are the
            # collection's, there for the next caller, who finds them by name.
            options = {"name": actor_name(root, i), "get_if_exists": True, "max_restarts": -1,
                       "num_cpus": cpus, "lifetime": "detached"}
            if pin:
                options["resources"] = {f"shard-{i}": 0.01}
            # An absolute path: an actor's working folder is its Ray worker's, not the caller's.
            actors.append(remote.options(**options).remote(str(Path(root).resolve()), i))
        out = cls(actors, started, timeout_s, [actor_name(root, i) for i in range(shards)])
        out.call("ping", lambda i: ())  # up and reading, or ShardUnavailable now
        return out

    def call(self, method: str, args_of, only: int | None = None) -> list:
        """`method` on every shard (or shard `only`) with `args_of(shard)`, all at once;
        results in shard order."""
        import ray
        from ray.exceptions import GetTimeoutError, ObjectLostError, RayActorError

        asked = range(len(self.actors)) if only is None else [only]
        refs = {i: getattr(self.actors[i], method).remote(*args_of(i)) for i in asked}
        out = []
        for i, ref in refs.items():
            try:
                out.append(ray.get(ref, timeout=self.timeout_s))
            except Behind as e:
                raise ShardUnavailable(i, str(e).splitlines()[-1]) from None
            except (RayActorError, GetTimeoutError, ObjectLostError) as e:
                raise ShardUnavailable(i, type(e).__name__) from None
        return out

    def stop(self, wait_s: float = 90.0) -> None:
        """End the shard actors for good, and wait until their names are free: ray.kill
        returns before an actor is gone, and whoever starts the shards next must not find a
        dying one by name."""
        import ray

        for actor in self.actors:
            ray.kill(actor, no_restart=True)
        deadline = time.monotonic() + wait_s
        for name in self.names:
            while named(name) is not None:
                if time.monotonic() > deadline:
                    raise AssistantError(
                        f"the actor {name} was still up {wait_s:.0f} s after it was ended: "
                        "does `assistant serve --ray` still serve the collection? Stop it first")
                time.sleep(0.1)

    def close(self) -> None:
        """Stop Ray if this handle started it; on a cluster the shard actors stay up for the
        next caller, who finds them by name."""
        import ray

        if self.started_ray:
            ray.shutdown()
