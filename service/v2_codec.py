"""Open Inference Protocol v2 tensors on the wire: JSON data and the binary tensor data extension.

`tritonclient.http` sends inputs as binary data by default: the body is the JSON header
(`Inference-Header-Content-Length` bytes) followed by each input's bytes in input order, a
BYTES element being a little-endian uint32 length and its bytes. Without `outputs` it asks
for every output in binary (`binary_data_output`), so responses use the same layout.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from road.core.errors import InvalidInput

HEADER_LENGTH = "Inference-Header-Content-Length"
BINARY_SIZE = "binary_data_size"
_LENGTH = struct.Struct("<I")
# Little-endian numpy types of the fixed-size datatypes road answers with.
NUMPY_TYPES: dict[str, str] = {"INT64": "<i8", "FP32": "<f4"}


class _Wire(BaseModel):
    # Lenient: clients add fields of other extensions (shared memory, classification, ...).
    model_config = ConfigDict(extra="ignore")


class _InputTensor(_Wire):
    name: str
    shape: list[int] = Field(min_length=1)
    datatype: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    data: list[Any] | None = None


class _OutputTensor(_Wire):
    name: str
    parameters: dict[str, Any] = Field(default_factory=dict)


class _InferHeader(_Wire):
    id: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    inputs: list[_InputTensor] = Field(min_length=1)
    outputs: list[_OutputTensor] | None = None


@dataclass(frozen=True)
class Tensor:
    """A named tensor; `data` is flat, in row-major order."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    data: list[Any]
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InferRequest:
    id: str | None
    inputs: dict[str, Tensor]
    parameters: dict[str, Any]
    # Requested output name → sent as binary data; None: every output.
    outputs: dict[str, bool] | None

    def binary(self, name: str) -> bool:
        """Is this output sent as binary data (its own `binary_data`, else the request's)?"""
        if self.outputs is not None and name in self.outputs:
            return self.outputs[name]
        return bool(self.parameters.get("binary_data_output", False))


def serialize_bytes(items: Sequence[str]) -> bytes:
    """BYTES elements in the binary extension's layout (length-prefixed UTF-8)."""
    parts = []
    for item in items:
        encoded = item.encode("utf-8")
        parts += [_LENGTH.pack(len(encoded)), encoded]
    return b"".join(parts)


def deserialize_bytes(raw: bytes, name: str) -> list[str]:
    """The UTF-8 strings of a binary BYTES tensor; `InvalidInput` when it is cut or not UTF-8."""
    items, cursor = [], 0
    while cursor < len(raw):
        if cursor + _LENGTH.size > len(raw):
            raise InvalidInput(f"input {name!r}: binary data ends inside an element's length")
        (length,) = _LENGTH.unpack_from(raw, cursor)
        cursor += _LENGTH.size
        if cursor + length > len(raw):
            raise InvalidInput(f"input {name!r}: binary data ends inside an element")
        try:
            items.append(raw[cursor : cursor + length].decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"input {name!r}: an element is not UTF-8 text") from exc
        cursor += length
    return items


def _flat(data: list[Any]) -> list[Any]:
    """JSON tensor data may be nested by shape; the protocol reads it in row-major order."""
    out: list[Any] = []
    for item in data:
        out += _flat(item) if isinstance(item, list) else [item]
    return out


def _split(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    if header_length is None:
        return body, b""
    if not header_length.isdigit() or int(header_length) > len(body):
        raise InvalidInput(f"{HEADER_LENGTH} {header_length!r} does not fit the body")
    size = int(header_length)
    return body[:size], body[size:]


def _input(given: _InputTensor, binary: bytes, cursor: int) -> tuple[Tensor, int]:
    """One BYTES input, from its JSON data or its slice of the binary part at `cursor`."""
    if given.datatype != "BYTES":
        raise InvalidInput(f"input {given.name!r}: datatype {given.datatype}, expected BYTES")
    size = given.parameters.get(BINARY_SIZE)
    if size is not None:
        if not isinstance(size, int) or size < 0 or cursor + size > len(binary):
            raise InvalidInput(f"input {given.name!r}: {BINARY_SIZE} {size!r} overruns the body")
        data: list[Any] = deserialize_bytes(binary[cursor : cursor + size], given.name)
        cursor += size
    elif given.data is not None:
        data = _flat(given.data)
        if not all(isinstance(item, str) for item in data):
            raise InvalidInput(f"input {given.name!r}: BYTES data must be strings")
    else:
        raise InvalidInput(f"input {given.name!r} has neither data nor {BINARY_SIZE}")
    if math.prod(given.shape) != len(data):
        raise InvalidInput(
            f"input {given.name!r}: shape {given.shape} holds {math.prod(given.shape)} "
            f"elements, the data {len(data)}"
        )
    return Tensor(given.name, given.datatype, tuple(given.shape), data), cursor


def parse_request(body: bytes, header_length: str | None) -> InferRequest:
    """An inference request's header and BYTES inputs; `InvalidInput` on any malformed part."""
    header_bytes, binary = _split(body, header_length)
    try:
        header = _InferHeader.model_validate_json(header_bytes)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidInput(f"invalid inference request: {where}: {first['msg']}") from exc
    inputs: dict[str, Tensor] = {}
    cursor = 0
    for given in header.inputs:
        if given.name in inputs:
            raise InvalidInput(f"input {given.name!r} is given twice")
        inputs[given.name], cursor = _input(given, binary, cursor)
    binary_all = bool(header.parameters.get("binary_data_output", False))
    outputs = (
        None
        if header.outputs is None
        else {o.name: bool(o.parameters.get("binary_data", binary_all)) for o in header.outputs}
    )
    return InferRequest(header.id, inputs, header.parameters, outputs)


def _raw(tensor: Tensor) -> bytes:
    if tensor.datatype == "BYTES":
        return serialize_bytes(tensor.data)
    return np.asarray(tensor.data, dtype=NUMPY_TYPES[tensor.datatype]).tobytes()


def render_response(
    header: dict[str, Any], tensors: Sequence[Tensor], binary: Callable[[str], bool]
) -> tuple[bytes, int | None]:
    """The response body and, when some output is binary, the JSON header's length."""
    described, blobs = [], []
    for tensor in tensors:
        entry: dict[str, Any] = {
            "name": tensor.name,
            "datatype": tensor.datatype,
            "shape": list(tensor.shape),
        }
        parameters = dict(tensor.parameters)
        if binary(tensor.name):
            blobs.append(_raw(tensor))
            parameters[BINARY_SIZE] = len(blobs[-1])
        else:
            entry["data"] = list(tensor.data)
        if parameters:
            entry["parameters"] = parameters
        described.append(entry)
    encoded = json.dumps({**header, "outputs": described}).encode("utf-8")
    if not blobs:
        return encoded, None
    return encoded + b"".join(blobs), len(encoded)
