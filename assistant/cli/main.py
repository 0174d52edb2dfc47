"""The command line, `assistant COMMAND`, each command with --index DIR: the index commands
here (cluster, ingest, ask, delete, compact, stats, check, eval); serving in serve.py, live
news in live.py and the tools in tools/commands.py."""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

from ..config import INDEX_ENV
from ..errors import AssistantError, BadQuery
from ..tools.commands import TOOL_COMMANDS, add_tool_commands
from .live import (
    LIVE_COMMANDS,
    add_ingest_options,
    add_live_commands,
    index_folder,
    ingest_urls,
    is_url,
    open_index,
)
from .serve import SERVING_COMMANDS, add_serving_commands


def build_parser() -> argparse.ArgumentParser:
    """Every command but `bench` (which parses its own arguments), a group at a time."""
    parser = argparse.ArgumentParser(
        prog="assistant", description="Ask questions of a news archive; get cited passages.")
    common = common_options()
    sub = parser.add_subparsers(dest="command", required=True)
    add_index_commands(sub, common)
    add_tool_commands(sub, common)
    add_serving_commands(sub, common)
    add_live_commands(sub, common)
    return parser


def common_options() -> argparse.ArgumentParser:
    """What every command takes: the index folder, and where a collection's shards run."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index", type=Path, default=None,
                        help=f"index folder (default: ${INDEX_ENV} or ./index)")
    common.add_argument("--ray", metavar="ADDRESS", default=None,
                        help="a sharded collection's shards as Ray actors at ADDRESS ('local' "
                             "starts Ray here); without it they open in this process")
    common.add_argument("--pin-shards", action="store_true",
                        help="with --ray: start shard i only on a node offering the custom "
                             "resource shard-i (the node that holds its folder)")
    return common


def add_build_options(parser: argparse.ArgumentParser) -> None:
    """How a new index (a collection: at init) is built; an index keeps what it was built
    with and refuses another value."""
    parser.add_argument("--max-tokens", type=int, default=0, metavar="N",
                        help="a new index embeds at most N tokens of a passage (default: the "
                             "model's own limit, 256); 128 ingests about 1.7x faster for a "
                             "little recall (docs/performance.md)")


def built_with(args):
    """The index's own settings (the defaults for a new one) with the limit `--max-tokens`
    asks for; None without it."""
    from ..storage.store import settings_for_index

    if not args.max_tokens:
        return None
    return settings_for_index(index_folder(args)).with_(embed_max_tokens=args.max_tokens)


def add_index_commands(sub, common: argparse.ArgumentParser) -> None:
    """The commands of this module, on one index or a collection: make it, fill it, ask it,
    prune it, check it, measure it."""
    p = sub.add_parser("cluster", parents=[common],
                       help="make a sharded collection (init), or end its Ray actors and "
                            "Serve app (stop)")
    p.add_argument("action", choices=["init", "stop"])
    p.add_argument("--shards", type=int, help="init: how many shard folders")
    add_build_options(p)

    p = sub.add_parser("ingest", parents=[common], help="add articles (files, folders, .jsonl[.gz])")
    p.add_argument("paths", nargs="+", help="files, folders, or article URLs (http, https)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_ingest_options(p)
    add_build_options(p)

    p = sub.add_parser("ask", parents=[common], help="the passages that answer a question")
    p.add_argument("question", nargs="?", help="omit it for an interactive prompt")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--as-of", help="only articles dated on or before YYYY-MM-DD")
    p.add_argument("--since", help="only articles dated on or after YYYY-MM-DD")
    p.add_argument("--source", action="append", default=[], help="only this outlet (repeatable)")
    p.add_argument("--json", action="store_true",
                   help="print the whole answer (lead, passages, citations) as JSON")

    p = sub.add_parser("delete", parents=[common], help="remove articles by id")
    p.add_argument("ids", nargs="+")

    p = sub.add_parser("compact", parents=[common],
                       help="drop deleted passages from the keyword index")

    p = sub.add_parser("stats", parents=[common], help="what the index holds")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("check", parents=[common], help="verify the index; --repair rebuilds it")
    p.add_argument("--repair", action="store_true",
                   help="rebuild damaged search files from the stored articles")

    p = sub.add_parser("eval", parents=[common], help="measure retrieval on a RealTime-QA set")
    p.add_argument("set_dir", type=Path)
    p.add_argument("--rebuild", action="store_true", help="re-ingest even if an index exists")
    p.add_argument("--limit", type=int, default=0, help="only the first N questions")
    p.add_argument("--json", action="store_true")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # the benchmark parses its own arguments, --help included
        if "--ray" in argv:  # single index against sharded collections on Ray
            from ..tools.cluster_bench import main as bench
        else:
            from ..tools.bench import main as bench

        return bench(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        if args.command in TOOL_COMMANDS:
            one_index_only(args)
        sets = [getattr(args, "set_dir", None), *getattr(args, "train_sets", [])]
        if missing := [str(p) for p in sets if p is not None and not Path(p).is_dir()]:
            raise BadQuery(f"no such set folder: {', '.join(missing)}")  # before any index
        return COMMANDS[args.command](args)
    except AssistantError as e:
        print(f"assistant: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("assistant: interrupted; the index keeps every batch that completed",
              file=sys.stderr)
        return 130


def one_index_only(args) -> Path:
    """The folder of a command that builds or reads one plain index itself (the tools):
    refused, saying so, for a sharded collection or --ray, where it would write a stray
    index beside the shards."""
    from ..cluster.catalog import is_collection

    folder = index_folder(args)
    if args.ray or is_collection(folder):
        raise BadQuery(f"'assistant {args.command}' works on one index folder, not a sharded "
                       f"collection; give it --index of a plain index")
    return folder


def cmd_ingest(args) -> int:
    assistant = open_index(args, create=True, settings=built_with(args))
    paths = [p for p in args.paths if not is_url(p)]
    status = ingest_urls(assistant, [p for p in args.paths if is_url(p)], args)
    if not paths:
        return status
    report = assistant.ingest(paths, progress=not args.quiet)
    for problem in report.skipped:
        print(f"skipped {problem}", file=sys.stderr)
    print(report.summary())
    return 1 if report.read == 0 and report.skipped else 0


def cmd_ask(args) -> int:
    assistant = open_index(args)
    if args.question is None:
        # every filter checked before the first question (Assistant.query's rules)
        assistant.query("?", args.k, args.as_of, args.since, args.source)
        return _prompt(assistant, args)
    _print_answer(assistant, args.question, args)
    return 0


def _print_answer(assistant, question: str, args, previous=None):
    """One question with every filter the command line was given, printed as asked; read
    with `previous`, the prompt's last answer (a follow-up), which it returns the new one for."""
    answer = assistant.answer(question, k=args.k, as_of=args.as_of, since=args.since,
                              sources=args.source, previous=previous)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer))
    return answer


def _prompt(assistant, args) -> int:
    as_of = args.as_of or assistant.default_as_of()  # Assistant.query's default
    print(f"Ask a question (as of {as_of}); an empty line quits.")
    previous = None  # the last answer: "who is he?" is read with it
    while True:
        try:
            question = input("? ").strip()
        except EOFError:
            return 0
        if not question:
            return 0
        try:
            previous = _print_answer(assistant, question, args, previous)
        except AssistantError as e:
            print(f"assistant: {e}", file=sys.stderr)


def format_answer(answer) -> str:
    """The heading ('nothing in this collection answers that') or the cited lead, then the
    passages with their citations."""
    blocks = [answer.heading or (str(answer.lead) if answer.lead else "")]
    for rank, p in enumerate(answer.passages, 1):
        more = f"\n    (+{len(p.more)} more from this article)" if p.more else ""
        blocks.append(f"[{rank}] {p.citation}\n    {p.text}{more}")
    return "\n\n".join(b for b in blocks if b)


def cmd_delete(args) -> int:
    gone = open_index(args).delete(args.ids)
    print(f"deleted {gone} of {len(args.ids)} articles")
    return 0 if gone else 1


def cmd_compact(args) -> int:
    dropped = open_index(args).compact(progress=True)
    print(f"dropped {dropped} deleted passages from the keyword index")
    return 0


def cmd_stats(args) -> int:
    stats = open_index(args).stats()
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        for key, value in stats.items():
            print(f"{key:>12}: {value}")
    return 0


def cmd_cluster(args) -> int:
    from ..cluster.catalog import create
    from ..config import Settings

    folder = index_folder(args)
    if args.action == "stop":  # detached shard actors outlive every process that used them
        from ..cluster.ray_shards import stop_collection

        actors, app = stop_collection(folder, args.ray)
        print(f"stopped {actors} actors of {folder}" + ("; deleted its Serve app" if app else ""))
        return 0
    create(folder, args.shards, built_with(args) or Settings())
    print(f"made a collection of {args.shards} shards at {folder}")
    return 0


def cmd_check(args) -> int:
    from ..cluster import health
    from ..storage.check import check, repair

    folder = index_folder(args)
    checks: Callable[[Path], list] = check
    repairs: Callable[..., list[str]] = repair
    if health.is_collection(folder):  # its shards, its catalog, and with --ray its actors
        checks, repairs = partial(health.check, ray=args.ray), health.repair
    if args.repair:  # both read the index with the settings it was built with
        for action in repairs(folder, progress=True) or ["nothing to repair"]:
            print(action)
    problems = checks(folder)
    for problem in problems:
        print(f"problem: {problem}")
    print("index is healthy" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


def cmd_eval(args) -> int:
    from ..cluster.catalog import is_collection
    from ..tools.evaluate import run_eval

    opener = None
    if args.ray or (args.index is not None and is_collection(args.index)):
        from ..cluster import eval_opener  # the set's questions asked of a sharded collection

        opener = eval_opener(args.index, args.ray, args.rebuild)
    result = run_eval(args.set_dir, index=args.index, rebuild=args.rebuild, limit=args.limit,
                      progress=not args.json, open_index=opener)
    print(json.dumps(result, indent=2) if args.json else result["table"])
    return 0


COMMANDS = {"cluster": cmd_cluster, "ingest": cmd_ingest, "ask": cmd_ask, "delete": cmd_delete,
            "compact": cmd_compact, "stats": cmd_stats, "check": cmd_check, "eval": cmd_eval,
            **SERVING_COMMANDS, **LIVE_COMMANDS, **TOOL_COMMANDS}
