"""v2 tensors on the wire, checked against tritonclient's own encoders and decoders."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import serialize_byte_tensor

from road.core.errors import InvalidInput
from road.service.v2_codec import (
    Tensor,
    deserialize_bytes,
    parse_request,
    render_response,
    serialize_bytes,
)

TEXTS = ["Who founded Lyon?", "", "Rhône et Saône ✓"]


def client_body(inputs: list[triton.InferInput], **parameters: object) -> tuple[bytes, str | None]:
    """A body laid out as tritonclient lays it out: JSON header, then each binary input."""
    header: dict = {"inputs": [tensor._get_tensor() for tensor in inputs]}
    if parameters:
        header["parameters"] = parameters
    encoded = json.dumps(header).encode()
    blobs = [tensor._get_binary_data() for tensor in inputs]
    binary = b"".join(blob for blob in blobs if blob is not None)
    return encoded + binary, (str(len(encoded)) if binary else None)


def bytes_input(name: str, values: list[str], binary: bool) -> triton.InferInput:
    tensor = triton.InferInput(name, [len(values)], "BYTES")
    tensor.set_data_from_numpy(np.array(values, dtype=object), binary_data=binary)
    return tensor


def test_bytes_round_trip_matches_tritonclient() -> None:
    ours = serialize_bytes(TEXTS)
    theirs = serialize_byte_tensor(np.array(TEXTS, dtype=object)).item()
    assert ours == theirs
    assert deserialize_bytes(theirs, "x") == TEXTS


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_inputs_parse_in_both_encodings(binary: bool) -> None:
    body, length = client_body(
        [bytes_input("question", TEXTS, binary), bytes_input("context", TEXTS[::-1], binary)],
        task="qa",
    )
    parsed = parse_request(body, length)
    assert parsed.inputs["question"].data == TEXTS
    assert parsed.inputs["context"].data == TEXTS[::-1]
    assert parsed.inputs["context"].shape == (3,)
    assert parsed.parameters["task"] == "qa"
    assert parsed.outputs is None


def test_nested_json_data_is_read_row_major() -> None:
    body = {"inputs": [{"name": "t", "datatype": "BYTES", "shape": [2, 1], "data": [["a"], ["b"]]}]}
    assert parse_request(json.dumps(body).encode(), None).inputs["t"].data == ["a", "b"]


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        ({"name": "t", "datatype": "INT64", "shape": [1], "data": [1]}, "expected BYTES"),
        ({"name": "t", "datatype": "BYTES", "shape": [2], "data": ["a"]}, "holds 2 elements"),
        ({"name": "t", "datatype": "BYTES", "shape": [1], "data": [3]}, "must be strings"),
        ({"name": "t", "datatype": "BYTES", "shape": [1]}, "neither data"),
        (
            {"name": "t", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 9}},
            "overruns the body",
        ),
    ],
)
def test_malformed_inputs_are_refused(tensor: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_request(json.dumps({"inputs": [tensor]}).encode(), None)


def test_cut_binary_elements_and_bad_headers_are_refused() -> None:
    with pytest.raises(InvalidInput, match="ends inside an element"):
        deserialize_bytes(serialize_bytes(["abcdef"])[:-2], "t")
    with pytest.raises(InvalidInput, match="not UTF-8"):
        deserialize_bytes(b"\x01\x00\x00\x00\xff", "t")
    with pytest.raises(InvalidInput, match="does not fit the body"):
        parse_request(b"{}", "99")
    with pytest.raises(InvalidInput, match="inputs"):
        parse_request(b'{"inputs": []}', None)


def test_requested_outputs_choose_their_encoding() -> None:
    body = {
        "inputs": [{"name": "t", "datatype": "BYTES", "shape": [1], "data": ["a"]}],
        "outputs": [{"name": "label", "parameters": {"binary_data": True}}, {"name": "scores"}],
    }
    parsed = parse_request(json.dumps(body).encode(), None)
    assert parsed.binary("label") and not parsed.binary("scores")
    everything = {"inputs": body["inputs"], "parameters": {"binary_data_output": True}}
    assert parse_request(json.dumps(everything).encode(), None).binary("scores")


OUTPUTS = [
    Tensor("answer", "BYTES", (2,), ["the Romans", ""]),
    Tensor("start", "INT64", (2,), [10, 0]),
    Tensor("scores", "FP32", (2, 2), [0.25, 0.75, 0.5, 0.5], {"labels": "a,b"}),
]


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_responses_read_back_with_tritonclient(binary: bool) -> None:
    body, length = render_response({"model_name": "m"}, OUTPUTS, lambda _: binary)
    assert (length is not None) == binary
    result = triton.InferResult.from_response_body(body, header_length=length)
    assert [a.decode() if binary else a for a in result.as_numpy("answer")] == ["the Romans", ""]
    assert result.as_numpy("start").tolist() == [10, 0]
    assert result.as_numpy("start").dtype == np.int64
    scores = result.as_numpy("scores")
    assert scores.shape == (2, 2) and scores.dtype == np.float32
    assert scores.tolist() == [[0.25, 0.75], [0.5, 0.5]]
    assert result.get_output("scores")["parameters"]["labels"] == "a,b"
    assert result.get_response()["model_name"] == "m"
