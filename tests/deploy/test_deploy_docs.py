"""Documentation of the deployment: every chart value documented, the README in step with
values.yaml and the schema, the prometheus-adapter rule usable, docs/deploy.md complete."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from .deploy_helpers import CHART, REPO, SCENARIOS, load_values
from .values_doc import described_keys, documented, undocumented

VALUES = CHART / "values.yaml"
README = CHART / "README.md"
DEPLOY_DOC = REPO / "docs" / "deploy.md"


def values_section() -> str:
    return README.read_text(encoding="utf-8").split("\n## Values\n", 1)[1]


def readme_table_keys() -> set[str]:
    return set(re.findall(r"^\| `([^`]+)` \|", values_section(), flags=re.M))


def test_every_value_has_a_comment_in_values_yaml() -> None:
    assert undocumented(described_keys(VALUES)) == []


def test_every_documented_value_is_in_the_readme_table() -> None:
    keys = documented(described_keys(VALUES))
    table = readme_table_keys()
    assert set(keys) - table == set(), "values missing from README.md's Values table"
    stale = {key for key in table if key not in described_keys(VALUES)}
    assert stale == set(), "README.md documents values that do not exist"


def test_readme_defaults_match_values_yaml() -> None:
    values = yaml.safe_load(VALUES.read_text())
    for key, default in re.findall(r"^\| `([^`]+)` \| `([^`]*)` \|", values_section(), flags=re.M):
        value = values
        for part in key.split("."):
            value = value[part]
        assert json.loads(default) == value, key


def test_schema_covers_exactly_the_values() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load(VALUES.read_text())

    def walk(schema_node: dict, value: object, path: str) -> None:
        if not isinstance(value, dict) or "properties" not in schema_node:
            return
        assert set(value) <= set(schema_node["properties"]), f"{path}: keys missing in the schema"
        if schema_node.get("additionalProperties") is False:
            extra = set(schema_node["properties"]) - set(value) - {"global"}
            assert not extra, f"{path}: schema keys with no value: {extra}"
        for key, child in value.items():
            walk(schema_node["properties"][key], child, f"{path}.{key}".lstrip("."))

    walk(schema, values, "")


def test_readme_prometheus_adapter_rule() -> None:
    text = README.read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, flags=re.S) if "seriesQuery" in b]
    assert len(blocks) == 1
    rules = yaml.safe_load(blocks[0])["rules"]["custom"]
    names = {rule["name"]["as"] for rule in rules}
    defaults = yaml.safe_load(VALUES.read_text())["autoscaling"]["customMetrics"]
    assert names == {defaults["queueWait"]["name"], defaults["requestsInFlight"]["name"]}
    for rule in rules:
        assert set(rule["resources"]["overrides"]) == {"namespace", "pod"}
        assert "<<.LabelMatchers>>" in rule["metricsQuery"]
        assert "<<.GroupBy>>" in rule["metricsQuery"]


def test_the_server_exports_the_autoscaling_metrics() -> None:
    """The HPA's custom metrics come from these series; the server must define them."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (REPO / "service").glob("*.py"))
    for name in ("road_queue_wait_seconds", "road_requests_in_flight"):
        assert f'"{name}"' in source, f"service/ defines no metric {name}"


@pytest.mark.parametrize("topic", ["install", "scale", "upgrade", "batch", "gpu"])
def test_deploy_doc_covers(topic: str) -> None:
    headings = [
        line.lower()
        for line in DEPLOY_DOC.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    ]
    assert any(topic in heading for heading in headings), f"docs/deploy.md has no {topic} section"


def test_docs_name_existing_files() -> None:
    for doc in (DEPLOY_DOC, README):
        text = doc.read_text(encoding="utf-8")
        for path in re.findall(r"`((?:deploy|docs|tests)/[\w./-]+|Dockerfile(?:\.gpu)?)`", text):
            assert (REPO / path).exists() or list(REPO.glob(path)), f"{doc.name} names {path}"
        for ci in re.findall(r"ci/[\w-]+-values\.yaml", text):
            assert (CHART / ci).exists(), f"{doc.name} names {ci}"


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_notes_render(chart: object, path: Path) -> None:
    rendered = chart.render(load_values(path), name="road", namespace="inference")  # type: ignore[attr-defined]
    notes = rendered["road/templates/NOTES.txt"]
    assert "helm test road -n inference" in notes
    assert "kubectl -n inference port-forward svc/road 8000:8000" in notes
