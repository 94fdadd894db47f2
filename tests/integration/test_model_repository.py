"""The model repository and its v2 extension, with the real `tritonclient.http` client.

The repository holds the committed bundle as `road/1` and `other/1` (symlinks: no copy on disk).
Version 2 of `road` (the same bundle again) is added while the server runs, and loaded while
client threads keep posting `/qa`: none of their requests fails, and the metadata lists version
2 afterwards. A tampered version (one byte of model.onnx changed) is refused, naming the file,
and so is a drifting one (its graph perturbed after export and re-hashed: only its golden rows
tell); version 2 keeps serving. The API keys guard the admin routes.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from road.runtime.settings import default_bundle

from ..golden_graphs import drifting_bundle
from .server import Server, server_process

pytestmark = pytest.mark.integration

QA = {
    "question": "Who founded Lyon?",
    "context": "Lyon is a city of France. The city was founded by the Romans in 43 BC.",
}
KEY = "admin-key-1"
CLIENTS = 3


def link(repository: Path, name: str, version: int, bundle: Path | None = None) -> Path:
    target = repository / name / str(version)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(bundle or default_bundle(), target_is_directory=True)
    return target


def tampered(repository: Path, name: str, version: int) -> Path:
    """A copy of the bundle whose model.onnx has one byte changed (other files hard-linked)."""
    target = repository / name / str(version)
    target.mkdir(parents=True)
    for source in default_bundle().iterdir():
        if source.name != "model.onnx":
            (target / source.name).hardlink_to(source)
    graph = target / "model.onnx"
    shutil.copyfile(default_bundle() / "model.onnx", graph)
    with graph.open("r+b") as handle:
        handle.seek(len(graph.read_bytes()) // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0xFF]))
    return target


@pytest.fixture(scope="module")
def drifting(tmp_path_factory: pytest.TempPathFactory, tiny_data: dict[str, Path]) -> Path:
    """The bundle with golden rows, then its graph perturbed and re-hashed (integrity passes)."""
    dev = {"qa": tiny_data["squad"], "nli": tiny_data["nli"]}
    return drifting_bundle(tmp_path_factory.mktemp("drift") / "bundle", dev)


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    link(root, "road", 1)
    link(root, "other", 1)
    (root / "notes.txt").write_text("not a model")  # files beside the models are ignored
    return root


@pytest.fixture(scope="module")
def server(repository: Path) -> Iterator[Server]:
    with server_process(args=["--model-repository", str(repository)]) as server:
        yield server


@pytest.fixture
def client(server: Server) -> Iterator[triton.InferenceServerClient]:
    client = triton.InferenceServerClient(server.url.removeprefix("http://"), network_timeout=120)
    yield client
    client.close()


def states(client: triton.InferenceServerClient) -> dict[tuple[str, str], str]:
    return {(m["name"], m["version"]): m["state"] for m in client.get_model_repository_index()}


def test_the_index_lists_every_model_and_its_state(client: triton.InferenceServerClient) -> None:
    assert states(client) == {("other", "1"): "READY", ("road", "1"): "READY"}
    assert client.get_model_metadata("road")["versions"] == ["1"]
    assert client.is_model_ready("other", "1")


def test_a_header_names_another_model_for_the_json_routes(server: Server) -> None:
    other = httpx.post(f"{server.url}/qa", json=QA, headers={"X-Road-Model": "other/1"})
    default = httpx.post(f"{server.url}/qa", json=QA)
    assert other.status_code == default.status_code == 200
    assert other.json()["answer"] == default.json()["answer"]
    assert "Romans" in default.json()["answer"]
    missing = httpx.post(f"{server.url}/qa", json=QA, headers={"X-Road-Model": "nope"})
    assert missing.status_code == 404 and "no model 'nope'" in missing.json()["detail"]
    runs = server.metrics()
    assert runs['road_batch_rows_count{model="other"}'] >= 1
    assert runs['road_batch_rows_count{model="road"}'] >= 1


def admin(url: str, path: str, body: dict | None = None) -> httpx.Response:
    """A repository call without tritonclient; a load takes seconds."""
    return httpx.post(f"{url}/v2/repository/{path}", json=body or {}, timeout=120)


def steady_qa(url: str, stop: threading.Event, statuses: list[int]) -> None:
    with httpx.Client(timeout=60) as http:
        while not stop.is_set():
            try:
                statuses.append(http.post(f"{url}/qa", json=QA).status_code)
            except httpx.HTTPError as exc:
                statuses.append(-1)
                print(f"request failed: {exc!r}")


def test_loading_version_2_under_load_drops_no_request(
    server: Server, repository: Path, client: triton.InferenceServerClient
) -> None:
    link(repository, "road", 2)  # copied in while the server runs: the next load sees it
    stop, statuses = threading.Event(), []
    threads = [
        threading.Thread(target=steady_qa, args=(server.url, stop, statuses))
        for _ in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    try:
        while len(statuses) < 10:
            stop.wait(0.05)
        before = len(statuses)
        client.load_model("road")  # no version named: the highest on disk
        during = len(statuses) - before
        stop.wait(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert during > 0, "requests should have been answered while the load ran"
    assert set(statuses) == {200}, [s for s in statuses if s != 200]
    assert client.get_model_metadata("road")["versions"] == ["2"]
    assert client.get_model_metadata("road", "2")["name"] == "road"
    with pytest.raises(InferenceServerException, match="has no version '1'"):
        client.get_model_metadata("road", "1")
    assert states(client)[("road", "2")] == "READY"
    info = [k for k in server.metrics() if k.startswith("road_model_info") and 'model="road"' in k]
    assert len(info) == 1 and 'version="2"' in info[0]
    closed = [r for r in server.log_records() if r.get("message") == "closed model version"]
    assert any(r.get("model") == "road" and r.get("version") == 1 for r in closed)


def test_a_tampered_version_is_refused_and_the_old_one_serves(
    server: Server, repository: Path, client: triton.InferenceServerClient
) -> None:
    tampered(repository, "road", 3)
    with pytest.raises(InferenceServerException) as caught:
        client.load_model("road")  # the highest on disk is now the tampered 3
    message = caught.value.message()
    assert "version 3" in message and "model.onnx: sha256 does not match" in message
    assert client.get_model_metadata("road")["versions"] == ["2"]
    assert httpx.post(f"{server.url}/qa", json=QA).json()["answer"] in ("Romans", "the Romans")
    index = {(m["name"], m["version"]): m for m in client.get_model_repository_index()}
    assert index[("road", "3")]["state"] == "UNAVAILABLE"
    assert "sha256 does not match" in index[("road", "3")]["reason"]
    raw = admin(server.url, "models/road/load")
    assert raw.status_code == 400 and "sha256" in raw.json()["error"]
    failed = server.metrics()['road_model_loads_total{model="road",result="failed"}']
    assert failed == 2  # this call and tritonclient's


def test_a_drifting_version_is_refused_by_its_golden_rows(
    server: Server, repository: Path, drifting: Path, client: triton.InferenceServerClient
) -> None:
    link(repository, "road", 7, drifting)
    with pytest.raises(InferenceServerException) as caught:
        client.load_model(
            "road", config=json.dumps({"version_policy": {"specific": {"versions": [7]}}})
        )
    assert "version 7" in caught.value.message() and "golden rows drift" in caught.value.message()
    assert client.get_model_metadata("road")["versions"] == ["2"]
    assert httpx.post(f"{server.url}/qa", json=QA).json()["answer"] in ("Romans", "the Romans")
    assert any(r.get("message") == "golden rows drift" for r in server.log_records())


def test_a_load_can_name_a_version_to_roll_back(
    server: Server, client: triton.InferenceServerClient
) -> None:
    policy = {"version_policy": {"specific": {"versions": [1]}}}
    client.load_model("road", config=json.dumps(policy))  # Triton's way to name a version
    assert client.get_model_metadata("road")["versions"] == ["1"]
    by_parameter = admin(server.url, "models/road/load", {"parameters": {"version": "2"}})
    assert by_parameter.status_code == 200
    assert client.get_model_metadata("road")["versions"] == ["2"]
    absent = admin(server.url, "models/road/load", {"parameters": {"version": 9}})
    assert absent.status_code == 404 and "no version 9 on disk" in absent.json()["error"]


def test_unload_stops_serving_a_model(server: Server, client: triton.InferenceServerClient) -> None:
    client.unload_model("other")
    assert states(client)[("other", "1")] in {"UNAVAILABLE", "UNLOADING"}
    with pytest.raises(InferenceServerException, match="no model 'other' is served"):
        client.get_model_metadata("other")
    gone = httpx.post(f"{server.url}/qa", json=QA, headers={"X-Road-Model": "other"})
    assert gone.status_code == 404
    assert httpx.post(f"{server.url}/qa", json=QA).status_code == 200
    ready = admin(server.url, "index", {"ready": True}).json()
    assert {(m["name"], m["state"]) for m in ready} == {("road", "READY")}
    with pytest.raises(InferenceServerException, match="no model 'nope'"):
        client.unload_model("nope")


@pytest.fixture(scope="module")
def keyed() -> Iterator[Server]:
    """No repository, keys on: the default bundle is road/1, nothing to load."""
    with server_process(env={"ROAD_API_KEYS": KEY}) as server:
        yield server


def test_admin_routes_need_a_key_and_a_repository(keyed: Server) -> None:
    for path in ("index", "models/road/load", "models/road/unload"):
        refused = admin(keyed.url, path)
        assert refused.status_code == 401, path
        assert "API key" in refused.json()["error"]
    client = triton.InferenceServerClient(keyed.url.removeprefix("http://"), network_timeout=60)
    headers = {"Authorization": f"Bearer {KEY}"}
    index = client.get_model_repository_index(headers=headers)
    assert index == [{"name": "road", "version": "1", "state": "READY", "reason": ""}]
    with pytest.raises(InferenceServerException, match="no model repository"):
        client.load_model("road", headers=headers)
    with pytest.raises(InferenceServerException, match="no model repository"):
        client.unload_model("road", headers=headers)
    client.close()
