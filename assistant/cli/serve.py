"""The serving commands of the command line: `serve` (the web chat and HTTP API, MCP at /mcp)
and `mcp` (the agents' tools over stdio). cli.py adds them with one call."""
from __future__ import annotations

import argparse

from .live import add_serve_options, index_folder, open_index


def add_serving_commands(sub, common: argparse.ArgumentParser) -> None:
    """`mcp` and `serve`, on `cli.build_parser`'s subparsers."""
    p = sub.add_parser("mcp", parents=[common],
                       help="the search as tools for LLM agents (MCP over stdio)")
    p.add_argument("--allow-writes", action="store_true",
                   help="offer the add_articles tool (default: read-only)")

    p = sub.add_parser("serve", parents=[common], help="the web chat and HTTP API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    guard = p.add_mutually_exclusive_group()
    guard.add_argument("--token", help="the token writes need (default: $ASSISTANT_TOKEN, else "
                                       "a new one each start, printed in the URL to open)")
    guard.add_argument("--no-token", action="store_true",
                       help="no token: any program or web page that reaches the server may write")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="another name this server answers to (besides 127.0.0.1, localhost, "
                        "::1 and --host); repeatable")
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="a web origin (https://example.org) whose pages may call the API; "
                        "repeatable")
    p.add_argument("--replicas", type=int, default=1,
                   help="with --ray: this many Ray Serve replicas of the server")
    add_serve_options(p)


def cmd_mcp(args) -> int:
    from ..serving.agent_stdio import run_stdio

    run_stdio(open_index(args), allow_writes=args.allow_writes)
    return 0


def cmd_serve(args) -> int:
    from ..serving.server import serve

    if args.ray:  # a collection behind Ray Serve
        from ..serving.ray_serve import serve_forever

        serve_forever(index_folder(args), args.ray, args.replicas, args.host,
                      args.port, args.token, args.no_token, args.allow_host, args.allow_origin,
                      pin=args.pin_shards)
        return 0
    serve(open_index(args, create=True), host=args.host, port=args.port, token=args.token,
          no_token=args.no_token, allow_hosts=args.allow_host, allow_origins=args.allow_origin,
          follow_every=args.follow, allow_private=args.allow_private)
    return 0


SERVING_COMMANDS = {"mcp": cmd_mcp, "serve": cmd_serve}
