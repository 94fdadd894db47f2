"""A bundle may hold any subset of tasks: a QA-only bundle serves QA only, and every route of
the task it lacks answers 404 with a problem+json body."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from road.core.bundle import MANIFEST, Tasks, load_manifest, write_manifest
from road.runtime.settings import default_bundle

from .server import server_process


@pytest.fixture(scope="module")
def qa_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default bundle with the NLI task left out of its manifest (its head stays unused)."""
    bundle = tmp_path_factory.mktemp("qa-only") / "bundle"
    shutil.copytree(default_bundle(), bundle)
    manifest = load_manifest(bundle)
    assert manifest.tasks.qa is not None
    (bundle / MANIFEST).unlink()
    write_manifest(bundle, manifest.model_copy(update={"tasks": Tasks(qa=manifest.tasks.qa)}))
    return bundle


def test_a_qa_only_bundle_serves_qa_and_refuses_nli_with_404(qa_only: Path) -> None:
    question = {"question": "Who founded Lyon?", "context": "The Romans founded Lyon."}
    pair = {"premise": "A man plays.", "hypothesis": "A person plays."}
    with server_process(qa_only) as server:
        for path in ("/qa", "/v1/tasks/qa"):
            answer = httpx.post(f"{server.url}{path}", json=question, timeout=30)
            assert answer.status_code == 200 and "answer" in answer.json()
        for path in ("/nli", "/nli/batch", "/v1/tasks/nli", "/v1/tasks/nli/batch", "/v1/tasks/x"):
            refused = httpx.post(f"{server.url}{path}", json=pair, timeout=30)
            assert refused.status_code == 404, path
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["status"] == 404
        paths = httpx.get(f"{server.url}/openapi.json", timeout=30).json()["paths"]
        assert {"/qa", "/qa/batch", "/v1/tasks/qa"} <= set(paths)
        assert not any("nli" in path for path in paths)
