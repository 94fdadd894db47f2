"""Scores one chunk of rows with the model layer the server uses; both engines call it.

Validation, limits, tokenization and post-processing (the task's head, `road.runtime.heads`),
batching by tokens (`road.runtime.packing.plan_batches`) and padding (`road.core.rows`) are the
server's too, so a row gets the answer `POST /v1/tasks/{task}` (or `/qa`, `/nli`) would give it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pyarrow as pa
from pydantic import ValidationError

from road.core.errors import InputTooLong, TaskNotFound
from road.core.rows import Row, RowOutput, run_batches
from road.runtime.heads import Head
from road.runtime.packing import padded_width, plan_for
from road.runtime.protocol import Schema
from road.runtime.session import Runtime
from road.runtime.settings import BatchSettings
from road.score.config import Limits, Task
from road.score.inputs import IdColumn, request_fields
from road.score.readers import RawRow, Unreadable

T = TypeVar("T")


@dataclass(frozen=True)
class BadRow:
    """A row the job could not score: its id (None when unreadable), row number and why."""

    id: Any
    row: int | None
    reason: str

    def record(self) -> dict[str, Any]:
        return {"id": self.id, "row": self.row, "reason": self.reason}


@dataclass(frozen=True)
class Scored:
    """One chunk's outcome: result records (id + response fields) in input order, bad rows."""

    results: list[dict[str, Any]]
    bad: list[BadRow]


class _Bad(Exception):
    def __init__(self, row_id: Any, reason: str) -> None:
        super().__init__(reason)
        self.row_id = row_id
        self.reason = reason


@dataclass(frozen=True)
class _Item:
    position: int
    row_id: Any
    request: Schema


class Scorer:
    """Validate → check limits → encode → plan batches → run → decode, for one chunk at a time."""

    def __init__(
        self, runtime: Runtime, task: Task, ids: IdColumn, limits: Limits, batch: BatchSettings
    ) -> None:
        self.runtime = runtime
        self.task = task
        head = runtime.heads.get(task)
        if head is None:
            raise TaskNotFound(task, tuple(runtime.heads))
        self.head: Head = head
        self.ids = ids
        self.limits = limits
        self.batch = batch
        self.fields = request_fields(head.spec)

    def score(self, rows: Sequence[RawRow], first_row: int | None) -> Scored:
        """Score rows; `first_row` numbers them (None on Ray, where ids must come from a column)."""
        outcomes: list[dict[str, Any] | BadRow | None] = [None] * len(rows)
        items: list[_Item] = []
        for position, raw in enumerate(rows):
            number = None if first_row is None else first_row + position
            try:
                items.append(self._validate(position, raw, number))
            except _Bad as bad:
                outcomes[position] = BadRow(bad.row_id, number, bad.reason)
        encoded = self._encode(items)
        good = [(item, rows_) for item, rows_ in zip(items, encoded) if isinstance(rows_, list)]
        for item, failure in zip(items, encoded):
            if isinstance(failure, InputTooLong):
                number = None if first_row is None else first_row + item.position
                outcomes[item.position] = BadRow(item.row_id, number, str(failure))
        for item, response in zip((i for i, _ in good), self._respond(good)):
            outcomes[item.position] = {self.ids.name: item.row_id, **response}
        return Scored(
            results=[o for o in outcomes if isinstance(o, dict)],
            bad=[o for o in outcomes if isinstance(o, BadRow)],
        )

    def _validate(self, position: int, raw: RawRow, number: int | None) -> _Item:
        if isinstance(raw, Unreadable):
            raise _Bad(None, raw.reason)
        row_id = self._row_id(raw, number)
        fields = {key: raw[key] for key in self.fields if raw.get(key) is not None}
        try:
            request = self.head.request.model_validate(fields)
            self.head.check(request, self.limits)
        except ValidationError as exc:
            raise _Bad(row_id, validation_reason(exc)) from exc
        except InputTooLong as exc:
            raise _Bad(row_id, str(exc)) from exc
        return _Item(position, row_id, request)

    def _row_id(self, raw: dict[str, Any], number: int | None) -> Any:
        if not self.ids.from_column:
            if number is None:
                raise _Bad(None, f"no id column {self.ids.name!r} and no row number")
            return number
        value = raw.get(self.ids.name)
        if value is None:
            raise _Bad(None, f"{self.ids.name}: missing")
        want_int = pa.types.is_integer(self.ids.type)
        if isinstance(value, bool) or not isinstance(value, int if want_int else str):
            expected = "an integer" if want_int else "a string"
            raise _Bad(value, f"{self.ids.name}: expected {expected} like the other ids")
        return value

    def _encode(self, items: Sequence[_Item]) -> list[list[Row] | InputTooLong]:
        """Each item's encoder rows; token limits refuse single items, never the whole chunk."""
        return per_item_on_error(
            lambda batch: self.head.encode([i.request for i in batch], self.limits), items
        )

    def _respond(self, good: Sequence[tuple[_Item, list[Row]]]) -> list[dict[str, Any]]:
        rows = [item_rows for _, item_rows in good]
        outputs = self.run([row for item_rows in rows for row in item_rows])
        responses = self.head.decode([item.request for item, _ in good], rows, outputs)
        return [response.model_dump(exclude_none=True) for response in responses]

    def run(self, rows: Sequence[Row]) -> list[RowOutput]:
        """Every row's outputs, packed and padded as the server's batcher packs a queue of them.

        Batch mates matter: an int8 graph quantises activations per run, so a row's scores move
        slightly with the rows it shares a run with.
        """
        knobs = self.batch
        # Arrival order inside a batch, as the server runs it.
        plan = [sorted(batch) for batch in plan_for([len(row) for row in rows], knobs)]
        return run_batches(
            self.runtime.run,
            rows,
            plan,
            self.runtime.token_outputs,
            lambda longest: padded_width(longest, knobs.pad_multiple, knobs.pad_buckets),
        )


def per_item_on_error(
    encode: Callable[[Sequence[T]], list[list[Row]]], items: Sequence[T]
) -> list[list[Row] | InputTooLong]:
    """Encode all items at once; if one is too long, encode one by one to find which."""
    if not items:
        return []
    try:
        return list(encode(items))
    except InputTooLong:
        pass
    results: list[list[Row] | InputTooLong] = []
    for item in items:
        try:
            results.append(encode([item])[0])
        except InputTooLong as exc:
            results.append(exc)
    return results


def validation_reason(exc: ValidationError) -> str:
    """Pydantic errors as the server's 422 detail words them: `field: message; ...`."""
    return "; ".join(
        f"{'.'.join(map(str, e.get('loc', ())))}: {e.get('msg')}" for e in exc.errors()[:5]
    )
