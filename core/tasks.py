"""Task kinds and the default task set: the one place the names "qa" and "nli" are declared.

A task kind (`span_extraction`, `classification`) is code, written once in the core (windows,
decoding, metrics) and in `road.runtime.heads` (requests, responses). A task is data: a name,
a kind, its input fields, labels and graph outputs. Training configs, bundle manifests, the
server and `road score` all loop over a list of tasks; `DEFAULT_TASKS` is the list road ships.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol


class TaskKind(str, Enum):
    SPAN_EXTRACTION = "span_extraction"
    CLASSIFICATION = "classification"


# The input fields of every span-extraction task: a question answered by a span of a context.
SPAN_FIELDS: tuple[str, ...] = ("question", "context")
# Metrics (points, 0-100) the export quality gate holds each kind's tasks to.
GATED_METRICS: dict[TaskKind, tuple[str, ...]] = {
    TaskKind.SPAN_EXTRACTION: ("f1", "exact"),
    TaskKind.CLASSIFICATION: ("accuracy",),
}


def default_outputs(name: str, kind: TaskKind) -> tuple[str, ...]:
    """The graph outputs of a task that does not name its own."""
    if kind is TaskKind.SPAN_EXTRACTION:
        return (f"{name}_start_logits", f"{name}_end_logits")
    return (f"{name}_logits",)


@dataclass(frozen=True)
class TaskSpec:
    """A task: its kind, input fields, labels (classification) and the graph outputs for it."""

    name: str
    kind: TaskKind
    outputs: tuple[str, ...]
    labels: tuple[str, ...] = ()
    fields: tuple[str, ...] = SPAN_FIELDS

    @property
    def token_outputs(self) -> tuple[str, ...]:
        """Outputs with one value per token (span logits); the others have one per row."""
        return self.outputs if self.kind is TaskKind.SPAN_EXTRACTION else ()


QA = TaskSpec(name="qa", kind=TaskKind.SPAN_EXTRACTION, outputs=("start_logits", "end_logits"))
NLI = TaskSpec(
    name="nli",
    kind=TaskKind.CLASSIFICATION,
    outputs=("nli_logits",),
    labels=("entailment", "neutral", "contradiction"),
    fields=("premise", "hypothesis"),
)
DEFAULT_TASKS: dict[str, TaskSpec] = {task.name: task for task in (QA, NLI)}

GRAPH_INPUTS: tuple[str, ...] = ("input_ids", "attention_mask", "token_type_ids")
# The outputs of a default (QA + NLI) student's graph, and which of them are per token.
GRAPH_OUTPUTS: tuple[str, ...] = tuple(
    name for task in DEFAULT_TASKS.values() for name in task.outputs
)
TOKEN_OUTPUTS: tuple[str, ...] = QA.token_outputs


class HasOutputs(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def outputs(self) -> tuple[str, ...]: ...


def token_outputs(tasks: Iterable[HasOutputs]) -> frozenset[str]:
    """The per-token outputs among some tasks (specs, manifest entries, training configs)."""
    return frozenset(
        name
        for task in tasks
        if TaskKind(task.kind) is TaskKind.SPAN_EXTRACTION
        for name in task.outputs
    )


def gated_metrics(tasks: Iterable[TaskSpec]) -> list[tuple[str, str]]:
    """(task, metric) pairs that export gates and `road inspect` reports, per the task's kind."""
    return [(task.name, metric) for task in tasks for metric in GATED_METRICS[task.kind]]
