"""The Helm chart deploy/helm/road: lint, render every ci/ scenario, validate, enforce policies.

Everything runs offline: Helm's Go SDK (helm-python-sdk) renders and lints, kubernetes-validate
checks each object against the Kubernetes OpenAPI schemas of the versions below.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from .deploy_helpers import (
    CHART,
    NAMESPACE,
    RELEASE,
    SCENARIOS,
    Manifest,
    by_kind,
    image_violation,
    load_values,
    mutated,
    one,
    parse_rendered,
    policy_violations,
    selects,
)

# The chart's floor (Chart.yaml kubeVersion) and a current release, both in kubernetes-validate.
K8S_VERSIONS = ["1.25.0", "1.31.0"]
# Kinds without an upstream Kubernetes schema (CRDs); checked by hand below.
CRD_KINDS = {"ServiceMonitor"}
APP_VERSION = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]

Render = Callable[..., list[Manifest]]


def scenario_id(path: Path) -> str:
    return path.name.removesuffix("-values.yaml")


SCENARIO_NAMES = [scenario_id(path) for path in SCENARIOS]


@pytest.fixture(scope="module")
def scenario_objects(render: Render) -> dict[str, list[Manifest]]:
    return {scenario_id(path): render(load_values(path)) for path in SCENARIOS}


def container(objects: list[Manifest], kind: str = "Deployment", name: str = "server") -> Manifest:
    spec = one(objects, kind)["spec"]
    if kind == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod = spec if kind == "Pod" else spec["template"]["spec"]
    return next(c for c in pod.get("initContainers", []) + pod["containers"] if c["name"] == name)


def pod_spec(obj: Manifest) -> Manifest:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"] if obj["kind"] == "Pod" else obj["spec"]["template"]["spec"]


def config(objects: list[Manifest]) -> dict[str, str]:
    return one(objects, "ConfigMap")["data"]


# --- the scenario files -------------------------------------------------------------------


def test_every_required_scenario_has_a_values_file() -> None:
    required = {
        "default",
        "gpu",
        "pvc-model",
        "url-model",
        "custom-metric-hpa",
        "batch-cronjob",
        "auth",
    }
    assert required <= set(SCENARIO_NAMES), (
        f"missing ci/*-values.yaml: {required - set(SCENARIO_NAMES)}"
    )


@pytest.mark.parametrize("path", SCENARIOS, ids=SCENARIO_NAMES)
def test_helm_lint_strict(path: Path) -> None:
    report = helm.lint(
        CHART,
        load_values(path),
        strict=True,
        namespace=NAMESPACE,
        kube_version=f"v{K8S_VERSIONS[-1]}",
    )
    assert report["total_charts_linted"] == 1
    findings = [m for m in report["messages"] if m["severity"] >= 2]  # 2 warning, 3 error
    assert not findings and not report["errors"], report


@pytest.mark.parametrize("path", SCENARIOS, ids=SCENARIO_NAMES)
def test_values_pass_the_chart_schema(chart: Any, path: Path) -> None:
    chart.validate_schema(chart.merge_values(load_values(path)))


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_rendered_objects_match_kubernetes_schemas(
    scenario_objects: dict[str, list[Manifest]], name: str, version: str
) -> None:
    objects = scenario_objects[name]
    assert objects
    for obj in objects:
        if obj["kind"] in CRD_KINDS:
            continue
        # strict: unknown fields (typos such as `readinessprobe`) fail too.
        kubernetes_validate.validate(obj, version, strict=True)


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_policies_hold(scenario_objects: dict[str, list[Manifest]], name: str) -> None:
    assert policy_violations(scenario_objects[name]) == []


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_objects_are_named_labelled_and_namespaced(
    scenario_objects: dict[str, list[Manifest]], name: str
) -> None:
    seen = set()
    for obj in scenario_objects[name]:
        meta = obj["metadata"]
        key = (obj["kind"], meta["name"])
        assert key not in seen, f"duplicate {key}"
        seen.add(key)
        assert len(meta["name"]) <= 63
        assert meta["namespace"] == NAMESPACE
        labels = meta["labels"]
        assert labels["app.kubernetes.io/name"] == "road"
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/version"] == APP_VERSION
        assert labels["helm.sh/chart"] == f"road-{APP_VERSION}"
        assert labels["app.kubernetes.io/component"] in {"server", "batch", "test"}


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_images_default_to_the_app_version(
    scenario_objects: dict[str, list[Manifest]], name: str
) -> None:
    for obj in scenario_objects[name]:
        if obj["kind"] not in {"Deployment", "Job", "CronJob", "Pod"}:
            continue
        spec = pod_spec(obj)
        for c in spec.get("initContainers", []) + spec["containers"]:
            image = c["image"].split("@")[0]
            assert image.rsplit(":", 1)[1] in {APP_VERSION, f"{APP_VERSION}-gpu"}, c["image"]


def test_checksum_annotation_is_the_configmap_digest(
    render_raw: Callable[..., dict[str, str]],
) -> None:
    rendered = render_raw({})
    digest = hashlib.sha256(rendered["road/templates/configmap.yaml"].encode()).hexdigest()
    deployment = one(parse_rendered(rendered), "Deployment")
    assert deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"] == digest


def test_a_config_change_rolls_the_pods(render: Render) -> None:
    def checksum(values: dict[str, Any]) -> str:
        deployment = one(render(values), "Deployment")
        return deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    assert checksum({}) == checksum({})
    assert checksum({}) != checksum({"server": {"maxBatchSize": 8}})


# --- what each scenario is for ------------------------------------------------------------


def test_default_scenario(scenario_objects: dict[str, list[Manifest]]) -> None:
    objects = scenario_objects["default"]
    kinds = sorted(obj["kind"] for obj in objects)
    assert kinds == sorted(
        [
            "ConfigMap",
            "Deployment",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "Service",
            "ServiceAccount",
            "Pod",
        ]
    )
    server = container(objects)
    assert server["image"] == f"road:{APP_VERSION}"
    assert "command" not in server and "args" not in server  # the image's entrypoint: road serve
    data = config(objects)
    assert data["ROAD_HOST"] == "0.0.0.0"
    assert data["ROAD_PORT"] == "8000"
    assert data["ROAD_BUNDLE"] == "/opt/road/bundle"
    assert data["ROAD_GRACEFUL_TIMEOUT_S"] == "20"
    assert "ROAD_INTRA_OP_THREADS" not in data  # null: the server follows its CPU quota
    assert "ROAD_API_KEYS_FILE" not in data
    deployment = one(objects, "Deployment")
    assert "replicas" not in deployment["spec"]  # the HPA owns the replica count
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = deployment["spec"]["template"]["spec"]
    # preStop sleep 5 + drain 20 + slack 5
    assert pod["terminationGracePeriodSeconds"] == 30
    assert server["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
    assert server["ports"][0]["containerPort"] == 8000
    hpa = one(objects, "HorizontalPodAutoscaler")
    assert hpa["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 70},
            },
        }
    ]
    assert one(objects, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    service = one(objects, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_helm_test_hook_checks_ready_and_one_qa(
    scenario_objects: dict[str, list[Manifest]],
) -> None:
    pod = one(scenario_objects["default"], "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    test = pod["spec"]["containers"][0]
    script = test["command"][-1]
    assert test["command"][:2] == ["python", "-c"]
    assert "/health/ready" in script and '"/qa"' in script
    env = {e["name"]: e.get("value") for e in test["env"]}
    assert env["ROAD_URL"] == f"http://{RELEASE}.{NAMESPACE}.svc:8000"
    assert pod["spec"]["restartPolicy"] == "Never"


def test_tests_can_be_turned_off(render: Render) -> None:
    assert not by_kind(render({"tests": {"enabled": False}}), "Pod")


def test_gpu_scenario(scenario_objects: dict[str, list[Manifest]]) -> None:
    objects = scenario_objects["gpu"]
    server = container(objects)
    assert server["image"] == f"road:{APP_VERSION}-gpu"
    assert server["resources"]["limits"]["nvidia.com/gpu"] == 1
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["nodeSelector"]["nvidia.com/gpu.present"] == "true"
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
        "tolerations"
    ]
    assert pod["runtimeClassName"] == "nvidia"
    metrics = one(objects, "HorizontalPodAutoscaler")["spec"]["metrics"]
    assert [m["type"] for m in metrics] == ["Pods", "Pods"]  # no CPU target on a GPU pool


def test_cpu_release_requests_no_gpu(scenario_objects: dict[str, list[Manifest]]) -> None:
    for name in SCENARIO_NAMES:
        if name == "gpu":
            continue
        pod = one(scenario_objects[name], "Deployment")["spec"]["template"]["spec"]
        assert "nvidia.com/gpu" not in str(pod), name


def test_pvc_model_scenario(scenario_objects: dict[str, list[Manifest]]) -> None:
    objects = scenario_objects["pvc-model"]
    assert config(objects)["ROAD_BUNDLE"] == "/models/road-student-v3"
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["model"]["persistentVolumeClaim"] == {
        "claimName": "road-bundles",
        "readOnly": True,
    }
    mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
    assert mounts["model"] == {"name": "model", "mountPath": "/models", "readOnly": True}
    assert container(objects)["image"] == (
        "registry.example.com/ml/road:0.1.0@sha256:"
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    )


def test_url_model_scenario(scenario_objects: dict[str, list[Manifest]]) -> None:
    objects = scenario_objects["url-model"]
    values = load_values(CHART / "ci" / "url-model-values.yaml")["model"]["url"]
    assert config(objects)["ROAD_BUNDLE"] == "/models/road-student-v3"
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    fetch = pod["initContainers"][0]
    assert fetch["name"] == "fetch-bundle"
    assert fetch["image"] == container(objects)["image"]
    env = {e["name"]: e["value"] for e in fetch["env"]}
    assert env["BUNDLE_URL"] == values["url"]
    assert env["BUNDLE_SHA256"] == values["sha256"]
    assert env["BUNDLE_DEST"] == "/models"
    script = fetch["command"][-1]
    assert "hashlib.sha256" in script and 'filter="data"' in script
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["model"] == {"name": "model", "emptyDir": {"sizeLimit": "1Gi"}}
    init_mount = {m["name"]: m for m in fetch["volumeMounts"]}["model"]
    assert not init_mount.get("readOnly")
    server_mount = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}["model"]
    assert server_mount["readOnly"] is True
    policy = one(objects, "NetworkPolicy")
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    peers = policy["spec"]["ingress"][0]["from"]
    test_pod_labels = one(objects, "Pod")["metadata"]["labels"]
    assert any(
        selects(p.get("podSelector", {}).get("matchLabels", {}), test_pod_labels) for p in peers
    )


def test_custom_metric_hpa_scenario(scenario_objects: dict[str, list[Manifest]]) -> None:
    objects = scenario_objects["custom-metric-hpa"]
    metrics = one(objects, "HorizontalPodAutoscaler")["spec"]["metrics"]
    assert metrics[0]["resource"]["target"]["averageUtilization"] == 80
    pods = {
        m["pods"]["metric"]["name"]: m["pods"]["target"] for m in metrics if m["type"] == "Pods"
    }
    assert pods == {
        "road_queue_wait_seconds": {"type": "AverageValue", "averageValue": "25m"},
        "road_requests_in_flight": {"type": "AverageValue", "averageValue": "12"},
    }
    monitor = one(objects, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    endpoint = monitor["spec"]["endpoints"][0]
    assert endpoint["port"] == "http" and endpoint["path"] == "/metrics"
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    service_selector = one(objects, "Service")["spec"]["selector"]
    assert one(objects, "PodDisruptionBudget")["spec"] == {
        "minAvailable": 2,
        "selector": {"matchLabels": service_selector},
    }


def test_batch_cronjob_scenario(scenario_objects: dict[str, list[Manifest]]) -> None:
    objects = scenario_objects["batch-cronjob"]
    bundle = config(objects)["ROAD_BUNDLE"]
    assert bundle == "/models"
    server_image = container(objects)["image"]
    job, cron = one(objects, "Job"), one(objects, "CronJob")
    assert job["metadata"]["name"] == f"{RELEASE}-score-1"
    assert cron["spec"]["schedule"] == "30 1 * * *"
    assert cron["spec"]["timeZone"] == "Europe/Paris"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    for obj in (job, cron):
        score = container(objects, obj["kind"], "score")
        assert score["image"] == server_image
        assert score["command"] == [
            "road",
            "score",
            "--env-prefix",
            "ROAD_",
            "--bundle",
            bundle,
            "--input",
            "/data/in/questions.jsonl",
            "--output",
            "/data/out/answers.jsonl",
        ]
        pod = pod_spec(obj)
        assert pod["restartPolicy"] == "Never"
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "road-scoring-data"
        assert volumes["model"]["persistentVolumeClaim"]["claimName"] == "road-bundles"
    assert one(objects, "Deployment")["spec"]["replicas"] == 3
    assert not by_kind(objects, "HorizontalPodAutoscaler")


def test_batch_job_is_new_for_every_revision(render: Render) -> None:
    values = load_values(CHART / "ci" / "batch-cronjob-values.yaml")
    first = one(render(values, revision=1), "Job")["metadata"]["name"]
    second = one(render(values, revision=2), "Job")["metadata"]["name"]
    assert first != second  # a Job's pod template is immutable: upgrades create a new one


def test_auth_scenario(scenario_objects: dict[str, list[Manifest]]) -> None:
    import base64

    objects = scenario_objects["auth"]
    data = config(objects)
    assert data["ROAD_API_KEYS_FILE"] == "/etc/road/auth/api-keys"
    assert data["ROAD_LOG_LEVEL"] == "warning"
    assert data["ROAD_INTRA_OP_THREADS"] == "2"
    assert data["ROAD_MAX_CONTEXT_CHARS"] == "50000"
    secret = one(objects, "Secret")
    keys = base64.b64decode(secret["data"]["api-keys"]).decode().split()
    assert keys == ["ci-test-key-0123456789", "ci-test-key-abcdefghij"]
    for kind in ("Deployment", "Pod"):
        obj = one(objects, kind)
        pod = pod_spec(obj)
        volume = {v["name"]: v for v in pod["volumes"]}["api-keys"]
        assert volume["secret"]["secretName"] == secret["metadata"]["name"]
        mount = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}["api-keys"]
        assert mount["mountPath"] == "/etc/road/auth" and mount["readOnly"] is True
    test_env = {e["name"]: e["value"] for e in container(objects, "Pod", "smoke-test")["env"]}
    assert test_env["ROAD_API_KEYS_FILE"] == "/etc/road/auth/api-keys"
    annotations = one(objects, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert "checksum/auth" in annotations
    assert {"name": "OMP_WAIT_POLICY", "value": "PASSIVE"} in container(objects)["env"]


def test_auth_with_an_existing_secret(render: Render) -> None:
    objects = render(
        {"auth": {"enabled": True, "existingSecret": "road-keys", "secretKey": "keys"}}
    )
    assert not by_kind(objects, "Secret")
    volume = {v["name"]: v for v in pod_spec(one(objects, "Deployment"))["volumes"]}["api-keys"]
    assert volume["secret"]["secretName"] == "road-keys"
    assert config(objects)["ROAD_API_KEYS_FILE"] == "/etc/road/auth/keys"
    assert policy_violations(objects) == []


def test_grace_period_follows_the_drain_time(render: Render) -> None:
    objects = render(
        {"server": {"gracefulTimeoutSeconds": 45}, "lifecycle": {"preStopSleepSeconds": 10}}
    )
    assert config(objects)["ROAD_GRACEFUL_TIMEOUT_S"] == "45"
    assert pod_spec(one(objects, "Deployment"))["terminationGracePeriodSeconds"] == 10 + 45 + 5


# --- broken values must be caught ---------------------------------------------------------


@pytest.mark.parametrize(
    "override",
    [
        "image.tag=latest",
        "image.tag=LATEST",
        "gpu.enabled=true,gpu.image.tag=latest",
        "image.digest=sha256:abc",
        "containerSecurityContext.readOnlyRootFilesystem=false",
        "containerSecurityContext.allowPrivilegeEscalation=true",
        "podSecurityContext.runAsNonRoot=false",
        "model.source=s3",
        "model.source=url",
        "model.source=url,model.url.url=https://x.example/b.tgz,model.url.sha256=abc",
        "model.source=pvc",
        "server.port=http",
        "autoscaling.targetCPUUtilizationPercentage=150",
        "batch.cronJob.concurrencyPolicy=Sometimes",
        "serverr.port=8000",
    ],
)
def test_schema_invalid_values_fail_the_render(
    render_raw: Callable[..., Any], override: str
) -> None:
    with pytest.raises(helm.HelmValuesError):
        render_raw(helm.parse_set_string(override))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"image": {"tag": "latest"}}, '"latest" is not allowed'),
        ({"gpu": {"enabled": True, "image": {"tag": "latest"}}}, '"latest" is not allowed'),
        ({"model": {"source": "url"}}, "model.url.url is required"),
        ({"model": {"source": "pvc"}}, "model.pvc.claimName is required"),
        ({"batch": {"job": {"enabled": True}}}, "batch.data.existingClaim is required"),
        ({"auth": {"enabled": True}}, "auth.enabled needs auth.existingSecret"),
        (
            {"autoscaling": {"targetCPUUtilizationPercentage": None}},
            "autoscaling.enabled needs a metric",
        ),
    ],
)
def test_templates_refuse_bad_values_even_without_the_schema(
    tmp_path: Path, values: dict[str, Any], message: str
) -> None:
    """Defense in depth: with values.schema.json gone, the templates still fail the render."""
    copy = tmp_path / "road"
    shutil.copytree(CHART, copy)
    (copy / "values.schema.json").unlink()
    with helm.Chart.load(copy) as unchecked:
        assert unchecked.schema is None
        with pytest.raises(helm.HelmRenderError, match=message):
            unchecked.render(values, name=RELEASE, namespace=NAMESPACE)


def test_lint_reports_a_schema_violation() -> None:
    report = helm.lint(CHART, {"image": {"tag": "latest"}}, strict=True)
    assert report["errors"], report


def test_policy_checks_catch_broken_manifests(scenario_objects: dict[str, list[Manifest]]) -> None:
    base = scenario_objects["url-model"]
    assert policy_violations(base) == []

    def broken(kind: str, change: Callable[[Manifest], None]) -> list[str]:
        objects, obj = mutated(base, kind)
        change(obj)
        return policy_violations(objects)

    def server(obj: Manifest) -> Manifest:
        return obj["spec"]["template"]["spec"]["containers"][0]

    def init(obj: Manifest) -> Manifest:
        return obj["spec"]["template"]["spec"]["initContainers"][0]

    cases: dict[str, Callable[[Manifest], None]] = {
        "latest": lambda d: server(d).update(image="road:latest"),
        "untagged": lambda d: init(d).update(image="road"),
        "root": lambda d: server(d)["securityContext"].update(runAsNonRoot=False),
        "uid 0": lambda d: d["spec"]["template"]["spec"]["securityContext"].update(runAsUser=0),
        "writable root": lambda d: init(d)["securityContext"].pop("readOnlyRootFilesystem"),
        "escalation": lambda d: server(d)["securityContext"].update(allowPrivilegeEscalation=True),
        "caps": lambda d: server(d)["securityContext"]["capabilities"].update(drop=["NET_RAW"]),
        "seccomp": lambda d: [
            d["spec"]["template"]["spec"]["securityContext"].pop("seccompProfile"),
            server(d)["securityContext"].pop("seccompProfile"),
        ],
        "no limits": lambda d: server(d)["resources"].pop("limits"),
        "no requests": lambda d: init(d).pop("resources"),
        "no readiness": lambda d: server(d).pop("readinessProbe"),
        "liveness on ready": lambda d: server(d)["livenessProbe"]["httpGet"].update(
            path="/health/ready"
        ),
        "no startup": lambda d: server(d).pop("startupProbe"),
        "no checksum": lambda d: d["spec"]["template"]["metadata"]["annotations"].pop(
            "checksum/config"
        ),
        "short grace": lambda d: d["spec"]["template"]["spec"].update(
            terminationGracePeriodSeconds=10
        ),
        "no preStop": lambda d: server(d).pop("lifecycle"),
        "no tmp": lambda d: server(d).update(volumeMounts=[]),
        "bad selector": lambda d: d["spec"]["selector"]["matchLabels"].update(extra="x"),
    }
    for name, change in cases.items():
        assert broken("Deployment", change), f"policy checks missed: {name}"
    assert broken(
        "Service", lambda s: s["spec"]["selector"].update({"app.kubernetes.io/name": "x"})
    )
    assert broken("Service", lambda s: s["spec"]["selector"].pop("app.kubernetes.io/component"))
    assert broken("PodDisruptionBudget", lambda p: p["spec"]["selector"].update(matchLabels={}))
    assert broken("HorizontalPodAutoscaler", lambda h: h["spec"]["scaleTargetRef"].update(name="x"))
    assert broken("NetworkPolicy", lambda n: n["spec"]["podSelector"]["matchLabels"].update(a="b"))
    assert broken("Pod", lambda p: p["spec"]["containers"][0].update(image="road:latest"))


def test_image_violation() -> None:
    assert image_violation("road:0.1.0") is None
    assert image_violation("registry:5000/ml/road:0.1.0") is None
    assert image_violation("road@sha256:" + "a" * 64) is None
    assert image_violation("road:latest")
    assert image_violation("registry:5000/ml/road")
    assert image_violation("road")


def test_kubernetes_validation_catches_a_broken_object(
    scenario_objects: dict[str, list[Manifest]],
) -> None:
    objects, deployment = mutated(scenario_objects["default"], "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eight"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[-1], strict=True)
    objects, deployment = mutated(scenario_objects["default"], "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[-1], strict=True)
