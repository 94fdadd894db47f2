"""Open Inference Protocol v2 with the real `tritonclient.http` client against the real server.

The committed default bundle is model `road`, version 1. Inference through v2 gives the answers
`/qa` and `/nli` give for the same inputs: one row against the single route, N rows against the
batch route (the INT8 bundle's logits depend on batch mates, so like is compared with like).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from .server import FAULTY, Server, server_process

pytestmark = pytest.mark.integration

LYON = (
    "Lyon is the third-largest city of France. It is located at the confluence of the rivers "
    "Rhône and Saône. The city was founded by the Romans in 43 BC under the name Lugdunum."
)
QA_ROWS = [
    {"question": "Who founded Lyon?", "context": LYON},
    {"question": "Which rivers meet at Lyon?", "context": LYON},
    {"question": "What was Lyon called?", "context": LYON},
]
NLI_ROWS = [
    {"premise": LYON, "hypothesis": "Lyon was founded by the Romans."},
    {"premise": LYON, "hypothesis": "Lyon was founded by the Greeks."},
    {"premise": "A man is playing a guitar on stage.", "hypothesis": "A man performs music."},
]
MAX_ITEMS = 4


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with server_process(env={"ROAD_MAX_BATCH_ITEMS": str(MAX_ITEMS)}) as server:
        yield server


@pytest.fixture
def client(server: Server) -> Iterator[triton.InferenceServerClient]:
    client = triton.InferenceServerClient(server.url.removeprefix("http://"), network_timeout=60)
    yield client
    client.close()


def tensors(rows: list[dict[str, str]], binary: bool) -> list[triton.InferInput]:
    inputs = []
    for name in rows[0]:
        tensor = triton.InferInput(name, [len(rows)], "BYTES")
        tensor.set_data_from_numpy(np.array([row[name] for row in rows], dtype=object), binary)
        inputs.append(tensor)
    return inputs


def infer(
    client: triton.InferenceServerClient, rows: list[dict[str, str]], binary: bool
) -> triton.InferResult:
    """Binary: tritonclient's defaults (binary inputs, every output binary); else JSON both ways."""
    if binary:
        return client.infer("road", tensors(rows, True))
    names = ["answer", "start", "end", "score"] if "question" in rows[0] else ["label", "scores"]
    wanted = [triton.InferRequestedOutput(name, binary_data=False) for name in names]
    return client.infer("road", tensors(rows, False), outputs=wanted)


def json_answers(server: Server, path: str, rows: list[dict[str, str]]) -> list[dict]:
    if len(rows) == 1:
        return [httpx.post(f"{server.url}{path}", json=rows[0], timeout=60).json()]
    body = httpx.post(f"{server.url}{path}/batch", json={"items": rows}, timeout=60).json()
    return body["results"]


def text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def test_health_and_server_metadata(client: triton.InferenceServerClient) -> None:
    assert client.is_server_live()
    assert client.is_server_ready()
    metadata = client.get_server_metadata()
    assert metadata["name"] == "road"
    assert "binary_tensor_data" in metadata["extensions"]


def test_model_metadata_lists_version_1_and_every_tasks_tensors(
    client: triton.InferenceServerClient,
) -> None:
    metadata = client.get_model_metadata("road")
    assert metadata["name"] == "road"
    assert metadata["versions"] == ["1"]
    assert metadata["platform"] == "onnxruntime_onnx"
    inputs = {t["name"]: (t["datatype"], t["shape"]) for t in metadata["inputs"]}
    assert inputs == {name: ("BYTES", [-1]) for name in QA_ROWS[0] | NLI_ROWS[0]}
    outputs = {t["name"]: (t["datatype"], t["shape"]) for t in metadata["outputs"]}
    assert outputs == {
        "answer": ("BYTES", [-1]),
        "start": ("INT64", [-1]),
        "end": ("INT64", [-1]),
        "score": ("FP32", [-1]),
        "label": ("BYTES", [-1]),
        "scores": ("FP32", [-1, 3]),
    }
    assert client.get_model_metadata("road", "1") == metadata
    assert client.is_model_ready("road")
    assert client.is_model_ready("road", "1")
    assert not client.is_model_ready("road", "2")
    with pytest.raises(InferenceServerException, match="no model 'other'"):
        client.get_model_metadata("other")


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
@pytest.mark.parametrize("count", [1, 3], ids=["one-row", "three-rows"])
def test_qa_infer_equals_the_qa_route(
    client: triton.InferenceServerClient, server: Server, binary: bool, count: int
) -> None:
    rows = QA_ROWS[:count]
    result = infer(client, rows, binary)
    expected = json_answers(server, "/qa", rows)
    assert result.get_response()["parameters"]["task"] == "qa"
    assert result.as_numpy("answer").shape == (count,)
    assert [text(a) for a in result.as_numpy("answer")] == [e["answer"] for e in expected]
    assert result.as_numpy("start").tolist() == [e["start"] for e in expected]
    assert result.as_numpy("end").tolist() == [e["end"] for e in expected]
    assert result.as_numpy("start").dtype == np.int64
    scores = result.as_numpy("score")
    assert scores.dtype == np.float32
    assert scores.tolist() == pytest.approx([e["score"] for e in expected], rel=1e-6)
    assert any("Romans" in e["answer"] for e in expected)


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
@pytest.mark.parametrize("count", [1, 3], ids=["one-row", "three-rows"])
def test_nli_infer_equals_the_nli_route(
    client: triton.InferenceServerClient, server: Server, binary: bool, count: int
) -> None:
    rows = NLI_ROWS[:count]
    result = infer(client, rows, binary)
    expected = json_answers(server, "/nli", rows)
    labels = result.get_output("scores")["parameters"]["labels"].split(",")
    assert labels == ["entailment", "neutral", "contradiction"]
    assert [text(label) for label in result.as_numpy("label")] == [e["label"] for e in expected]
    scores = result.as_numpy("scores")
    assert scores.shape == (count, 3)
    for row, answer in zip(scores, expected):
        assert row.tolist() == pytest.approx([answer["scores"][k] for k in labels], rel=1e-6)


def test_the_task_parameter_picks_the_task(client: triton.InferenceServerClient) -> None:
    result = client.infer("road", tensors(NLI_ROWS[:1], True), parameters={"task": "nli"})
    assert result.get_response()["parameters"]["task"] == "nli"
    with pytest.raises(InferenceServerException, match="task 'qa' takes inputs") as caught:
        client.infer("road", tensors(NLI_ROWS[:1], True), parameters={"task": "qa"})
    assert caught.value.status() == "400"


def test_bad_inputs_get_the_v2_error_shape(
    client: triton.InferenceServerClient, server: Server
) -> None:
    wrong = [{"questionz": "Who?", "context": LYON}]
    with pytest.raises(InferenceServerException, match="no task takes inputs") as caught:
        client.infer("road", tensors(wrong, True))
    assert caught.value.status() == "400"
    malformed = httpx.post(f"{server.url}/v2/models/road/infer", content=b"{not json", timeout=30)
    assert malformed.status_code == 400
    assert list(malformed.json()) == ["error"]
    unknown = httpx.get(f"{server.url}/v2/models/road/versions/7", timeout=30)
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "model 'road' has no version '7' (served: 1)"}
    # The JSON routes keep problem+json.
    assert httpx.post(f"{server.url}/qa", json={}, timeout=30).json()["status"] == 422


def test_the_json_routes_limits_and_deadlines_apply(
    client: triton.InferenceServerClient,
) -> None:
    too_many = [QA_ROWS[0]] * (MAX_ITEMS + 1)
    with pytest.raises(InferenceServerException, match="items is too long") as caught:
        client.infer("road", tensors(too_many, True))
    assert caught.value.status() == "422"
    with pytest.raises(InferenceServerException, match="deadline passed") as caught:
        client.infer("road", tensors(QA_ROWS[:1], True), headers={"X-Request-Timeout-Ms": "1e-6"})
    assert caught.value.status() == "504"


def test_a_full_server_refuses_v2_requests_with_429() -> None:
    """One request in flight at most, a slow model: v2 calls beside steady /qa calls get 429."""
    env = {"ROAD_TEST_DELAY_S": "0.5", "ROAD_MAX_IN_FLIGHT": "1", "ROAD_ACCESS_LOG": "false"}
    with server_process(env=env, entry=FAULTY) as server:
        stop = threading.Event()

        def hold() -> None:
            while not stop.is_set():
                httpx.post(f"{server.url}/qa", json=QA_ROWS[0], timeout=60)

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            body = {"inputs": [
                {"name": n, "datatype": "BYTES", "shape": [1], "data": [v]}
                for n, v in QA_ROWS[0].items()
            ]}  # fmt: skip
            refused, statuses, until = None, set(), time.monotonic() + 30
            while refused is None and time.monotonic() < until:
                response = httpx.post(f"{server.url}/v2/models/road/infer", json=body, timeout=60)
                statuses.add(response.status_code)
                if response.status_code == 429:
                    refused = response
        finally:
            stop.set()
            holder.join()
    assert statuses <= {200, 429}
    assert refused is not None
    assert refused.json() == {"error": "the server is overloaded, retry later"}
    assert int(refused.headers["Retry-After"]) >= 1
