"""Open Inference Protocol v2 tensors ↔ a task's requests and responses, for any task kind.

Input tensors are named after the task's request fields, one row per element; the task is
the one whose fields are exactly the inputs given, or `parameters.task`. Other request
parameters that are options of the task's request (`top_k`, `truncation`, ...) apply to every
row. Outputs are declared per kind (`OUTPUTS`), never per task name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from road.core.errors import InvalidInput
from road.core.tasks import TaskKind, TaskSpec
from road.runtime.models import ModelVersion
from road.runtime.protocol import Schema, task_schemas
from road.service.v2_codec import InferRequest, Tensor

TASK_PARAMETER = "task"
# Each kind's outputs: name, datatype, and whether it has one column per label.
OUTPUTS: dict[TaskKind, tuple[tuple[str, str, bool], ...]] = {
    TaskKind.SPAN_EXTRACTION: (
        ("answer", "BYTES", False),
        ("start", "INT64", False),
        ("end", "INT64", False),
        ("score", "FP32", False),
    ),
    TaskKind.CLASSIFICATION: (("label", "BYTES", False), ("scores", "FP32", True)),
}


def _listing(model: ModelVersion) -> str:
    return "; ".join(f"{t.name}: {' + '.join(t.fields)}" for t in model.tasks)


def choose_task(model: ModelVersion, request: InferRequest) -> TaskSpec:
    """`parameters.task`, else the one task whose input fields are the inputs given."""
    given = set(request.inputs)
    named = request.parameters.get(TASK_PARAMETER)
    if named is not None:
        spec = model.task(str(named))
        if spec is None:
            raise InvalidInput(f"model {model.name!r} has no task {named!r} ({_listing(model)})")
        if given != set(spec.fields):
            raise InvalidInput(
                f"task {spec.name!r} takes inputs {', '.join(spec.fields)}; "
                f"got {', '.join(sorted(given))}"
            )
        return spec
    matches = [spec for spec in model.tasks if set(spec.fields) == given]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise InvalidInput(f"no task takes inputs {', '.join(sorted(given))} ({_listing(model)})")
    names = ", ".join(spec.name for spec in matches)
    raise InvalidInput(f"tasks {names} all take these inputs: name one in parameters.task")


def _row_count(request: InferRequest) -> int:
    counts = set()
    for tensor in request.inputs.values():
        if len(tensor.shape) > 2 or (len(tensor.shape) == 2 and tensor.shape[1] != 1):
            raise InvalidInput(f"input {tensor.name!r}: shape must be [N] or [N, 1]")
        counts.add(len(tensor.data))
    if len(counts) != 1:
        raise InvalidInput("every input must have the same number of rows")
    (count,) = counts
    if count == 0:
        raise InvalidInput("the inputs hold no rows")
    return count


def items(spec: TaskSpec, request: InferRequest) -> list[Schema]:
    """The task's requests, one per row, with the request's options applied to each."""
    schema, _ = task_schemas(spec)
    options = {
        key: value
        for key, value in request.parameters.items()
        if key in schema.model_fields and key not in spec.fields
    }
    built = []
    for row in range(_row_count(request)):
        fields = {name: request.inputs[name].data[row] for name in spec.fields}
        try:
            built.append(schema(**fields, **options))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise InvalidInput(f"row {row}: {where}: {first['msg']}") from exc
    return built


def _columns(spec: TaskSpec, responses: Sequence[Schema]) -> dict[str, list[Any]]:
    """Each output's flat data: a column of the responses, or their scores in label order."""
    rows = [response.model_dump() for response in responses]
    columns: dict[str, list[Any]] = {}
    for name, _, per_label in OUTPUTS[spec.kind]:
        if per_label:
            columns[name] = [row[name][label] for row in rows for label in spec.labels]
        else:
            # An abstained label (`parameters.min_score`) is null: BYTES has no null, so "".
            columns[name] = ["" if row[name] is None else row[name] for row in rows]
    return columns


def output_tensors(spec: TaskSpec, responses: Sequence[Schema]) -> list[Tensor]:
    """The kind's outputs for these responses; per-label outputs carry the label order."""
    columns = _columns(spec, responses)
    tensors = []
    for name, datatype, per_label in OUTPUTS[spec.kind]:
        shape = (len(responses), len(spec.labels)) if per_label else (len(responses),)
        parameters = {"labels": ",".join(spec.labels)} if per_label else {}
        tensors.append(Tensor(name, datatype, shape, columns[name], parameters))
    return tensors


def tensor_metadata(model: ModelVersion) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every task's input and output tensors, each name once (tasks of a kind share outputs)."""
    inputs: dict[str, dict[str, Any]] = {}
    outputs: dict[str, dict[str, Any]] = {}
    for spec in model.tasks:
        for name in spec.fields:
            inputs.setdefault(name, {"name": name, "datatype": "BYTES", "shape": [-1]})
        for name, datatype, per_label in OUTPUTS[spec.kind]:
            shape = [-1, len(spec.labels)] if per_label else [-1]
            outputs.setdefault(name, {"name": name, "datatype": datatype, "shape": shape})
    return list(inputs.values()), list(outputs.values())


def task_parameters(model: ModelVersion) -> dict[str, Any]:
    """Which inputs and outputs belong to which task (metadata `parameters.tasks`)."""
    return {
        spec.name: {
            "kind": spec.kind.value,
            "inputs": list(spec.fields),
            "outputs": [name for name, _, _ in OUTPUTS[spec.kind]],
            **({"labels": list(spec.labels)} if spec.labels else {}),
        }
        for spec in model.tasks
    }
