"""Which models the server serves, by name and version; the routes ask this, never a constant.

Without a model repository the one bundle served is model `road`, version `1`
(`ModelRegistry.single`). With one (`road.runtime.repository`), the registry holds each loaded
model's served version, and a load or unload changes it in one step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from road.core.errors import ModelNotFound
from road.core.tasks import TaskSpec

DEFAULT_MODEL = "road"
DEFAULT_VERSION = 1
# The Open Inference Protocol's name for a model that ONNX Runtime runs.
PLATFORM = "onnxruntime_onnx"


@dataclass(frozen=True)
class ModelVersion:
    """One served version of a model: its tasks, in manifest order, and its bundle."""

    name: str
    version: int
    tasks: tuple[TaskSpec, ...]
    platform: str = PLATFORM
    path: Path | None = None

    def task(self, name: str) -> TaskSpec | None:
        return next((task for task in self.tasks if task.name == name), None)


class ModelRegistry:
    """The served versions of every model; a model's default version is its highest."""

    def __init__(self, versions: Iterable[ModelVersion] = ()) -> None:
        self._models: dict[str, dict[int, ModelVersion]] = {}
        for entry in versions:
            self._models.setdefault(entry.name, {})[entry.version] = entry

    @classmethod
    def single(cls, tasks: Sequence[TaskSpec]) -> ModelRegistry:
        """The one bundle served without a repository: model `road`, version 1."""
        return cls([ModelVersion(DEFAULT_MODEL, DEFAULT_VERSION, tuple(tasks))])

    def names(self) -> list[str]:
        return sorted(self._models)

    def versions(self, name: str) -> list[int]:
        """The served versions of a model, ascending; `ModelNotFound` when none."""
        return sorted(self._served(name))

    def serves(self, name: str) -> bool:
        return bool(self._models.get(name))

    def replace(self, entry: ModelVersion) -> list[ModelVersion]:
        """Serve `entry` as its model's only version; the versions it replaces."""
        replaced = [old for old in self._models.get(entry.name, {}).values() if old != entry]
        self._models[entry.name] = {entry.version: entry}
        return replaced

    def remove(self, name: str) -> list[ModelVersion]:
        """Serve no version of `name`; the versions that were served."""
        return list(self._models.pop(name, {}).values())

    def resolve(self, name: str, version: str | None = None) -> ModelVersion:
        """The version asked for (a number as text), or the highest; `ModelNotFound` if absent."""
        served = self._served(name)
        if version is None or version == "":
            return served[max(served)]
        entry = served.get(int(version)) if version.isdigit() else None
        if entry is None:
            listed = ", ".join(str(v) for v in sorted(served))
            raise ModelNotFound(f"model {name!r} has no version {version!r} (served: {listed})")
        return entry

    def _served(self, name: str) -> dict[int, ModelVersion]:
        served = self._models.get(name)
        if not served:
            raise ModelNotFound(
                f"no model {name!r} is served (served: {', '.join(self.names()) or 'none'})"
            )
        return served
