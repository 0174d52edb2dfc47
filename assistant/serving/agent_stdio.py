"""`assistant mcp`: the agents' tools (agent_tools.py) over stdin and stdout, for a desktop
agent client that starts this process. Apart from agent_tools because it writes through
server.Shared, and server.py mounts agent_tools at /mcp: one module each way, no cycle."""
from __future__ import annotations

from .agent_tools import build_mcp
from .server import Shared


def run_stdio(assistant, allow_writes: bool = False) -> None:
    """Serve until the client closes stdin. The client started this process, so a write needs
    no token; with writes, reads and writes take separate handles as the server's do
    (server.Shared): a search never waits on an ingest."""
    if not allow_writes:
        return build_mcp(assistant).run("stdio")
    build_mcp(Shared(assistant), lambda headers: True).run("stdio")
