"""The tasks a road student serves: one definition read by training, export and the server."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class TaskKind(str, Enum):
    SPAN_EXTRACTION = "span_extraction"
    CLASSIFICATION = "classification"


@dataclass(frozen=True)
class TaskSpec:
    """A task: its kind, its labels (classification) and the graph outputs that carry it."""

    name: str
    kind: TaskKind
    outputs: tuple[str, ...]
    labels: tuple[str, ...] = ()


QA = TaskSpec(name="qa", kind=TaskKind.SPAN_EXTRACTION, outputs=("start_logits", "end_logits"))
NLI = TaskSpec(
    name="nli",
    kind=TaskKind.CLASSIFICATION,
    outputs=("nli_logits",),
    labels=("entailment", "neutral", "contradiction"),
)
TASKS: dict[str, TaskSpec] = {task.name: task for task in (QA, NLI)}

GRAPH_INPUTS: tuple[str, ...] = ("input_ids", "attention_mask", "token_type_ids")
GRAPH_OUTPUTS: tuple[str, ...] = tuple(name for task in TASKS.values() for name in task.outputs)
# Outputs with one value per token (sliced per row); the others have one value per row.
TOKEN_OUTPUTS: tuple[str, ...] = QA.outputs
