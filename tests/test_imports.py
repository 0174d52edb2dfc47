"""Imports point one way: no module of the package imports, even late or only for type
hints, a module that imports it back. A circle makes each module's meaning depend on the
other and on which is loaded first; a one-way graph can be read and tested from the leaves up.
"""
from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path

PACKAGE = "assistant"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE


def module_name(path: Path) -> str:
    """Example: assistant/storage/keyword.py -> 'assistant.storage.keyword';
    assistant/__init__.py -> 'assistant'"""
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, modules: set[str]) -> set[str]:
    """The package modules that `path` imports anywhere in its body: at the top, inside a
    function, or under `if TYPE_CHECKING:` (a type hint is still a dependency).
    `from . import x` counts as importing the module x when x is one, else the package."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            submodules = {f"{base}.{alias.name}" for alias in node.names} & modules
            found |= submodules
            if node.module or not submodules:
                found.add(base)
    return {m for m in found if m in modules and m != name}


@functools.cache  # parsed once a run: five tests read it, none changes it
def import_graph() -> dict[str, set[str]]:
    paths = [p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts]
    modules = {module_name(p) for p in paths}
    return {module_name(p): imported(p, modules) for p in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a path that ends where it starts, or None.

    Example: {'a': {'b'}, 'b': {'a'}, 'c': {'a'}} -> ['a', 'b', 'a']
    """
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            cycle = visit(target, path + [node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def test_find_cycle_reports_a_circle_and_passes_a_tree():
    assert find_cycle({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == ["a", "b", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_relative_imports_resolve_to_package_modules():
    graph = import_graph()
    assert "assistant.reading.words" in graph["assistant.storage.keyword"]
    assert "assistant.assistant" in graph["assistant"]  # from .assistant import Assistant


def test_the_package_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_words_is_a_leaf():
    """Search, rankers and lead all read words through it; it must not reach back up."""
    assert import_graph()["assistant.reading.words"] == set()


def test_the_library_and_the_command_line_load_no_web_stack():
    """A program that only retrieves installs and imports no Gradio, FastAPI or uvicorn."""
    code = ("import sys, assistant, assistant.cli.main; from assistant import Assistant; "
            "print(sorted(m for m in ('gradio', 'fastapi', 'uvicorn', 'starlette') "
            "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]"


def test_serving_without_the_web_extra_says_how_to_install_it():
    from assistant.serving.server import missing_web_packages

    assert missing_web_packages() == []  # this install has the extra
    assert missing_web_packages(lambda name: None if name == "gradio" else object()) == ["gradio"]


TOOLS = "assistant.tools"
# The command line (and `python -m assistant`, which runs it) offers the tools as commands,
# imported when one runs.
TOOL_USERS = {"assistant.cli.main", "assistant.__main__"}


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Example: ({'a': {'b'}, 'b': {'c'}, 'c': set()}, 'a') -> {'b', 'c'}"""
    seen, todo = set(), [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def is_tool(module: str) -> bool:
    return module == TOOLS or module.startswith(TOOLS + ".")


def test_reachable_follows_imports_through_modules():
    assert reachable({"a": {"b"}, "b": {"c"}, "c": set()}, "a") == {"b", "c"}


def test_the_runtime_imports_no_tool():
    """Benchmarks, load test, tuning and training measure and train the runtime; the runtime
    never needs them, so a library user loads none and a tool cannot change an answer."""
    graph = import_graph()
    assert any(is_tool(m) for m in graph) and is_tool("assistant.tools.bench")
    runtime = [m for m in graph if not is_tool(m) and m not in TOOL_USERS]
    assert "assistant.assistant" in runtime and "assistant.search.retrieve" in runtime
    offenders = {m: sorted(t for t in graph[m] if is_tool(t)) for m in runtime}
    assert not {m: t for m, t in offenders.items() if t}, offenders
    assert not [m for m in runtime if graph[m] & TOOL_USERS], "runtime imports a tool user"
    assert not any(is_tool(m) for m in reachable(graph, "assistant"))


# The data flow, bottom up: a module imports modules of its own layer and of the layers below
# it, never above ("an arrow back up"). A subpackage is one layer; a top-level module is its own.
LAYERS = [
    "assistant.config assistant.errors assistant.types",  # the leaves
    "assistant.reading",  # files in, articles and passages out
    "assistant.embedding",  # texts in, vectors out
    "assistant.storage",  # the index folder
    "assistant.search",  # a question in, ranked passages out
    "assistant.answering",  # passages in, an answer out
    "assistant.live",  # feeds, pages, watched folders (the front door opens their store)
    "assistant.assistant",  # the front door, Assistant
    "assistant.cluster",  # a sharded collection: ClusterAssistant is an Assistant
    "assistant",  # the package: Assistant, Answer, connect (a folder or a collection)
    "assistant.serving",  # HTTP, the chat, MCP, Ray Serve
    "assistant.cli assistant.__main__",  # the command line
    "assistant.tools",  # evaluation, benchmarks, training: measure everything above
]
# The arrows back up that remain, each with its reason; the command line's to the tools
# (TOOL_USERS) are the other kind allowed, as the tool rule above allows them.
ARROWS_UP = {
    ("assistant.storage.check", "assistant.assistant"):
        "repair rebuilds an index by ingesting its stored articles through the front door",
}


def layer_of(module: str) -> str:
    """Example: 'assistant.storage.keyword' -> 'assistant.storage'; 'assistant.config' ->
    'assistant.config'; 'assistant' -> 'assistant'"""
    return ".".join(module.split(".")[:2])


def arrows_up(graph: dict[str, set[str]], rank: dict[str, int]) -> list[tuple[str, str]]:
    """The imports from a module to one of a higher layer, by `rank` of layer.

    Example: ({'a.x': {'a.y'}, 'a.y': {'a.x'}}, {'a.x': 0, 'a.y': 1}) -> [('a.x', 'a.y')]
    """
    return sorted((module, target) for module, targets in graph.items() for target in targets
                  if rank[layer_of(target)] > rank[layer_of(module)])


def test_layer_of_and_arrows_up_find_an_import_of_a_higher_layer():
    assert layer_of("assistant.storage.keyword") == "assistant.storage"
    assert layer_of("assistant.config") == "assistant.config" and layer_of("assistant") == "assistant"
    rank = {"p.low": 0, "p.high": 1}
    graph = {"p.low.a": {"p.low.b", "p.high.c"}, "p.low.b": set(), "p.high.c": {"p.low.a"}}
    assert arrows_up(graph, rank) == [("p.low.a", "p.high.c")]
    assert arrows_up({"p.high.c": {"p.low.a"}, "p.low.a": set()}, rank) == []


def test_imports_follow_the_data_flow_with_no_arrow_back_up():
    """Each subpackage's __init__ says what it owns and what it may import; this holds them
    to it. A new top-level module or subpackage must be given its place in LAYERS."""
    graph = import_graph()
    rank = {name: i for i, layer in enumerate(LAYERS) for name in layer.split()}
    assert not {layer_of(m) for m in graph} - set(rank), "modules with no place in LAYERS"
    up = [(m, t) for m, t in arrows_up(graph, rank)
          if (m, t) not in ARROWS_UP and not (m in TOOL_USERS and is_tool(t))]
    assert up == [], "arrows back up: " + ", ".join(f"{m} -> {t}" for m, t in up)
    assert set(ARROWS_UP) <= {(m, t) for m in graph for t in graph[m]}, "a stale exception"
