"""The model registry: served models and versions, the highest by default."""

from __future__ import annotations

import pytest

from road.core.errors import ModelNotFound
from road.core.tasks import NLI, QA
from road.runtime.models import DEFAULT_MODEL, ModelRegistry, ModelVersion


def test_the_single_bundle_is_road_version_1() -> None:
    registry = ModelRegistry.single([QA, NLI])
    assert registry.names() == [DEFAULT_MODEL] == ["road"]
    assert registry.versions("road") == [1]
    served = registry.resolve("road")
    assert (served.version, served.tasks) == (1, (QA, NLI))
    assert registry.resolve("road", "1") is served
    assert served.task(NLI.name) is NLI
    assert served.task("missing") is None


def test_the_highest_version_is_the_default() -> None:
    registry = ModelRegistry(
        [ModelVersion("a", 2, (QA,)), ModelVersion("a", 10, (NLI,)), ModelVersion("b", 1, (QA,))]
    )
    assert registry.names() == ["a", "b"]
    assert registry.versions("a") == [2, 10]
    assert registry.resolve("a").version == 10
    assert registry.resolve("a", "2").tasks == (QA,)


@pytest.mark.parametrize(
    ("name", "version", "message"),
    [
        ("c", None, "no model 'c' is served \\(served: a\\)"),
        ("a", "3", "model 'a' has no version '3' \\(served: 2\\)"),
        ("a", "two", "has no version 'two'"),
        ("a", "-2", "has no version '-2'"),
    ],
)
def test_unknown_models_and_versions_are_refused(
    name: str, version: str | None, message: str
) -> None:
    registry = ModelRegistry([ModelVersion("a", 2, (QA,))])
    with pytest.raises(ModelNotFound, match=message):
        registry.resolve(name, version)
