"""`assistant serve --ray ADDRESS --replicas N`: the single server's app (API and chat, from
server.build_app) in N Ray Serve replicas, each reading the collection through the shared
shard actors. Serve stands only at the HTTP front: a question's fan-out to shards goes to
plain actors (calling shards as Serve deployments cost 30 ms more a question).

Writes from any replica go to the collection's one writer actor (writer.py), where they
queue; a CLI ingest holding the write lock meanwhile makes them 409. Every replica follows
the catalog to the newest epoch, as the single server follows its index's generations.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

REPLICA_CPUS = 0.25


class Front:
    """One replica: what Serve's ingress wraps with the app `build` makes."""


def deployment(root: str | Path, access, replicas: int, settings=None, embedder=None,
               pin: bool = False):
    """The Serve application: `replicas` copies of the single server's app over `root`.
    embedder: what replicas embed questions with (by default the settings' model); pin:
    shard i only on a node offering the resource shard-i (ray_shards.RayShards.start)."""
    from ray import serve

    root = str(Path(root).resolve())

    def build():  # runs in each replica: its own app, its own front door to the shards
        from ..cluster import connect
        from .server import build_app, warm

        assistant = connect(root, ray="auto", settings=settings, embedder=embedder, pin=pin)
        app = build_app(assistant, access)
        warm(assistant)  # Serve routes to a replica once this returns: its models loaded
        return app

    # The decorator form: serve.deployment is typed as returning a decorator, the class
    # passed in or not.
    front = serve.deployment(name="front", num_replicas=replicas,
                             ray_actor_options={"num_cpus": REPLICA_CPUS}
                             )(serve.ingress(build)(Front))
    return front.bind()


def run(root: str | Path, address: str, replicas: int, host: str = "127.0.0.1",
        port: int = 8000, access=None, settings=None, embedder=None, pin: bool = False
        ) -> str:
    """Start the app, or deploy it again (another replica count, say); returns its URL. Ray
    2.60 gives each `serve.run` a new version, so a second call replaces every replica: the
    old ones serve until the new ones are up."""
    from ray import serve

    from ..cluster.ray_shards import app_name, init

    init(address)
    serve.start(http_options={"host": host, "port": port})
    serve.run(deployment(root, access, replicas, settings, embedder, pin), name=app_name(root),
              route_prefix="/")
    return f"http://{host}:{port}/"


def serve_forever(root, address: str, replicas: int, host: str, port: int, token=None,
                  no_token: bool = False, allow_hosts=(), allow_origins=(), pin: bool = False
                  ) -> None:
    """What the CLI runs: the URL printed (with the write token), then serve until ^C."""
    from ..cluster.ray_shards import init
    from .access import Access
    from .server import server_token

    token = server_token(token, os.environ, no_token)
    access = Access.for_server(token, host, allow_hosts, allow_origins)
    # ^C while serve.run still waits for the last replica (the first may already answer)
    # must shut Serve down too: otherwise the app outlives this process, and a replica that
    # Serve starts again after `cluster stop` starts the shard actors again, by name. SIGTERM
    # (a service manager's stop) takes the same way out; set after connecting, since
    # ray.init sets its own (an exit that skips the shutdown).
    init(address)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"Starting {replicas} replicas on Ray Serve; each loads its models before it "
          f"answers, and the URL follows once all do", flush=True)
    try:
        url = run(root, address, replicas, host, port, access, pin=pin)
        print(f"News assistant on Ray Serve ({replicas} replicas): open {url}"
              + (f"?token={token}" if token else ""), flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        from ray import serve

        serve.shutdown()
