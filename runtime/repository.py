"""The model repository on disk: `DIR/NAME/VERSION/` holds a bundle, VERSION an integer.

Which version of a model is served: the one a load call names, else the one the settings pin
(`ROAD_MODEL_VERSIONS`), else the highest on disk. Without a repository the one bundle is
model `road`, version 1, and there is nothing to load or unload. The directory is read at each
call, so versions copied in after start are seen by the next load.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from road.core.errors import BundleError, ModelNotFound
from road.runtime.models import DEFAULT_MODEL, DEFAULT_VERSION


@dataclass(frozen=True)
class Candidate:
    """A model version on disk that can be loaded."""

    name: str
    version: int
    path: Path


class Repository:
    """The models and versions on disk (or the one bundle), and which version to serve."""

    def __init__(
        self, root: Path | None, bundle: Path, pins: Mapping[str, int] | None = None
    ) -> None:
        self.root = root
        self.bundle = bundle
        self.pins = dict(pins or {})

    @property
    def managed(self) -> bool:
        """Is there a repository, so that models can be loaded and unloaded?"""
        return self.root is not None

    def models(self) -> dict[str, dict[int, Path]]:
        """Every model on disk and its versions' directories; hidden names are skipped."""
        if self.root is None:
            return {DEFAULT_MODEL: {DEFAULT_VERSION: self.bundle}}
        if not self.root.is_dir():
            raise BundleError(f"model repository {self.root} is not a directory")
        found: dict[str, dict[int, Path]] = {}
        for model in sorted(self.root.iterdir()):
            if model.name.startswith(".") or not model.is_dir():
                continue
            versions = {
                int(entry.name): entry
                for entry in model.iterdir()
                if entry.name.isdigit() and entry.is_dir()
            }
            if versions:
                found[model.name] = versions
        return found

    def choose(self, name: str, version: int | None = None) -> Candidate:
        """The version to serve: `version`, else the pinned one, else the highest on disk."""
        versions = self.models().get(name)
        if not versions:
            where = self.root if self.root is not None else "this server"
            raise ModelNotFound(f"no model {name!r} in the model repository {where}")
        wanted = version if version is not None else self.pins.get(name, max(versions))
        path = versions.get(wanted)
        if path is None:
            listed = ", ".join(str(v) for v in sorted(versions))
            raise ModelNotFound(f"model {name!r} has no version {wanted} on disk (found: {listed})")
        return Candidate(name, wanted, path)

    def startup(self) -> list[Candidate]:
        """What `road serve` loads at start: every model, at its chosen version."""
        return [self.choose(name) for name in self.models()]

    def default_model(self, configured: str | None = None) -> str:
        """The model the JSON routes use: the configured one, else `road`, else the first."""
        if configured is not None:
            return configured
        try:
            names = list(self.models())
        except BundleError:
            return DEFAULT_MODEL  # start refuses the missing repository, naming it
        if DEFAULT_MODEL in names or not names:
            return DEFAULT_MODEL
        return names[0]
