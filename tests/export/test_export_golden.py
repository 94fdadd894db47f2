"""Export writes golden rows with the shipped graph; a fresh server passes them, a graph perturbed
after export fails them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from road.core.bundle import load_manifest
from road.core.errors import GoldenDrift
from road.runtime.golden import GOLDEN_FILE, check_golden, read_golden
from road.runtime.golden_build import LOGIT_ATOL
from road.runtime.providers import CPU
from road.runtime.session import Runtime, SessionOptions
from tests.golden_graphs import bundle_copy, perturb_graph
from tests.integration.server import server_process

ONE_THREAD = SessionOptions(intra_op_threads=1)


@pytest.mark.parametrize("name", ["fp32_bundle", "int8_bundle"])
def test_export_writes_hashed_golden_rows_for_every_task(
    name: str, request: pytest.FixtureRequest
) -> None:
    bundle: Path = request.getfixturevalue(name)
    manifest = load_manifest(bundle)
    assert GOLDEN_FILE in manifest.files
    golden = read_golden(bundle, manifest)
    assert golden is not None and golden.provider == CPU
    assert golden.precision == manifest.precision
    assert golden.tolerances[CPU].logit_atol == LOGIT_ATOL[CPU][manifest.precision]
    tasks = {row.task for row in golden.rows}
    assert tasks == set(manifest.tasks.root)
    # The tiny dev files: 5 answerable questions + 1 unanswerable + the long example; 6 + 1 pairs.
    assert sum(row.id.endswith("-neg") for row in golden.rows) == 1
    assert len(golden.rows) == 14
    assert check_golden(Runtime.load(bundle, ONE_THREAD)).status == "pass"


def test_a_fresh_server_passes_the_exported_rows(fp32_bundle: Path) -> None:
    with server_process(fp32_bundle) as server:
        ready = httpx.get(f"{server.url}/health/ready", timeout=10)
        records = [r for r in server.log_records() if r["message"] == "golden rows pass"]
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert len(records) == 1 and records[0]["golden_rows"] == 14


def test_the_golden_check_refuses_a_graph_perturbed_after_export(
    fp32_bundle: Path, tmp_path: Path
) -> None:
    bundle = bundle_copy(fp32_bundle, tmp_path / "perturbed")
    perturb_graph(bundle, factor=2.0)
    runtime = Runtime.load(bundle, ONE_THREAD)  # the re-hashed manifest verifies
    with pytest.raises(GoldenDrift, match="logits differ by") as err:
        check_golden(runtime)
    assert len(err.value.rows) == 14
