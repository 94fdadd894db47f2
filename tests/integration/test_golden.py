"""Golden rows with the real server process: the shipped bundle passes, a graph perturbed after
export (integrity re-hashed) is refused readiness with the drift logged, and a bundle from before
golden rows still serves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from road.core.bundle import load_manifest, write_manifest
from road.runtime.golden import GOLDEN_FILE
from road.runtime.settings import default_bundle
from tests.golden_graphs import bundle_copy, perturb_graph

from .server import REPO, Server, free_port, server_process, stop


@contextmanager
def started_server(bundle: Path, timeout_s: float = 180) -> Iterator[Server]:
    """`road serve BUNDLE` until its health answers with a final status (ready or refused)."""
    port = free_port()
    env = {**os.environ, "ROAD_HOST": "127.0.0.1", "ROAD_INTRA_OP_THREADS": "1",
           "ROAD_DRAIN_DELAY_S": "0"}  # fmt: skip
    log = tempfile.NamedTemporaryFile("w+", prefix="road-golden-", suffix=".log", delete=False)  # noqa: SIM115
    command = [sys.executable, "-m", "road", "serve", str(bundle), "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                               text=True)  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", process, Path(log.name))
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert process.poll() is None, server.log.read_text()
            try:
                status = httpx.get(f"{server.url}/health/ready", timeout=2).json()["status"]
                if status in ("ready", "refused"):
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        yield server
    finally:
        stop(process)
        log.close()
        os.unlink(log.name)


@pytest.fixture(scope="module")
def perturbed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bundle = bundle_copy(default_bundle(), tmp_path_factory.mktemp("perturbed") / "bundle")
    perturb_graph(bundle, factor=1.5)
    load_manifest(bundle)  # integrity passes: only the golden rows can tell
    return bundle


def test_the_shipped_bundle_passes_its_golden_rows_at_start() -> None:
    with server_process() as server:
        records = [r for r in server.log_records() if r["message"] == "golden rows pass"]
        ready = httpx.get(f"{server.url}/v2/health/ready", timeout=10)
    golden = json.loads((default_bundle() / GOLDEN_FILE).read_text())
    assert ready.status_code == 200
    (record,) = records
    assert record["golden_rows"] == len(golden["rows"]) > 40
    assert record["golden_status"] == "pass" and record["golden_drifts"] == []


def test_a_graph_perturbed_after_export_is_refused_readiness_and_logged(perturbed: Path) -> None:
    with started_server(perturbed) as server:
        assert httpx.get(f"{server.url}/health/live", timeout=10).status_code == 200
        ready = httpx.get(f"{server.url}/health/ready", timeout=10)
        v2_ready = httpx.get(f"{server.url}/v2/health/ready", timeout=10)
        model_ready = httpx.get(f"{server.url}/v2/models/road/ready", timeout=10)
        question = {"question": "Who founded Lyon?", "context": "The Romans founded Lyon."}
        answer = httpx.post(f"{server.url}/qa", json=question, timeout=10)
        records = server.log_records()
    assert ready.status_code == 503 and ready.json()["status"] == "refused"
    assert "golden rows drift" in ready.json()["detail"]
    assert v2_ready.status_code == 503 and v2_ready.json() == {"ready": False}
    assert model_ready.status_code == 503, model_ready.text
    assert "golden rows drift" in model_ready.json()["error"]
    assert answer.status_code == 503 and "golden rows drift" in answer.json()["detail"]
    (drift,) = [r for r in records if r["message"] == "golden rows drift"]
    assert drift["level"] == "ERROR" and drift["golden_status"] == "drift"
    assert drift["golden_max_logit_diff"] > drift["golden_tolerance"]["logit_atol"]
    named = drift["golden_drifts"][0]["row"]
    assert named.split("/")[0] in ("qa", "nli") and named in ready.json()["detail"]
    assert any(r["message"].startswith("refusing readiness") for r in records)
    assert not any(r["message"] == "ready" for r in records)


def test_a_bundle_from_before_golden_rows_still_serves_with_a_warning(tmp_path: Path) -> None:
    bundle = bundle_copy(default_bundle(), tmp_path / "old")
    (bundle / GOLDEN_FILE).unlink()
    write_manifest(bundle, load_manifest(bundle, verify=False))
    with server_process(bundle) as server:
        question = {"question": "Who founded Lyon?", "context": "The Romans founded Lyon."}
        answer = httpx.post(f"{server.url}/qa", json=question, timeout=30)
        records = server.log_records()
    assert answer.status_code == 200 and answer.json()["answer"]
    warnings = [r for r in records if "has no golden rows" in r["message"]]
    assert warnings and warnings[0]["level"] == "WARNING"
