"""The command-line reference, docs/cli.md, written from the parsers themselves so it cannot
drift from the code: `python -m assistant.tools.cli_reference > docs/cli.md`.

`assistant.cli.main.build_parser()` gives every command but `bench`, which parses its own
arguments (cli/main.py hands them to tools/bench.py, or with --ray to tools/cluster_bench.py);
those two parsers are caught as their `main` starts to parse, so nothing of a benchmark runs.
"""
from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path
from unittest import mock

REGENERATE = "python -m assistant.tools.cli_reference > docs/cli.md"
WIDTH = 100  # usage lines wrap here, whatever the terminal's width
REPO = Path(__file__).resolve().parents[2]


class _Built(Exception):
    def __init__(self, parser: argparse.ArgumentParser):
        self.parser = parser


def parser_of(main) -> argparse.ArgumentParser:
    """The parser that `main(argv)` builds, caught at its parse_args: nothing after it runs."""
    def caught(parser, *args, **kwargs):
        raise _Built(parser)

    with mock.patch.object(argparse.ArgumentParser, "parse_args", caught):
        try:
            main([])
        except _Built as built:
            return built.parser
    raise LookupError(f"{main.__module__}.main returned without parsing arguments")


def own_parsers() -> list[argparse.ArgumentParser]:
    """`assistant bench` and `assistant bench --ray`, as cli.main dispatches them."""
    from .bench import main as bench
    from .cluster_bench import main as ray_bench

    return [parser_of(bench), parser_of(ray_bench)]


def commands(parser: argparse.ArgumentParser) -> list[tuple[argparse.ArgumentParser, str]]:
    """Every subcommand's parser with its one-line help, in the order they were added,
    subcommands of subcommands after their parent."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                found.append((sub, helps.get(name, "")))
                found.extend(commands(sub))
    return found


def shown_path(path: Path) -> str:
    """A path default as any checkout would show it: the home folder as ~, the repository's
    neighbours relative to it. Example: $HOME/.cache/x -> '~/.cache/x'"""
    path = Path(path)
    home = Path.home()
    if path.is_absolute() and path.is_relative_to(home) and \
            path.relative_to(home).parts[:1] and path.relative_to(home).parts[0].startswith("."):
        return str(Path("~") / path.relative_to(home))
    if path.is_absolute() and path.is_relative_to(REPO.parent):
        return os.path.relpath(path, REPO)
    return str(path)


def default_text(action: argparse.Action) -> str:
    """Example: --k with default 5 -> '`5`'; --limit 0 -> '`0`'; a flag, [] or None -> ''"""
    value = action.default
    if action.nargs == 0 or value is None or value is argparse.SUPPRESS or value in ([], ""):
        return ""
    if isinstance(value, Path):
        value = shown_path(value)
    return f"`{value}`"


def invocation(action: argparse.Action, formatter: argparse.HelpFormatter) -> str:
    """Example: --as-of -> '--as-of AS_OF'; positional paths (nargs='+') -> 'paths [paths ...]'"""
    if action.option_strings:
        return formatter._format_action_invocation(action)
    return formatter._format_args(action, formatter._get_default_metavar_for_positional(action))


def cell(text: str) -> str:
    """Example: 'list | add' -> 'list \\\\| add' (a pipe would end the table's cell)"""
    return " ".join(text.split()).replace("|", "\\|")


def table(actions: list[argparse.Action], prog: str) -> list[str]:
    formatter = argparse.HelpFormatter(prog, width=WIDTH)
    rows = ["| argument | default | what it does |", "|---|---|---|"]
    for action in actions:
        help_text = formatter._expand_help(action) if action.help else ""
        rows.append(f"| `{cell(invocation(action, formatter))}` | {default_text(action)} "
                    f"| {cell(help_text)} |")
    return rows


def usage(parser: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(parser.prog, width=WIDTH)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip()


def documented(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The actions a reader needs: not --help, not the subcommand slot itself."""
    return [a for a in parser._actions if a.help != argparse.SUPPRESS
            and not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))]


def wrap(text: str) -> str:
    return textwrap.fill(text, WIDTH, break_long_words=False, break_on_hyphens=False)


def anchor(title: str) -> str:
    """GitHub's heading anchor. Example: 'assistant bench --ray' -> 'assistant-bench---ray'"""
    return "".join(c for c in title.lower().replace(" ", "-") if c.isalnum() or c in "-_")


def passes_through(parser: argparse.ArgumentParser) -> bool:
    """A subcommand that hands all its arguments on (bench), documented by its own parser."""
    return any(a.nargs == argparse.REMAINDER for a in parser._actions)


def section(parser: argparse.ArgumentParser, summary: str, shared: list) -> list[str]:
    own = [a for a in documented(parser) if a not in shared]
    also = [a.option_strings[-1] for a in documented(parser) if a in shared]
    lines = [f"## {parser.prog}", ""]
    if summary:
        lines += [summary[0].upper() + summary[1:] + ".", ""]
    if parser.description:
        lines += [parser.description.strip(), ""]
    lines += ["```", usage(parser), "```", ""]
    if own:
        lines += table(own, parser.prog) + [""]
    if also:
        lines += ["Also the [common options](#common-options): "
                  + ", ".join(f"`{o}`" for o in also) + ".", ""]
    return lines


def render() -> str:
    """The whole of docs/cli.md."""
    from ..cli.main import build_parser

    top = build_parser()
    listed = [(p, s) for p, s in commands(top) if not passes_through(p)]
    listed += [(p, "") for p in own_parsers()]
    uses: dict[argparse.Action, int] = {}
    for parser, _ in listed:
        for action in documented(parser):
            uses[action] = uses.get(action, 0) + 1
    # a parent parser's action is the same object in every command built from it
    shared = [a for a, n in uses.items() if n > 1]
    intro = (f"{top.description} Generated from the parsers by `{REGENERATE}`; do not edit "
             "it by hand: `tests/test_cli_reference.py` fails when it and the parsers differ. "
             "`python -m assistant ...` works the same, and every command takes `-h` / `--help`.")
    index = "Commands: " + ", ".join(f"[{p.prog.removeprefix('assistant ')}](#{anchor(p.prog)})"
                                     for p, _ in listed) + "."
    lines = ["# Command-line reference", "", wrap(intro), "", wrap(index), ""]
    if shared:
        lines += ["## Common options", "", "Taken by the commands whose section names them.",
                  ""] + table(shared, top.prog) + [""]
    for parser, summary in listed:
        lines += section(parser, summary, shared)
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
