"""Domain errors shared by training, export, the server and the batch job.

They carry no HTTP knowledge; `road.service.errors` maps them to responses in one place.
"""

from __future__ import annotations


class RoadError(Exception):
    """Base class of every error road raises on purpose."""


class InputTooLong(RoadError):
    """An input field does not fit the model's limits."""

    def __init__(self, field: str, limit: int, actual: int, unit: str = "tokens") -> None:
        super().__init__(f"{field} is too long: {actual} {unit}, the limit is {limit} {unit}")
        self.field = field
        self.limit = limit
        self.actual = actual
        self.unit = unit


class Overloaded(RoadError):
    """The server's queue is full; the client should retry later."""

    def __init__(self, retry_after_s: float = 1.0) -> None:
        super().__init__("the server is overloaded, retry later")
        self.retry_after_s = retry_after_s


class BundleError(RoadError):
    """A model bundle is missing, malformed or fails verification."""


class GoldenDrift(BundleError):
    """The bundle's golden rows give other outputs here than at export, beyond tolerance.

    `rows` names the drifting rows (`task/id`); `fields` is the structured report for logs.
    """

    def __init__(
        self, detail: str, rows: tuple[str, ...] = (), fields: dict[str, object] | None = None
    ) -> None:
        super().__init__(detail)
        self.rows = rows
        self.fields = fields or {}


class ParityError(RoadError):
    """An exported graph disagrees with its source checkpoint beyond tolerance."""


class NotReady(RoadError):
    """The model is still loading or warming up, or the server is draining."""


class DeadlineExceeded(RoadError):
    """A request's deadline passed before its inference ran; it was never run."""

    def __init__(self, detail: str = "the request's deadline passed before it could run") -> None:
        super().__init__(detail)


class ClientGone(RoadError):
    """The client disconnected before its request was answered; its rows were dropped."""


class InferenceFailed(RoadError):
    """A session run failed; only the requests that shared that batch see this error."""


class Unauthorized(RoadError):
    """A request to a protected path without a valid API key."""


class PayloadTooLarge(RoadError):
    """A request body over the server's size limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than the limit of {limit} bytes")
        self.limit = limit


class TaskNotFound(RoadError):
    """The bundle does not hold the task a request names."""

    def __init__(self, task: str, served: tuple[str, ...]) -> None:
        super().__init__(f"this bundle serves no task {task!r} (it serves: {', '.join(served)})")
        self.task = task


class ModelNotFound(RoadError):
    """A request names a model, or a version of it, that the server does not serve."""


class InvalidInput(RoadError):
    """A request's inputs are malformed: wrong tensor names, types, shapes or encoding."""


class ModelLoadFailed(RoadError):
    """A model version could not be loaded (integrity, session, warmup or golden check);
    what was served before still is."""
