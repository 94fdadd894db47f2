"""The HTTP contract of the real server: auth, limits, one error shape, request ids, metrics."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from road.runtime.settings import default_bundle

from .server import Server, free_port, server_process

pytestmark = pytest.mark.integration

ENV_KEYS = ("env-key-1", "env-key-2")
FILE_KEY = "file-key-3"
QA = {"question": "Who founded Lyon?", "context": "Lyon was founded by the Romans in 43 BC."}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    keys_file = tmp_path_factory.mktemp("keys") / "keys.txt"
    keys_file.write_text(f"{FILE_KEY}\n\n")
    env = {
        "ROAD_API_KEYS": ",".join(ENV_KEYS),
        "ROAD_API_KEYS_FILE": str(keys_file),
        "ROAD_MAX_BODY_BYTES": "20000",
        "ROAD_MAX_CONTEXT_CHARS": "5000",
        "ROAD_MAX_BATCH_ITEMS": "4",
    }
    with server_process(env=env) as server:
        yield server


def post(
    server: Server, path: str, key: str | None = ENV_KEYS[0], **kwargs: object
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    headers.update(kwargs.pop("headers", {}))  # type: ignore[arg-type]
    return httpx.post(f"{server.url}{path}", headers=headers, timeout=60, **kwargs)  # type: ignore[arg-type]


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"]
    assert set(body) <= {"type", "title", "status", "detail", "field"}
    assert "Traceback" not in response.text
    assert response.headers["x-request-id"]
    return body


def test_keys_from_env_and_file_are_accepted(server: Server):
    for key in (*ENV_KEYS, FILE_KEY):
        assert post(server, "/qa", key, json=QA).status_code == 200
    lower = post(server, "/qa", None, json=QA, headers={"Authorization": f"bearer {FILE_KEY}"})
    assert lower.status_code == 200


@pytest.mark.parametrize(
    "header", [None, "Bearer wrong", "Basic env-key-1", "Bearer", "env-key-1"]
)
def test_requests_without_a_valid_key_get_401(server: Server, header: str | None):
    headers = {"Authorization": header} if header is not None else {}
    response = post(server, "/qa", None, json=QA, headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_exempt_paths_need_no_key_and_others_do(server: Server):
    for path in ("/health/live", "/health/ready", "/health", "/metrics"):
        assert httpx.get(f"{server.url}{path}").status_code == 200
    assert httpx.get(f"{server.url}/openapi.json").status_code == 401


def test_keys_never_reach_the_logs(server: Server):
    post(server, "/qa", "a-wrong-key-value", json=QA)
    text = server.log.read_text()
    for key in (*ENV_KEYS, FILE_KEY, "a-wrong-key-value"):
        assert key not in text


def test_bodies_over_the_limit_get_413_with_or_without_content_length(server: Server):
    big = {"question": "Who?", "context": "word " * 5000}
    assert_problem(post(server, "/qa", json=big), 413)

    def chunks() -> Iterator[bytes]:
        yield b'{"question": "Who?", "context": "'
        for _ in range(100):
            yield b"word " * 100
        yield b'"}'

    chunked = post(server, "/qa", content=chunks(), headers={"content-type": "application/json"})
    assert_problem(chunked, 413)


def test_malformed_json_and_invalid_utf8_get_400(server: Server):
    headers = {"content-type": "application/json"}
    assert_problem(post(server, "/qa", content=b'{"question": "Who?"', headers=headers), 400)
    bad_utf8 = b'{"question": "Who\xff?", "context": "Lyon was founded by the Romans."}'
    assert_problem(post(server, "/qa", content=bad_utf8, headers=headers), 400)


def test_limits_name_the_field_and_the_limit(server: Server):
    long_context = post(server, "/qa", json={"question": "Who?", "context": "a " * 3000})
    body = assert_problem(long_context, 422)
    assert body["field"] == "context" and "5000" in body["detail"]
    long_question = post(server, "/qa", json={"question": "why " * 100, "context": "Lyon."})
    body = assert_problem(long_question, 422)
    assert body["field"] == "question" and "64" in body["detail"]
    too_many = post(server, "/nli/batch", json={"items": [{"premise": "a", "hypothesis": "b"}] * 5})
    body = assert_problem(too_many, 422)
    assert body["field"] == "items" and "4" in body["detail"]
    missing = post(server, "/nli", json={"premise": "a"})
    assert assert_problem(missing, 422)["field"] == "hypothesis"
    assert_problem(post(server, "/qa", json=QA, headers={"X-Request-Timeout-Ms": "soon"}), 422)


def test_unknown_paths_and_methods_use_the_same_shape(server: Server):
    assert_problem(post(server, "/nope", json={}), 404)
    response = httpx.get(f"{server.url}/qa", headers={"Authorization": f"Bearer {ENV_KEYS[0]}"})
    assert_problem(response, 405)


def test_request_ids_are_echoed_and_logged(server: Server):
    response = post(
        server,
        "/nli",
        json={"premise": "A dog runs.", "hypothesis": "An animal."},
        headers={"X-Request-ID": "trace-42.a"},
    )
    assert response.headers["x-request-id"] == "trace-42.a"
    generated = post(server, "/qa", json=QA, headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["x-request-id"] != "bad id with spaces"
    records = [r for r in server.log_records() if r.get("request_id") == "trace-42.a"]
    assert any(r.get("status") == 200 and r.get("path") == "/nli" for r in records)
    assert all(isinstance(r, dict) for r in server.log_records())


def test_metrics_cover_requests_stages_batches_queue_rejections_and_model(server: Server):
    post(server, "/qa", json=QA)
    metrics = server.metrics()
    names = set(metrics)
    assert metrics['road_http_requests_total{endpoint="/qa",status="200"}'] >= 1
    for stage in ("tokenize", "postprocess"):
        stage_count = f'road_stage_duration_seconds_count{{model="road",stage="{stage}",task="qa"}}'
        assert stage_count in names
    assert 'road_queue_wait_seconds_count{model="road",task="qa"}' in names
    inference = 'road_stage_duration_seconds_count{model="road",stage="inference"'
    assert any(n.startswith(inference) for n in names)
    for name in (
        "road_http_request_duration_seconds_count",
        "road_batch_rows_count",
        "road_batch_tokens_count",
        "road_batch_padding_ratio_count",
        "road_queue_rows",
        "road_queue_tokens",
        "road_requests_in_flight",
    ):
        assert any(n.startswith(name) for n in names), name
    assert metrics['road_rejected_requests_total{reason="unauthorized"}'] >= 1
    info = [n for n in names if n.startswith("road_model_info{")]
    assert len(info) == 1 and 'precision="int8"' in info[0] and 'provider="CPU' in info[0]
    assert 'model="road"' in info[0] and 'version="1"' in info[0]
    assert metrics[info[0]] == 1


def refuse(bundle: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "road", "serve", str(bundle), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize("victim", ["model.onnx", "tokenizer.json"])
def test_a_corrupted_bundle_is_refused_at_start_naming_the_file(tmp_path: Path, victim: str):
    broken = tmp_path / "bundle"
    shutil.copytree(default_bundle(), broken)
    data = bytearray((broken / victim).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (broken / victim).write_bytes(bytes(data))
    result = refuse(broken)
    assert result.returncode != 0
    assert victim in result.stderr and "sha256" in result.stderr
    assert "refusing to start" in result.stderr
