"""No import cycles inside road.score: the job knows the engines, the engines never the job.

The graph is the AST walk of tests/test_layering.py, so lazy imports inside functions count:
`job.run_job` importing `ray_engine` in a function while `ray_engine` imports `job` is a cycle.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from tests.test_layering import GRAPH, MODULES, _in_package, imported_names, module_edges

PACKAGE = "road.score"


def cycles(graph: Mapping[str, Set[str]], package: str) -> list[list[str]]:
    """Each import cycle among `package`'s modules, as the chain that closes it."""
    inside = {m: {n for n in graph.get(m, ()) if _in_package(n, package)} for m in graph}
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(module: str, chain: list[str]) -> None:
        for nxt in sorted(inside.get(module, ())):
            if nxt in chain:
                found.append([*chain[chain.index(nxt) :], nxt])
            elif nxt not in done:
                visit(nxt, [*chain, nxt])
        done.add(module)

    for module in sorted(m for m in inside if _in_package(m, package)):
        if module not in done:
            visit(module, [module])
    return found


def test_the_walk_sees_the_job_and_both_engines() -> None:
    score = {m for m in MODULES if _in_package(m, PACKAGE)}
    assert {"road.score.job", "road.score.local", "road.score.ray_engine"} <= score
    # The lazy import of the Ray engine is an edge too.
    assert {"road.score.local", "road.score.ray_engine"} <= GRAPH["road.score.job"]
    assert "road.score.plan" in GRAPH["road.score.local"]


def test_road_score_has_no_import_cycle() -> None:
    assert cycles(GRAPH, PACKAGE) == []


def test_a_cycle_through_a_lazy_import_is_caught() -> None:
    """The old shape: the engines imported the job, which imports them inside `run_job`."""
    source = "from road.score.plan import Plan\nfrom road.score.job import summary\n"
    engine = module_edges(imported_names(source, "road.score.local", False), MODULES)
    graph = {**GRAPH, "road.score.local": engine}
    assert ["road.score.job", "road.score.local", "road.score.job"] in cycles(graph, PACKAGE)
    # A longer ring is caught once, whichever module the walk starts from.
    ring = {
        "road.score.a": {"road.score.b"},
        "road.score.b": {"road.score.c", "road.runtime.session"},
        "road.score.c": {"road.score.a"},
    }
    assert cycles(ring, PACKAGE) == [
        ["road.score.a", "road.score.b", "road.score.c", "road.score.a"]
    ]
    # Edges leaving the package are no cycle of it.
    assert cycles({"road.score.a": {"road.core.x"}, "road.core.x": {"road.score.a"}}, PACKAGE) == []
