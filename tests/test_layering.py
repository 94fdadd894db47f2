"""Layering: the batch job and export build on the model layer (road.runtime), never on HTTP.

The package sources are read with `ast`, not imported: every `import` and `from ... import`
counts, including lazy ones inside functions and `TYPE_CHECKING` blocks, and relative imports
are resolved. A module "reaches" everything its imports reach, so `road.score` may not get to
`road.service` through another package either.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[1]
HTTP = "road.service"
# Packages that must never reach the HTTP package.
NO_HTTP = ("road.score", "road.export", "road.runtime", "road.core")


def package_dirs() -> dict[str, Path]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    mapping = config["tool"]["setuptools"]["package-dir"]
    return {package: REPO / directory for package, directory in mapping.items()}


def package_modules() -> dict[str, Path]:
    """Every module of the distribution, by dotted name, from pyproject's package-dir."""
    modules: dict[str, Path] = {}
    for package, directory in package_dirs().items():
        for path in sorted(directory.rglob("*.py")):
            parts = path.relative_to(directory).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join((package, *parts))] = path
    return modules


def _in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def imported_names(source: str, module: str, is_package: bool) -> Iterator[str]:
    """Dotted names `source` (the text of `module`) imports, anywhere in its body.

    For `from X import y`, both X and X.y are yielded: y may be a submodule.
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # A package's own name is its anchor; a module's anchor is its package.
                anchor = module.split(".")
                if not is_package:
                    anchor = anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            yield base
            for alias in node.names:
                if alias.name != "*":
                    yield f"{base}.{alias.name}"


def module_edges(names: Iterable[str], modules: Collection[str]) -> set[str]:
    """The package modules (and road.service names) loading `names` runs: a.b.c runs a, a.b."""
    edges: set[str] = set()
    for name in names:
        parts = name.split(".")
        prefixes = (".".join(parts[:i]) for i in range(1, len(parts) + 1))
        edges.update(p for p in prefixes if p in modules or _in_package(p, HTTP))
    return edges


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module → the modules its imports load."""
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        source = path.read_text(encoding="utf-8")
        names = imported_names(source, module, is_package=path.name == "__init__.py")
        graph[module] = module_edges(names, modules) - {module}
    return graph


def http_path(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    """The first import chain from `start` into road.service, or None."""
    seen = {start}
    stack: list[list[str]] = [[start]]
    while stack:
        chain = stack.pop()
        for nxt in sorted(graph.get(chain[-1], ())):
            if _in_package(nxt, HTTP):
                return [*chain, nxt]
            if nxt not in seen:
                seen.add(nxt)
                stack.append([*chain, nxt])
    return None


MODULES = package_modules()
GRAPH = import_graph(MODULES)


def test_the_walk_sees_the_whole_distribution() -> None:
    packages = set(package_dirs())
    assert {"road.runtime", "road.service", "road.score", "road.export"} <= packages
    assert len(MODULES) >= 60, sorted(MODULES)
    for package, least in (("road.runtime", 8), ("road.score", 8), ("road.export", 10)):
        found = [m for m in MODULES if _in_package(m, package)]
        assert len(found) >= least, (package, found)
    # It sees real edges: the batch job builds on the model layer, the server on both.
    score_imports = {t for m in MODULES if _in_package(m, "road.score") for t in GRAPH[m]}
    assert {"road.runtime.session", "road.runtime.heads", "road.runtime.packing"} <= score_imports
    assert "road.runtime.session" in GRAPH["road.score.scorer"]
    assert "road.runtime.providers" in GRAPH["road.export.pipeline"]
    assert "road.runtime.session" in GRAPH["road.service.state"]
    # road.cli imports the server lazily, inside `serve`: the walk counts it.
    assert "road.service.main" in GRAPH["road.cli"]


@pytest.mark.parametrize(
    "module", sorted(m for m in MODULES if any(_in_package(m, p) for p in NO_HTTP))
)
def test_the_model_layer_and_its_users_never_reach_http(module: str) -> None:
    chain = http_path(module, GRAPH)
    assert chain is None, f"{module} reaches {HTTP}: {' -> '.join(chain or [])}"


def test_a_lazy_or_relative_import_of_the_server_is_caught() -> None:
    """The checker itself can fail: each of these sources would break the layering."""
    sources = [
        "def run():\n    from road.service.settings import ServerSettings\n",
        "import road.service.main as m\n",
        "from road import service\n",
        "from ..service import routes\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from road.service import x\n",
    ]
    for source in sources:
        names = imported_names(source, "road.score.fake", is_package=False)
        graph = {**GRAPH, "road.score.fake": module_edges(names, MODULES)}
        assert http_path("road.score.fake", graph) is not None, source
    # Through another module: score -> runtime -> service is caught too.
    graph = {
        **GRAPH,
        "road.runtime.fake": {"road.service.app"},
        "road.score.fake": {"road.runtime.fake"},
    }
    chain = http_path("road.score.fake", graph)
    assert chain == ["road.score.fake", "road.runtime.fake", "road.service.app"]
    # What is allowed stays allowed, and relative imports resolve inside the package.
    source = "from . import scorer\nfrom ..runtime import heads\n"
    edges = module_edges(imported_names(source, "road.score.fake", False), MODULES)
    assert {"road.score.scorer", "road.runtime.heads"} <= edges
    assert not any(_in_package(name, HTTP) for name in edges)


def package_path(start: str, package: str, graph: dict[str, set[str]]) -> list[str] | None:
    """The first import chain from `start` into `package`, or None."""
    seen = {start}
    stack: list[list[str]] = [[start]]
    while stack:
        chain = stack.pop()
        for nxt in sorted(graph.get(chain[-1], ())):
            if _in_package(nxt, package):
                return [*chain, nxt]
            if nxt not in seen:
                seen.add(nxt)
                stack.append([*chain, nxt])
    return None


def test_training_never_reaches_export() -> None:
    """Export builds on training (it evaluates checkpoints); the reverse import is a cycle.

    The ablation runner, which trains, exports and times, lives in bench/ for that reason.
    """
    assert "road.training.evaluate" in GRAPH["road.export.pipeline"]
    for module in sorted(m for m in MODULES if _in_package(m, "road.training")):
        chain = package_path(module, "road.export", GRAPH)
        assert chain is None, f"{module} reaches road.export: {' -> '.join(chain or [])}"
    graph = {**GRAPH, "road.training.fake": {"road.training.loop", "road.export.pipeline"}}
    assert package_path("road.training.fake", "road.export", graph) is not None
