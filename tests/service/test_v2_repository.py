"""Which version a repository load call asks for: road's parameter or Triton's version policy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from road.core.errors import InvalidInput
from road.service.v2_repository import requested_version


def policy(versions: Any) -> dict[str, Any]:
    return {"config": json.dumps({"version_policy": {"specific": {"versions": versions}}})}


@pytest.mark.parametrize(
    ("parameters", "version"),
    [
        ({}, None),
        ({"version": "2"}, 2),
        ({"version": 3}, 3),
        (policy([4]), 4),
        ({"config": json.dumps({"version_policy": {"latest": {"num_versions": 1}}})}, None),
        ({"unload_dependents": False}, None),
    ],
)
def test_the_version_asked_for(parameters: dict[str, Any], version: int | None) -> None:
    assert requested_version(parameters) == version


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"version": "two"}, "must be a version number"),
        ({"version": True}, "must be a version number"),
        (policy([1, 2]), "must name one version"),
        ({"config": "{not json"}, "is not JSON"),
        ({"config": json.dumps({"max_batch_size": 8})}, "only version_policy"),
        ({"file:1/model.onnx": "AAAA"}, "file:1/model.onnx are not supported"),
    ],
)
def test_what_a_load_cannot_ask_for_is_refused(parameters: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        requested_version(parameters)
