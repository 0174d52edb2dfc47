"""docs/cli.md is the parsers' own reference: regenerated, never edited, and checked here."""
import argparse
from pathlib import Path

import pytest
from helpers import ROOT

from assistant.cli.main import build_parser
from assistant.tools import cli_reference as ref


def test_docs_cli_md_matches_the_parsers():
    page = ROOT / "docs" / "cli.md"
    assert page.is_file(), f"docs/cli.md is missing: run `{ref.REGENERATE}`"
    assert page.read_text() == ref.render(), (
        f"docs/cli.md is stale (the command line changed): run `{ref.REGENERATE}`")


def test_the_reference_has_every_command_and_option():
    text = ref.render()
    for parser, _ in ref.commands(build_parser()):
        if not ref.passes_through(parser):
            assert f"## {parser.prog}\n" in text
            for action in ref.documented(parser):
                assert any(f"`{o}" in text for o in action.option_strings or [""])
    assert "## assistant bench\n" in text and "## assistant bench --ray\n" in text
    assert "`--store-scale STORE_SCALE`" in text and "`--kills KILLS` | `3` |" in text
    assert "`--as-of AS_OF` |  | only articles dated on or before YYYY-MM-DD |" in text
    assert "| `--index INDEX` |" in text.split("## assistant")[0]  # once, as a common option


def demo_main(argv):
    parser = argparse.ArgumentParser(prog="demo")
    parser.add_argument("--n", type=int, default=3)
    parser.parse_args(argv)
    raise AssertionError("ran past parsing")


def test_parser_of_catches_the_parser_and_runs_nothing_after_it():
    parser = ref.parser_of(demo_main)
    assert parser.prog == "demo"
    assert parser.parse_args(["--n", "4"]).n == 4  # parse_args is itself again
    with pytest.raises(LookupError):
        ref.parser_of(lambda argv: 0)


def test_commands_lists_nested_subcommands_after_their_parent():
    top = argparse.ArgumentParser(prog="x")
    sub = top.add_subparsers()
    a = sub.add_parser("a", help="first")
    a.add_subparsers().add_parser("inner", help="deep")
    sub.add_parser("b")
    assert [(p.prog, h) for p, h in ref.commands(top)] == [
        ("x a", "first"), ("x a inner", "deep"), ("x b", "")]
    assert ref.commands(argparse.ArgumentParser()) == []


@pytest.mark.parametrize("kwargs, shown", [
    ({"default": 5}, "`5`"), ({"default": 0}, "`0`"), ({"default": None}, ""),
    ({"default": []}, ""), ({"default": ""}, ""), ({"action": "store_true"}, ""),
    ({"default": "local"}, "`local`")])
def test_default_text(kwargs, shown):
    action = argparse.ArgumentParser().add_argument("--x", **kwargs)
    assert ref.default_text(action) == shown


def test_shown_path_is_the_same_on_every_checkout():
    assert ref.shown_path(Path.home() / ".cache" / "x") == "~/.cache/x"
    assert ref.shown_path(ref.REPO.parent / "shared" / "eval") == "../shared/eval"
    assert ref.shown_path(Path("relative/dir")) == "relative/dir"


def test_invocation_cell_and_anchor():
    parser = argparse.ArgumentParser(prog="p")
    formatter = argparse.HelpFormatter("p")
    paths = parser.add_argument("paths", nargs="+")
    as_of = parser.add_argument("--as-of")
    assert ref.invocation(paths, formatter) == "paths [paths ...]"
    assert ref.invocation(as_of, formatter) == "--as-of AS_OF"
    assert ref.cell("list | add\n  remove") == "list \\| add remove"
    assert ref.anchor("assistant bench --ray") == "assistant-bench---ray"
    assert ref.anchor("") == ""
