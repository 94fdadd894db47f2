"""Golden rows at start: a drift refuses readiness for good, with the reason; warn serves."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from road.core.errors import NotReady
from road.service.settings import ServerSettings
from road.service.state import AppState

from ..golden_graphs import drifting_bundle


@pytest.fixture(scope="module")
def drifting(tmp_path_factory: pytest.TempPathFactory, tiny_data: dict[str, Path]) -> Path:
    dev = {"qa": tiny_data["squad"], "nli": tiny_data["nli"]}
    return drifting_bundle(tmp_path_factory.mktemp("drift") / "bundle", dev)


def started(bundle: Path, check: str) -> tuple[AppState, str, str]:
    settings = ServerSettings(bundle=bundle, intra_op_threads=1, golden_check=check)
    state = AppState(settings)

    async def scenario() -> tuple[str, str]:
        await state.start()
        try:
            with state.lease():
                leased = "served"
        except NotReady as exc:
            leased = str(exc)
        finally:
            await state.stop()
        return state.health().status, leased

    status, leased = asyncio.run(scenario())
    return state, status, leased


@pytest.mark.integration
def test_a_drift_at_start_refuses_readiness_with_the_reason(drifting: Path) -> None:
    state, status, leased = started(drifting, "enforce")
    assert status == "refused" and not state.ready
    assert state.refused is not None and "golden rows drift" in state.refused
    assert "golden rows drift" in leased
    assert state.health().detail == state.refused


@pytest.mark.integration
def test_warn_serves_a_drifting_bundle(drifting: Path) -> None:
    state, status, leased = started(drifting, "warn")
    assert state.refused is None and leased == "served"
