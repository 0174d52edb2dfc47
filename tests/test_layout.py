"""Sizes a reader can hold: no module over 300 lines, no function over 60 (issue 24).

A function is measured from its `def` line to its last line, decorators left out; a nested
function counts on its own and inside its parent, so a long closure cannot hide in a short name.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "assistant"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60


def function_sizes(source: str) -> list[tuple[str, int, int]]:
    """(name, line of its def, lines) for every function and method in `source`.

    Example: "def f():\\n    x = 1\\n    return x\\n" -> [('f', 1, 3)]
    """
    return [(node.name, node.lineno, node.end_lineno - node.lineno + 1)
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]


def offenders() -> tuple[list[str], list[str]]:
    """(modules over the limit, functions over the limit), each as 'path[:line name]: lines'."""
    modules, functions = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT)
        if (lines := len(source.splitlines())) > MAX_MODULE_LINES:
            modules.append(f"{where}: {lines}")
        functions += [f"{where}:{line} {name}: {size}"
                      for name, line, size in function_sizes(source)
                      if size > MAX_FUNCTION_LINES]
    return modules, functions


def test_function_sizes_measure_def_to_last_line_and_nested_functions_twice():
    assert function_sizes("def f():\n    x = 1\n    return x\n") == [("f", 1, 3)]
    nested = "@decorated\nasync def outer():\n    def inner():\n        pass\n    return inner\n"
    assert sorted(function_sizes(nested)) == [("inner", 3, 2), ("outer", 2, 4)]


def test_no_module_over_300_lines_and_no_function_over_60():
    modules, functions = offenders()
    assert not modules and not functions, (
        f"modules over {MAX_MODULE_LINES} lines: {modules or 'none'}; "
        f"functions over {MAX_FUNCTION_LINES} lines: {functions or 'none'}")
