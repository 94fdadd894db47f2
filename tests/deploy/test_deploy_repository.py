"""The chart's model repository values: a repository on a claim or fetched by init containers,
pinned versions and the default model, as the server reads them (ROAD_MODEL_* settings).

The ci/repository-*-values.yaml scenarios are also linted, schema-checked, validated against the
Kubernetes schemas and policy-checked with every other scenario (test_deploy_chart.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest

from road.service.settings import ServerSettings

from .deploy_helpers import CHART, NAMESPACE, RELEASE, Manifest, load_values, one

Render = Callable[..., list[Manifest]]
DIGEST = "ab" * 32


def scenario(render: Render, name: str) -> list[Manifest]:
    return render(load_values(CHART / "ci" / f"{name}-values.yaml"))


def pod(objects: list[Manifest], kind: str = "Deployment") -> Manifest:
    obj = one(objects, kind)
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def server_settings(objects: list[Manifest], monkeypatch: pytest.MonkeyPatch) -> ServerSettings:
    """The settings the server builds from the chart's ConfigMap."""
    for key, value in one(objects, "ConfigMap")["data"].items():
        monkeypatch.setenv(key, value)
    return ServerSettings()


def test_a_repository_on_a_claim(render: Render, monkeypatch: pytest.MonkeyPatch) -> None:
    objects = scenario(render, "repository-pvc")
    data = one(objects, "ConfigMap")["data"]
    assert "ROAD_BUNDLE" not in data
    settings = server_settings(objects, monkeypatch)
    assert settings.model_repository == Path("/models/repository")
    assert settings.model_versions == {"road": 2}
    assert settings.default_model == "road"
    spec = pod(objects)
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["model"]["persistentVolumeClaim"] == {
        "claimName": "road-models",
        "readOnly": True,
    }
    assert "initContainers" not in spec


def test_a_repository_fetched_by_init_containers(
    render: Render, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = scenario(render, "repository-url")
    entries = load_values(CHART / "ci" / "repository-url-values.yaml")["model"]["repository"]
    spec = pod(objects)
    fetches = spec["initContainers"]
    assert [c["name"] for c in fetches] == ["fetch-road-1", "fetch-road-2", "fetch-intent-1"]
    for fetch, entry in zip(fetches, entries["models"]):
        env = {e["name"]: e["value"] for e in fetch["env"]}
        assert env["BUNDLE_URL"] == entry["url"] and env["BUNDLE_SHA256"] == entry["sha256"]
        assert env["BUNDLE_DEST"] == f"/models/{entry['name']}/{entry['version']}"
        assert "hashlib.sha256" in fetch["command"][-1]
        assert {m["name"]: m for m in fetch["volumeMounts"]}["model"]["mountPath"] == "/models"
    settings = server_settings(objects, monkeypatch)
    assert settings.model_repository == Path("/models")
    assert settings.model_versions == {} and settings.default_model is None
    server_mount = {m["name"]: m for m in spec["containers"][0]["volumeMounts"]}["model"]
    assert server_mount == {"name": "model", "mountPath": "/models", "readOnly": True}


def test_the_batch_job_scores_with_the_default_models_pinned_version(render: Render) -> None:
    values = load_values(CHART / "ci" / "repository-pvc-values.yaml")
    values["batch"] = {"cronJob": {"enabled": True}, "data": {"existingClaim": "road-data"}}
    command = pod(render(values), "CronJob")["containers"][0]["command"]
    assert command[command.index("--bundle") + 1] == "/models/repository/road/2"


def test_without_a_repository_the_chart_sets_the_bundle(render: Render) -> None:
    data = one(render({}), "ConfigMap")["data"]
    assert data["ROAD_BUNDLE"] == "/opt/road/bundle"
    assert not any(key.startswith("ROAD_MODEL_") for key in data)


URL_REPO = {"source": "url", "repository": {"enabled": True}}
PVC_REPO = {"source": "pvc", "pvc": {"claimName": "c"}, "repository": {"enabled": True}}
ENTRY = {"name": "road", "version": 1, "url": "https://m.example/r.tgz", "sha256": DIGEST}


@pytest.mark.parametrize(
    "model",
    [
        {"repository": {"enabled": True}},  # source=image has no repository
        URL_REPO,  # nothing to fetch
        {**URL_REPO, "repository": {"enabled": True, "models": [{**ENTRY, "sha256": "x"}]}},
        {**URL_REPO, "repository": {"enabled": True, "models": [{"name": "road", "version": 1}]}},
        {**URL_REPO, "repository": {"enabled": True, "models": [{**ENTRY, "version": -1}]}},
        {**URL_REPO, "repository": {"enabled": True, "models": [{**ENTRY, "name": "../x"}]}},
        {"source": "pvc", "pvc": {"claimName": "c"}, "repository": {"versions": {"road": "two"}}},
        {"source": "pvc", "pvc": {"claimName": "c"}, "repository": {"versions": {"a/b": 1}}},
    ],
)
def test_the_schema_refuses_bad_repository_values(render: Render, model: dict[str, Any]) -> None:
    with pytest.raises(helm.HelmValuesError):
        render({"model": model})


def test_a_url_repository_needs_no_single_bundle_url(render: Render) -> None:
    objects = render({"model": {**URL_REPO, "repository": {"enabled": True, "models": [ENTRY]}}})
    assert [c["name"] for c in pod(objects)["initContainers"]] == ["fetch-road-1"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"model": {"repository": {"enabled": True}}}, "needs model.source pvc or url"),
        ({"model": URL_REPO}, "model.repository.models is required"),
        (
            {
                "model": {
                    "source": "pvc",
                    "pvc": {"claimName": "c"},
                    "repository": {"enabled": True},
                },
                "batch": {"job": {"enabled": True}, "data": {"existingClaim": "d"}},
            },
            'needs model.repository.versions to pin the default model "road"',
        ),
    ],
)
def test_templates_refuse_bad_repository_values_without_the_schema(
    tmp_path: Path, values: dict[str, Any], message: str
) -> None:
    copy = tmp_path / "road"
    shutil.copytree(CHART, copy)
    (copy / "values.schema.json").unlink()
    with helm.Chart.load(copy) as unchecked, pytest.raises(helm.HelmRenderError, match=message):
        unchecked.render(values, name=RELEASE, namespace=NAMESPACE)
