"""Tasks are data: no package module compares against the default tasks' names, and no module
is longer than about 300 lines.

The names "qa" and "nli" are declared once, in `road.core.tasks` (the default task set);
everything else, the `/qa` and `/nli` aliases included, refers to them through that module.
The sources are read with `ast`, so a comparison hidden in a lambda or a `match` is caught too.
"""

from __future__ import annotations

import ast

import pytest

from tests.test_layering import package_modules

NAMES = frozenset({"qa", "nli"})
DECLARED_IN = frozenset({"road.core.tasks"})
MAX_LINES = 300


def _literals(node: ast.AST) -> set[str]:
    """The default task names among a node's string constants (a tuple or set of them too)."""
    found = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and child.value in NAMES:
            found.add(child.value)
    return found


def name_comparisons(source: str) -> list[tuple[int, str]]:
    """(line, name) of every comparison or `match` case against a default task name."""
    hits = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            hits += [(node.lineno, name) for op in operands for name in _literals(op)]
        elif isinstance(node, ast.match_case):
            hits += [(node.pattern.lineno, name) for name in _literals(node.pattern)]
    return sorted(hits)


def test_the_check_catches_comparisons() -> None:
    source = (
        "if task == 'qa': pass\n"
        "span = kind if name in ('nli', 'x') else None\n"
        "match task:\n    case 'qa':\n        pass\n"
        "label = 'qa'\n"  # a plain string is not a comparison
    )
    assert name_comparisons(source) == [(1, "qa"), (2, "nli"), (4, "qa")]


MODULES = package_modules()


@pytest.mark.parametrize("module", sorted(set(MODULES) - DECLARED_IN))
def test_no_module_compares_against_a_default_task_name(module: str) -> None:
    assert name_comparisons(MODULES[module].read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_short(module: str) -> None:
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{MODULES[module]}: {lines} lines"
