"""The model bundle: one ONNX graph, its tokenizer and a verified `manifest.json`.

The format is documented in docs/bundle.md; export writes it, the server and the batch job
read it. Every file is listed with its sha256, and `load_manifest` refuses a bundle whose files
do not match, naming the file.
"""

from __future__ import annotations

import hashlib
from collections.abc import ItemsView, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationError,
    model_validator,
)

from road.core.errors import BundleError
from road.core.qa import Windowing
from road.core.tasks import (
    DEFAULT_TASKS,
    GRAPH_INPUTS,
    NLI,
    QA,
    SPAN_FIELDS,
    TaskKind,
    TaskSpec,
)

FORMAT_VERSION = 4
# Version 1 manifests are version 2 ones without the execution fields (all defaulted); version
# 3 adds tasks beyond the default two and each task's input `fields`, which older manifests
# take from the default task of the same name; version 4 adds a classification task's fitted
# `temperature` (1 in older manifests). A version 4 reader loads all four.
READABLE_VERSIONS = (1, 2, 3, 4)
MANIFEST = "manifest.json"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SpanTaskInfo(_Frozen):
    """A span-extraction task: its outputs, windowing and tuned no-answer threshold."""

    kind: Literal["span_extraction"] = "span_extraction"
    outputs: tuple[str, ...]
    fields: tuple[str, ...] = SPAN_FIELDS
    max_seq_len: int
    doc_stride: int
    max_question_tokens: int
    max_answer_len: int = 30
    # No answer when null logit - best span logit exceeds this; tuned on dev at export.
    null_threshold: float = 0.0

    @property
    def window(self) -> Windowing:
        return Windowing(self.max_seq_len, self.doc_stride, self.max_question_tokens)


class ClassificationTaskInfo(_Frozen):
    """A classification task: its output, labels (in logit order) and input fields."""

    kind: Literal["classification"] = "classification"
    outputs: tuple[str, ...]
    labels: tuple[str, ...] = Field(min_length=2)
    fields: tuple[str, ...] = Field(min_length=1, max_length=2)
    max_seq_len: int
    # Fitted on dev at export (core/calibration.py); bundles from before it read as 1.
    temperature: float = Field(1.0, gt=0)


TaskInfo = Annotated[SpanTaskInfo | ClassificationTaskInfo, Field(discriminator="kind")]


def QATaskInfo(**values: Any) -> SpanTaskInfo:  # noqa: N802 - reads as the class it was
    """The default QA task's manifest entry."""
    return SpanTaskInfo(**{"outputs": QA.outputs, **values})


def NLITaskInfo(**values: Any) -> ClassificationTaskInfo:  # noqa: N802
    """The default NLI task's manifest entry."""
    defaults = {"outputs": NLI.outputs, "labels": NLI.labels, "fields": NLI.fields}
    return ClassificationTaskInfo(**{**defaults, **values})


class Tasks(RootModel[dict[str, TaskInfo]]):
    """The bundle's tasks by name, in graph-output order; `tasks.NAME` is None when absent."""

    def __init__(self, root: dict[str, Any] | None = None, /, **by_name: Any) -> None:
        entries = root if root is not None else by_name
        super().__init__({name: info for name, info in entries.items() if info is not None})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            return super().__getattr__(name)  # type: ignore[misc]
        return self.root.get(name)

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self.root)

    def __len__(self) -> int:
        return len(self.root)

    def items(self) -> ItemsView[str, SpanTaskInfo | ClassificationTaskInfo]:
        return self.root.items()

    def specs(self) -> list[TaskSpec]:
        return [spec_of(name, info) for name, info in self.root.items()]


def spec_of(name: str, info: SpanTaskInfo | ClassificationTaskInfo) -> TaskSpec:
    labels = info.labels if isinstance(info, ClassificationTaskInfo) else ()
    return TaskSpec(name, TaskKind(info.kind), info.outputs, labels, info.fields)


def _upgrade_tasks(tasks: Any) -> Any:
    """Version 1-2 task entries: drop absent tasks, take `fields` from the default task."""
    if not isinstance(tasks, dict):
        return tasks
    upgraded = {}
    for name, info in tasks.items():
        if info is None:
            continue
        default = DEFAULT_TASKS.get(name)
        if isinstance(info, dict) and default is not None and "fields" not in info:
            info = {**info, "fields": default.fields}
        upgraded[name] = info
    return upgraded


class ShapeProfile(_Frozen):
    """TensorRT's min/opt/max input shapes: [batch, sequence] for every graph input."""

    min_batch: int = Field(1, ge=1)
    opt_batch: int = Field(ge=1)
    max_batch: int = Field(ge=1)
    min_sequence: int = Field(1, ge=1)
    opt_sequence: int = Field(ge=1)
    max_sequence: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> ShapeProfile:
        if not (self.min_batch <= self.opt_batch <= self.max_batch):
            raise ValueError("batch sizes must satisfy min <= opt <= max")
        if not (self.min_sequence <= self.opt_sequence <= self.max_sequence):
            raise ValueError("sequence lengths must satisfy min <= opt <= max")
        return self


class TensorRTInfo(_Frozen):
    """How the TensorRT execution provider builds this bundle's engine."""

    profile: ShapeProfile
    fp16: bool = True
    # Relative to the bundle: engines built at export (when TensorRT was there) ship here.
    engine_cache: str = "trt_cache"


class Manifest(_Frozen):
    format_version: int = FORMAT_VERSION
    graph: str = "model.onnx"
    precision: Literal["fp32", "fp16", "int8"] = "fp32"
    target: Literal["cpu", "cuda", "tensorrt"] = "cpu"
    # int8 only: "dynamic" (activation scales per run) or "static" (calibrated, batch-invariant).
    quantization: Literal["dynamic", "static"] | None = None
    # ONNX Runtime transformer-optimizer fusions applied at export: fused op -> count.
    fusions: dict[str, int] = Field(default_factory=dict)
    tensorrt: TensorRTInfo | None = None
    inputs: tuple[str, ...] = GRAPH_INPUTS
    outputs: tuple[str, ...]
    tasks: Tasks
    files: dict[str, str] = Field(default_factory=dict, description="relative path -> sha256")
    provenance: dict[str, Any] = Field(default_factory=dict)
    quality: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        if (self.precision == "int8") != (self.quantization is not None):
            raise ValueError(f"quantization {self.quantization!r} with precision {self.precision}")
        if (self.target == "tensorrt") != (self.tensorrt is not None):
            raise ValueError("target tensorrt and the tensorrt section go together")
        missing = [
            o for _, info in self.tasks.items() for o in info.outputs if o not in self.outputs
        ]
        if missing:
            raise ValueError(f"task outputs {missing} are not graph outputs")
        return self

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        version = data.get("format_version")
        # Version 1 had dynamic quantisation only and did not say so.
        if version == 1 and data.get("precision") == "int8" and "quantization" not in data:
            data = {**data, "quantization": "dynamic"}
        if version in (1, 2) and "tasks" in data:
            data = {**data, "tasks": _upgrade_tasks(data["tasks"])}
        return data


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(bundle_dir: Path, manifest: Manifest) -> Manifest:
    """Hash every file in the bundle (except the manifest) and write `manifest.json`."""
    files = {
        str(path.relative_to(bundle_dir)): sha256_file(path)
        for path in sorted(bundle_dir.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }
    if manifest.graph not in files:
        raise BundleError(f"{bundle_dir}: graph file {manifest.graph} is missing")
    final = manifest.model_copy(update={"files": files})
    (bundle_dir / MANIFEST).write_text(final.model_dump_json(indent=2) + "\n")
    return final


def load_manifest(bundle_dir: str | Path, verify: bool = True) -> Manifest:
    """Read and (by default) verify a bundle; raises `BundleError` naming the offending file."""
    bundle_dir = Path(bundle_dir)
    path = bundle_dir / MANIFEST
    if not path.is_file():
        raise BundleError(f"{bundle_dir} is not a road bundle: {MANIFEST} is missing")
    try:
        manifest = Manifest.model_validate_json(path.read_text())
    except ValidationError as exc:
        raise BundleError(f"{path}: invalid manifest: {exc}") from exc
    if manifest.format_version not in READABLE_VERSIONS:
        raise BundleError(f"{path}: format_version {manifest.format_version} is not supported")
    if verify:
        verify_files(bundle_dir, manifest)
    return manifest


def verify_files(bundle_dir: Path, manifest: Manifest) -> None:
    if manifest.graph not in manifest.files:
        raise BundleError(f"{bundle_dir}: the manifest lists no hash for {manifest.graph}")
    for name, expected in manifest.files.items():
        file = bundle_dir / name
        if not file.is_file():
            raise BundleError(f"{file}: listed in the manifest but missing")
        if sha256_file(file) != expected:
            raise BundleError(f"{file}: sha256 does not match the manifest (tampered or corrupted)")
