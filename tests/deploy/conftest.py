"""Fixtures for the deployment tests: the Helm chart rendered offline with Helm's own engine.

helm-python-sdk (import name helm_python) binds Helm's Go SDK through ctypes, so no helm binary
and no cluster are needed. Helpers and policy checks live in deploy_helpers.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .deploy_helpers import CHART, NAMESPACE, RELEASE, Manifest, parse_rendered


@pytest.fixture(scope="session")
def chart() -> Iterator[Any]:
    import helm_python as helm

    with helm.Chart.load(CHART) as loaded:
        yield loaded


@pytest.fixture(scope="session")
def render_raw(chart: Any) -> Callable[..., dict[str, str]]:
    """Render the chart with `values` (merged over values.yaml, as `helm template` does)."""

    def _render(values: dict[str, Any] | None = None, *, revision: int = 1) -> dict[str, str]:
        return chart.render(
            values or {}, name=RELEASE, namespace=NAMESPACE, revision=revision, is_install=True
        )

    return _render


@pytest.fixture(scope="session")
def render(render_raw: Callable[..., dict[str, str]]) -> Callable[..., list[Manifest]]:
    def _render(values: dict[str, Any] | None = None, **kwargs: Any) -> list[Manifest]:
        return parse_rendered(render_raw(values, **kwargs))

    return _render
