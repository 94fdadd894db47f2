"""Failure isolation, deadlines and disconnects: the real server with a test-only session wrapper.

The server runs from tests/integration/faulty_server.py (the documented `wrap_run` hook) on the
real default bundle; the wrapper records a fingerprint of every row it runs.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from road.core.bundle import load_manifest
from road.core.nli import NLIEncoder
from road.runtime.settings import default_bundle

from .faulty_server import fingerprint
from .server import FAULTY, Server, server_process

pytestmark = pytest.mark.integration

RUN_S = 1.0  # every session run of the slow server takes this long
PREMISE = "The museum in Lyon holds paintings donated by local families."


def nli_encoder() -> NLIEncoder:
    manifest = load_manifest(default_bundle(), verify=False)
    assert manifest.tasks.nli is not None
    return NLIEncoder.from_file(default_bundle(), manifest.tasks.nli.max_seq_len)


def fingerprint_of(hypothesis: str) -> str:
    return fingerprint(nli_encoder().encode([PREMISE], [hypothesis])[0].input_ids)


def runs(record: Path) -> list[dict]:
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


def wait_running(record: Path, hypothesis: str, timeout_s: float = 30) -> None:
    """Block until the session wrapper has begun the run holding this pair."""
    wanted = fingerprint_of(hypothesis)
    deadline = time.monotonic() + timeout_s
    while not any(wanted in run["rows"] for run in runs(record)):
        assert time.monotonic() < deadline, "the busy request never reached the session"
        time.sleep(0.01)


def nli(url: str, hypothesis: str, **kwargs: object) -> httpx.Response:
    body = {"premise": PREMISE, "hypothesis": hypothesis}
    return httpx.post(f"{url}/nli", json=body, timeout=kwargs.pop("timeout", 60), **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    record = tmp_path_factory.mktemp("faults") / "runs.jsonl"
    env = {
        "ROAD_TEST_DELAY_S": str(RUN_S),
        "ROAD_TEST_RECORD": str(record),
        "ROAD_REQUEST_TIMEOUT_S": "0.3",
        "ROAD_MAX_BATCH_SIZE": "1",
        "ROAD_MAX_WAIT_MS": "0",
    }
    with server_process(env=env, entry=FAULTY) as server:
        yield server, record


def in_background(call: object) -> tuple[threading.Thread, list[httpx.Response]]:
    results: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: results.append(call()))  # type: ignore[operator]
    thread.start()
    return thread, results


def test_deadline_default_and_header_give_504_and_never_run(slow_server: tuple[Server, Path]):
    server, record = slow_server
    busy, busy_result = in_background(
        lambda: nli(
            server.url, "Families gave paintings.", headers={"X-Request-Timeout-Ms": "20000"}
        )
    )
    wait_running(record, "Families gave paintings.")
    started = time.monotonic()
    # Both wait behind the busy run: one with the default deadline (0.3 s), one with 0.1 s.
    by_default, default_result = in_background(lambda: nli(server.url, "The museum is closed."))
    by_header, header_result = in_background(
        lambda: nli(server.url, "The museum is large.", headers={"X-Request-Timeout-Ms": "100"})
    )
    by_default.join()
    by_header.join()
    elapsed = time.monotonic() - started
    busy.join()
    assert busy_result[0].status_code == 200
    for response in (default_result[0], header_result[0]):
        assert response.status_code == 504
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["title"] == "Deadline exceeded"
    assert elapsed < RUN_S, "a 504 should not wait for the busy run ahead of it"
    ran = {row for run in runs(record) for row in run["rows"]}
    assert fingerprint_of("Families gave paintings.") in ran
    assert fingerprint_of("The museum is closed.") not in ran
    assert fingerprint_of("The museum is large.") not in ran
    metrics = server.metrics()
    assert metrics.get('road_rejected_requests_total{reason="deadline_exceeded"}') == 2
    assert metrics.get('road_dropped_rows_total{model="road",reason="deadline"}') == 2


def test_a_disconnected_client_is_dropped_before_inference_and_counted(
    slow_server: tuple[Server, Path],
):
    server, record = slow_server
    # A busy pair of its own: the deadline test's busy pair is already in the record, so waiting
    # for it would not wait for this test's run to begin.
    busy, busy_result = in_background(
        lambda: nli(
            server.url,
            "Local families donated the paintings.",
            headers={"X-Request-Timeout-Ms": "20000"},
        )
    )
    wait_running(record, "Local families donated the paintings.")
    with pytest.raises(httpx.ReadTimeout):
        # The client gives up after 0.15 s and closes its connection while its row is queued.
        nli(
            server.url,
            "The paintings are old.",
            headers={"X-Request-Timeout-Ms": "20000"},
            timeout=0.15,
        )
    busy.join()
    assert busy_result[0].status_code == 200
    time.sleep(RUN_S + 0.3)  # anything still queued would have run by now
    ran = {row for run in runs(record) for row in run["rows"]}
    assert fingerprint_of("The paintings are old.") not in ran
    metrics = server.metrics()
    assert metrics.get('road_rejected_requests_total{reason="client_gone"}') == 1
    assert metrics.get('road_dropped_rows_total{model="road",reason="cancelled"}') == 1
    # The server goes on serving.
    assert (
        nli(server.url, "A museum exists.", headers={"X-Request-Timeout-Ms": "20000"}).status_code
        == 200
    )


def test_an_inference_error_fails_only_its_batch(tmp_path: Path):
    record = tmp_path / "runs.jsonl"
    poison_word = "zebra"
    token = nli_encoder().tokenizer.token_to_id(poison_word)
    env = {
        "ROAD_TEST_FAIL_TOKEN": str(token),
        "ROAD_TEST_RECORD": str(record),
        "ROAD_TEST_DELAY_S": "0.05",
        "ROAD_MAX_BATCH_SIZE": "3",
        "ROAD_MAX_WAIT_MS": "50",
    }
    hypotheses = [f"The museum holds {n} paintings." for n in range(11)]
    with server_process(env=env, entry=FAULTY) as server:
        record.write_text("")  # forget the warm-up runs
        singles = {h: nli(server.url, h).json() for h in hypotheses}
        record.write_text("")
        poison = f"A {poison_word} visited the museum."
        texts = [poison, *hypotheses]
        responses: dict[str, httpx.Response] = {}
        threads = [
            threading.Thread(target=lambda t=t: responses.__setitem__(t, nli(server.url, t)))
            for t in texts
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        after = nli(server.url, "The museum opened again.")

    failed_rows = {row for run in runs(record) if run["failed"] for row in run["rows"]}
    ok_runs = [run for run in runs(record) if not run["failed"]]
    assert ok_runs, "the burst should have spread over several batches"
    for text in texts:
        response = responses[text]
        if fingerprint_of(text) in failed_rows:
            assert response.status_code == 500
            body = response.json()
            assert body["title"] == "Inference failed"
            assert "Traceback" not in response.text and "injected" not in response.text
        else:
            assert response.status_code == 200, response.text
            assert response.json()["label"] == singles[text]["label"]
    assert responses[poison].status_code == 500
    assert after.status_code == 200
