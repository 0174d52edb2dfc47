"""The feeds under the HTTP API (/api/feeds: list, follow, stop following), and the thread
that keeps them fresh under `assistant serve --follow`. server.build_app includes the router.

The thread stores articles through `Shared.ingest_articles`, the server's one writer at a
time, so a pass never races an upload, and questions (the read handle) are never held up.
"""
# No `from __future__ import annotations`: FastAPI reads the routes' annotations (as api.py).
import sys
import threading

from .access import Access


def feeds_router(shared, access: Access):
    """GET /api/feeds, POST /api/feeds {"url": ...}, DELETE /api/feeds/{id}; the writes need
    the server's token as other writes do."""
    from fastapi import APIRouter, Depends, Request
    from pydantic import BaseModel

    class FeedIn(BaseModel):
        url: str

    def writer(request: Request) -> None:
        access.check_write(request.headers.get("authorization"), what="add or remove feeds")

    def feeds():
        """Assistant.feeds (server.Shared passes its reader's through): the one way every
        edge opens the feeds."""
        return shared.feeds

    router = APIRouter(prefix="/api/feeds", tags=["feeds"])

    @router.get("", summary="The followed feeds, with last fetch, counts and last error")
    def list_feeds():
        store = feeds()
        try:
            return {"feeds": [feed.to_dict() for feed in store.list()]}
        finally:
            store.close()

    @router.post("", status_code=201, dependencies=[Depends(writer)],
                 summary="Follow a feed (RSS or Atom); `serve --follow` fetches it")
    def add_feed(body: FeedIn):
        store = feeds()
        try:
            return store.add(body.url).to_dict()
        finally:
            store.close()

    @router.delete("/{feed_id}", dependencies=[Depends(writer)],
                   summary="Stop following a feed; its articles stay")
    def remove_feed(feed_id: int):
        store = feeds()
        try:
            return {"removed": store.remove(feed_id).to_dict()}
        finally:
            store.close()

    return router


def start_following(shared, every_s: float, allow_private: bool | None = None,
                    log=None) -> threading.Event:
    """Follow every stored feed every `every_s` seconds in a daemon thread, until the event
    returned is set (or the process ends: a pass cut short keeps each batch it stored)."""
    from ..live.feeds import Follower, keep_following

    log = log or (lambda line: print(f"follow: {line}", file=sys.stderr, flush=True))
    stopped = threading.Event()

    def run():
        follower = Follower(shared.folder, shared.ingest_articles, shared.settings,
                            allow_private, log)
        try:
            keep_following(follower, [], every_s, stopped, log)
        finally:
            follower.close()

    threading.Thread(target=run, name="follow", daemon=True).start()
    return stopped
