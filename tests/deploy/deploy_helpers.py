"""Shared helpers for tests/deploy: chart paths, manifest parsing, and the policy checks."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "road"
SCENARIOS = sorted(CHART.glob("ci/*-values.yaml"))
RELEASE = "road-ci"
NAMESPACE = "inference"

Manifest = dict[str, Any]


def load_values(path: Path) -> dict[str, Any]:
    """A values file parsed by Helm itself (the `helm -f FILE` path)."""
    import helm_python as helm

    return helm.values_from_yaml(path.read_text(encoding="utf-8")) or {}


def parse_rendered(rendered: dict[str, str]) -> list[Manifest]:
    """Kubernetes objects from Helm's {template path: text} output (NOTES.txt left out)."""
    objects: list[Manifest] = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                objects.append(doc)
    return objects


def by_kind(objects: list[Manifest], kind: str) -> list[Manifest]:
    return [obj for obj in objects if obj["kind"] == kind]


def one(objects: list[Manifest], kind: str) -> Manifest:
    found = by_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, got {[o['metadata']['name'] for o in found]}"
    return found[0]


def labels_of(obj: Manifest) -> dict[str, str]:
    return dict(obj.get("metadata", {}).get("labels") or {})


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """True when a matchLabels selector matches a label set (and is not empty)."""
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def pod_templates(objects: list[Manifest]) -> Iterator[tuple[str, Manifest, Manifest]]:
    """(where, pod metadata, pod spec) for every pod the objects would create."""
    for obj in objects:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if kind in ("Deployment", "Job"):
            template = obj["spec"]["template"]
        elif kind == "CronJob":
            template = obj["spec"]["jobTemplate"]["spec"]["template"]
        elif kind == "Pod":
            template = obj
        else:
            continue
        yield f"{kind}/{name}", template.get("metadata") or {}, template["spec"]


def image_violation(image: str) -> str | None:
    """Why an image reference is not pinned, or None when it is."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    if tag.lower() == "latest":
        return f"image {image!r} uses the 'latest' tag"
    if not tag and not digest:
        return f"image {image!r} has neither a tag nor a digest"
    return None


def policy_violations(objects: list[Manifest]) -> list[str]:
    """Every breach of the chart's deployment policies in a rendered release (empty: all good).

    Pods: non-root, RuntimeDefault seccomp; every container with a read-only root filesystem,
    no privilege escalation, all capabilities dropped, CPU and memory requests plus a memory
    limit, a pinned image and a writable emptyDir at /tmp. Server pods: startup and liveness
    probes on /health/live, readiness on /health/ready, a preStop hook, a grace period covering
    the preStop sleep plus ROAD_GRACEFUL_TIMEOUT_S, and a checksum/config annotation.
    Selectors of the Deployment, Service, PDB, HPA, NetworkPolicy and ServiceMonitor must match
    the server pods, and the Service must not match batch or test pods.
    """
    problems: list[str] = []
    for where, _meta, spec in pod_templates(objects):
        pod_sc = spec.get("securityContext") or {}
        volumes = {volume["name"]: volume for volume in spec.get("volumes") or []}
        containers = list(spec.get("initContainers") or []) + list(spec.get("containers") or [])
        if not containers:
            problems.append(f"{where}: no containers")
        for container in containers:
            at = f"{where}/{container['name']}"
            sc = container.get("securityContext") or {}
            if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
                problems.append(f"{at}: runAsNonRoot is not true")
            if 0 in (sc.get("runAsUser"), pod_sc.get("runAsUser")):
                problems.append(f"{at}: runs as uid 0")
            seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
            if seccomp != "RuntimeDefault":
                problems.append(f"{at}: seccompProfile is {seccomp!r}, not RuntimeDefault")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{at}: readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{at}: allowPrivilegeEscalation is not false")
            if sc.get("privileged"):
                problems.append(f"{at}: privileged")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                problems.append(f"{at}: capabilities do not drop ALL")
            resources = container.get("resources") or {}
            requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
            for key in ("cpu", "memory"):
                if key not in requests:
                    problems.append(f"{at}: no {key} request")
            if "memory" not in limits:
                problems.append(f"{at}: no memory limit")
            why = image_violation(container.get("image", ""))
            if why:
                problems.append(f"{at}: {why}")
            tmp = [m for m in container.get("volumeMounts") or [] if m["mountPath"] == "/tmp"]
            tmp_volume = volumes.get(tmp[0]["name"], {}) if tmp else {}
            if not tmp or tmp[0].get("readOnly") or "emptyDir" not in tmp_volume:
                problems.append(f"{at}: no writable emptyDir at /tmp")

    config = {}
    for cm in (o for o in objects if o["kind"] == "ConfigMap"):
        config.update(cm.get("data") or {})
    deployments = [o for o in objects if o["kind"] == "Deployment"]
    if not deployments:
        problems.append("no Deployment")
    for deployment in deployments:
        where = f"Deployment/{deployment['metadata']['name']}"
        template = deployment["spec"]["template"]
        pod_labels = template["metadata"].get("labels") or {}
        if not selects(deployment["spec"]["selector"].get("matchLabels") or {}, pod_labels):
            problems.append(f"{where}: selector does not match its pod labels")
        if "checksum/config" not in (template["metadata"].get("annotations") or {}):
            problems.append(f"{where}: no checksum/config pod annotation")
        spec = template["spec"]
        server = spec["containers"][0]
        for probe, path in (
            ("startupProbe", "/health/live"),
            ("livenessProbe", "/health/live"),
            ("readinessProbe", "/health/ready"),
        ):
            got = ((server.get(probe) or {}).get("httpGet") or {}).get("path")
            if got != path:
                problems.append(f"{where}: {probe} path is {got!r}, not {path}")
        if "http" not in {port.get("name") for port in server.get("ports") or []}:
            problems.append(f"{where}: no container port named http")
        pre_stop = ((server.get("lifecycle") or {}).get("preStop") or {}).get("exec") or {}
        command = pre_stop.get("command") or []
        if command[:1] != ["sleep"]:
            problems.append(f"{where}: no preStop sleep")
        else:
            drain = float(config.get("ROAD_GRACEFUL_TIMEOUT_S", "20"))
            needed = float(command[1]) + drain
            grace = spec.get("terminationGracePeriodSeconds", 30)
            if grace < needed:
                problems.append(
                    f"{where}: terminationGracePeriodSeconds {grace} < preStop {command[1]}s "
                    f"+ ROAD_GRACEFUL_TIMEOUT_S {drain}s"
                )
        for other in objects:
            kind, name = other["kind"], other["metadata"]["name"]
            if kind == "Service":
                selector = other["spec"].get("selector") or {}
            elif kind == "PodDisruptionBudget":
                selector = other["spec"]["selector"].get("matchLabels") or {}
            elif kind == "NetworkPolicy":
                selector = other["spec"]["podSelector"].get("matchLabels") or {}
            elif kind == "HorizontalPodAutoscaler":
                target = other["spec"]["scaleTargetRef"]
                wanted = ("Deployment", deployment["metadata"]["name"])
                if (target["kind"], target["name"]) != wanted:
                    problems.append(f"{kind}/{name}: scaleTargetRef {target} is not {where}")
                continue
            else:
                continue
            if not selects(selector, pod_labels):
                problems.append(f"{kind}/{name}: selector {selector} does not match {where} pods")
    services = [o for o in objects if o["kind"] == "Service"]
    for monitor in (o for o in objects if o["kind"] == "ServiceMonitor"):
        selector = monitor["spec"]["selector"].get("matchLabels") or {}
        if not any(selects(selector, labels_of(service)) for service in services):
            problems.append(f"ServiceMonitor/{monitor['metadata']['name']}: selects no Service")
    for service in services:
        selector = service["spec"].get("selector") or {}
        for where, meta, _ in pod_templates(objects):
            if not where.startswith("Deployment/") and selects(selector, meta.get("labels") or {}):
                problems.append(f"Service/{service['metadata']['name']}: also selects {where} pods")
    return problems


def mutated(objects: list[Manifest], kind: str) -> tuple[list[Manifest], Manifest]:
    """A deep copy of the objects and the (first) object of `kind` in it, to break on purpose."""
    copied = copy.deepcopy(objects)
    return copied, next(obj for obj in copied if obj["kind"] == kind)
