"""v2 tensors ↔ task requests and responses: task choice, rows, options, outputs, metadata."""

from __future__ import annotations

from typing import Any

import pytest

from road.core.errors import InvalidInput
from road.core.tasks import NLI, QA, TaskKind, TaskSpec
from road.runtime.models import ModelVersion
from road.runtime.protocol import NLIResponse, QARequest, QAResponse, task_schemas
from road.service.v2_codec import InferRequest, Tensor
from road.service.v2_tasks import (
    choose_task,
    items,
    output_tensors,
    task_parameters,
    tensor_metadata,
)

INTENT = TaskSpec(
    "intent", TaskKind.CLASSIFICATION, ("intent_logits",), ("greet", "bye"), ("text",)
)
TOPIC = TaskSpec("topic", TaskKind.CLASSIFICATION, ("topic_logits",), ("a", "b", "c"), ("text",))
MODEL = ModelVersion("road", 1, (QA, NLI, INTENT))


def request(parameters: dict[str, Any] | None = None, **columns: list[str]) -> InferRequest:
    inputs = {name: Tensor(name, "BYTES", (len(data),), data) for name, data in columns.items()}
    return InferRequest(None, inputs, parameters or {}, None)


def test_the_task_is_the_one_whose_fields_are_the_inputs() -> None:
    assert choose_task(MODEL, request(question=["q"], context=["c"])) is QA
    assert choose_task(MODEL, request(premise=["p"], hypothesis=["h"])) is NLI
    assert choose_task(MODEL, request(text=["hi"])) is INTENT
    with pytest.raises(InvalidInput, match="no task takes inputs context, premise"):
        choose_task(MODEL, request(premise=["p"], context=["c"]))


def test_tasks_sharing_fields_need_the_task_parameter() -> None:
    model = ModelVersion("road", 1, (INTENT, TOPIC))
    with pytest.raises(InvalidInput, match="intent, topic all take these inputs"):
        choose_task(model, request(text=["hi"]))
    assert choose_task(model, request({"task": "topic"}, text=["hi"])) is TOPIC
    with pytest.raises(InvalidInput, match="no task 'qa'"):
        choose_task(model, request({"task": "qa"}, text=["hi"]))
    with pytest.raises(InvalidInput, match="task 'topic' takes inputs text; got premise"):
        choose_task(model, request({"task": "topic"}, premise=["p"]))


def test_rows_become_requests_with_the_options_applied() -> None:
    built = items(
        QA,
        request({"top_k": 3, "task": "qa", "binary_data_output": True}, question=["a", "b"],
                context=["x", "y"]),
    )  # fmt: skip
    assert built == [
        QARequest(question="a", context="x", top_k=3),
        QARequest(question="b", context="y", top_k=3),
    ]
    nli_request, _ = task_schemas(NLI)
    (pair,) = items(NLI, request({"truncation": "none"}, premise=["p"], hypothesis=["h"]))
    assert pair == nli_request(premise="p", hypothesis="h", truncation="none")


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (request(question=["a", "b"], context=["x"]), "same number of rows"),
        (request(question=[], context=[]), "no rows"),
        (request(question=[""], context=["x"]), "row 0: question"),
        (request({"top_k": 0}, question=["a"], context=["x"]), "row 0: top_k"),
    ],
)
def test_bad_rows_are_refused_naming_the_problem(req: InferRequest, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        items(QA, req)


def test_a_matrix_input_is_refused() -> None:
    wide = InferRequest(None, {"text": Tensor("text", "BYTES", (1, 2), ["a", "b"])}, {}, None)
    with pytest.raises(InvalidInput, match=r"\[N\] or \[N, 1\]"):
        items(INTENT, wide)


def test_span_outputs() -> None:
    responses = [
        QAResponse(answer="the Romans", start=3, end=13, score=0.9),
        QAResponse(answer="", start=0, end=0, score=0.4),
    ]
    tensors = {t.name: t for t in output_tensors(QA, responses)}
    assert tensors["answer"].data == ["the Romans", ""]
    assert (tensors["start"].datatype, tensors["start"].data) == ("INT64", [3, 0])
    assert tensors["end"].data == [13, 0]
    assert (tensors["score"].datatype, tensors["score"].shape) == ("FP32", (2,))


def test_classification_scores_are_a_matrix_in_label_order() -> None:
    responses = [
        NLIResponse(
            label="neutral", scores={"contradiction": 0.1, "neutral": 0.7, "entailment": 0.2}
        )
    ]
    label, scores = output_tensors(NLI, responses)
    assert (label.name, label.data) == ("label", ["neutral"])
    assert scores.shape == (1, 3)
    assert scores.data == [0.2, 0.7, 0.1]
    assert scores.parameters == {"labels": "entailment,neutral,contradiction"}


def test_an_abstained_label_is_an_empty_bytes_element() -> None:
    scores = {"entailment": 0.4, "neutral": 0.3, "contradiction": 0.3}
    responses = [NLIResponse(label=None, scores=scores, abstained=True)]
    label, _ = output_tensors(NLI, responses)
    assert label.data == [""]


def test_metadata_lists_each_tensor_once_and_each_tasks_own() -> None:
    inputs, outputs = tensor_metadata(MODEL)
    assert [t["name"] for t in inputs] == ["question", "context", "premise", "hypothesis", "text"]
    assert [t["name"] for t in outputs] == ["answer", "start", "end", "score", "label", "scores"]
    assert outputs[-1]["shape"] == [-1, 3]
    tasks = task_parameters(MODEL)
    assert tasks["intent"] == {
        "kind": "classification",
        "inputs": ["text"],
        "outputs": ["label", "scores"],
        "labels": ["greet", "bye"],
    }
    assert "labels" not in tasks["qa"]
