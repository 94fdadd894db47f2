"""Tiny model: `road train` → `road export` → `road serve`, checked through HTTP."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from road.core.qa_decode import decode_answers
from road.runtime.session import Runtime

from .server import FAULTY, free_port, running_server, server_process

pytestmark = pytest.mark.integration

CONTEXT = (
    "Johannes Gutenberg introduced printing to Europe around 1440. His press used movable "
    "metal type and oil-based ink."
)


@pytest.fixture(scope="module")
def tiny_bundle(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from road.export.pipeline import export_bundle

    out = tmp_path_factory.mktemp("bundle") / "tiny"
    export_bundle(tiny_checkpoint, out, precision="fp32")
    return out


def direct_answer(bundle: Path, question: str, context: str) -> tuple[str, int, int]:
    """The same question answered without HTTP: runtime + the shared decoder, one window each."""
    runtime = Runtime.load(bundle)
    windows = runtime.heads["qa"].encoder.encode([question], [context])[0]  # type: ignore[attr-defined]
    starts, ends = [], []
    for window in windows:
        n = len(window)
        inputs = {
            "input_ids": window.input_ids[None],
            "attention_mask": np.ones((1, n), dtype=np.int64),
            "token_type_ids": window.token_type_ids[None],
        }
        out = runtime.run(inputs)
        starts.append(out["start_logits"][0])
        ends.append(out["end_logits"][0])
    qa = runtime.manifest.tasks.qa
    best = decode_answers(
        windows,
        starts,
        ends,
        context,
        max_answer_len=qa.max_answer_len,
        null_threshold=qa.null_threshold,
    ).answers[0]
    return best.text, best.start, best.end


def test_train_export_serve_round_trip(tiny_bundle: Path):
    question = "Who introduced printing to Europe?"
    with running_server(tiny_bundle) as url:
        qa = httpx.post(f"{url}/qa", json={"question": question, "context": CONTEXT}, timeout=30)
        nli = httpx.post(
            f"{url}/nli", json={"premise": CONTEXT, "hypothesis": "Printing came late."}
        )
    assert qa.status_code == 200 and nli.status_code == 200
    body = qa.json()
    assert CONTEXT[body["start"] : body["end"]] == body["answer"]
    assert (body["answer"], body["start"], body["end"]) == direct_answer(
        tiny_bundle, question, CONTEXT
    )
    assert set(nli.json()["scores"]) == {"entailment", "neutral", "contradiction"}


def test_tampered_bundle_is_refused_at_start(tiny_bundle: Path, tmp_path: Path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_bundle, broken)
    with (broken / "tokenizer.json").open("a") as handle:
        handle.write(" ")
    result = subprocess.run(
        [sys.executable, "-m", "road", "serve", str(broken), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "tokenizer.json" in result.stdout + result.stderr
    assert "sha256" in result.stdout + result.stderr


def test_sigterm_drains_in_flight_requests_and_exits_zero(tiny_bundle: Path):
    # Each session run sleeps first (the test-only slow-model hook), so the four requests are
    # still in flight when SIGTERM lands, however fast the machine.
    env = {"ROAD_TEST_DELAY_S": "0.02"}
    with server_process(tiny_bundle, env=env, entry=FAULTY) as server:
        results: list[int] = []
        item = {"question": "Who introduced printing?", "context": CONTEXT * 20}

        def call() -> None:
            response = httpx.post(f"{server.url}/qa/batch", json={"items": [item] * 16}, timeout=60)
            results.append(response.status_code)

        clients = [threading.Thread(target=call) for _ in range(4)]
        for client in clients:
            client.start()
        wait_in_flight(server.url, len(clients))
        server.process.send_signal(signal.SIGTERM)
        for client in clients:
            client.join()
        assert server.process.wait(timeout=60) == 0, server.log.read_text()
    assert results == [200] * len(clients)


def wait_in_flight(url: str, count: int, timeout_s: float = 30) -> None:
    """Block until the server reports `count` requests in flight (so SIGTERM hits real work)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in httpx.get(f"{url}/metrics").text.splitlines():
            # The /metrics call itself is in flight too.
            if line.startswith("road_requests_in_flight ") and float(line.split()[1]) >= count + 1:
                return
        time.sleep(0.01)
    raise TimeoutError("requests never reached the server")
