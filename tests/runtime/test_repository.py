"""The model repository on disk: which versions exist, which one is served, the default model."""

from __future__ import annotations

from pathlib import Path

import pytest

from road.core.errors import BundleError, ModelNotFound
from road.runtime.repository import Candidate, Repository


def make(root: Path, *entries: str) -> Path:
    for entry in entries:
        (root / entry).mkdir(parents=True)
    return root


def test_versions_are_integer_directories_and_the_highest_is_served(tmp_path: Path) -> None:
    root = make(tmp_path, "a/1", "a/10", "a/2", "a/latest", "b/3", ".hidden/1", "empty")
    (root / "a" / "7").write_text("a file, not a version")
    repository = Repository(root, bundle=tmp_path / "unused")
    assert {name: sorted(v) for name, v in repository.models().items()} == {
        "a": [1, 2, 10],
        "b": [3],
    }
    assert repository.choose("a") == Candidate("a", 10, root / "a" / "10")
    assert [c.version for c in repository.startup()] == [10, 3]


def test_a_pin_wins_over_the_highest_and_a_named_version_over_the_pin(tmp_path: Path) -> None:
    root = make(tmp_path, "a/1", "a/2")
    repository = Repository(root, tmp_path, pins={"a": 1})
    assert repository.choose("a").version == 1
    assert repository.choose("a", 2).version == 2
    with pytest.raises(ModelNotFound, match=r"no version 5 on disk \(found: 1, 2\)"):
        repository.choose("a", 5)
    with pytest.raises(ModelNotFound, match="no model 'z'"):
        repository.choose("z")


def test_without_a_repository_the_bundle_is_road_version_1(tmp_path: Path) -> None:
    repository = Repository(None, tmp_path)
    assert not repository.managed
    assert repository.startup() == [Candidate("road", 1, tmp_path)]
    assert repository.default_model() == "road"


def test_the_default_model(tmp_path: Path) -> None:
    assert Repository(make(tmp_path / "x", "z/1", "road/1"), tmp_path).default_model() == "road"
    assert Repository(make(tmp_path / "y", "z/1", "b/1"), tmp_path).default_model() == "b"
    assert Repository(tmp_path / "y", tmp_path).default_model("z") == "z"
    missing = Repository(tmp_path / "missing", tmp_path)
    assert missing.default_model() == "road"
    with pytest.raises(BundleError, match="is not a directory"):
        missing.startup()
