"""What one scoring job is told: inputs, output, task, limits and batching knobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from road.core.errors import RoadError
from road.runtime.settings import BatchSettings, ModelSettings
from road.score.settings import job_settings

if TYPE_CHECKING:
    # Loads onnxruntime; `road score --help` reads this module's defaults without it.
    from road.runtime.session import SessionOptions

# A task the bundle serves, by name (its manifest lists them; `road.score.plan` checks).
Task = str
Engine = Literal["local", "ray"]
OutputFormat = Literal["parquet", "jsonl"]

# Exit codes of `road score` (docs/score.md).
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_ROWS = 3


class JobError(RoadError):
    """The job cannot start or go on: unreadable input, a refused resume, a missing extra."""


@dataclass(frozen=True)
class Limits:
    """The server's per-field character limits; token limits come from the bundle."""

    max_question_chars: int
    max_context_chars: int
    max_nli_chars: int
    max_nli_windows: int

    @classmethod
    def from_settings(cls, settings: ModelSettings) -> Limits:
        return cls(
            settings.max_question_chars,
            settings.max_context_chars,
            settings.max_nli_chars,
            settings.max_nli_windows,
        )


@dataclass(frozen=True)
class JobConfig:
    """One `road score` run. Limits and batch knobs default to the model layer's defaults."""

    bundle: Path
    inputs: tuple[str, ...]
    output: Path
    task: Task | None = None
    engine: Engine = "local"
    output_format: OutputFormat = "parquet"
    # None: the `id` column when the input has one, else the row number.
    id_column: str | None = None
    # Rows per shard (and per Ray batch): the unit of resume and of bounded memory.
    chunk_rows: int = 1024
    limits: Limits = field(default_factory=lambda: Limits.from_settings(job_settings({})))
    batch: BatchSettings = field(default_factory=lambda: job_settings({}).batch)
    # ONNX Runtime options, as `road serve` builds them from the same settings.
    session: SessionOptions = field(default_factory=lambda: _default_session())
    overwrite: bool = False
    progress: bool = True
    ray_actors: int = 1
    ray_cpus_per_actor: float = 1.0

    def fingerprint_options(self, task: Task, id_column: str) -> dict[str, Any]:
        """Everything that changes what the job writes; a resume must match it exactly."""
        return {
            "task": task,
            "output_format": self.output_format,
            "id_column": id_column,
            "chunk_rows": self.chunk_rows,
            "limits": vars(self.limits),
            # Batch composition moves int8 outputs (activation ranges are per batch).
            "max_batch_size": self.batch.max_batch_size,
            "max_batch_tokens": self.batch.max_batch_tokens,
            "pad_multiple": self.batch.pad_multiple,
            "pad_buckets": list(self.batch.pad_buckets),
        }


def _default_session() -> SessionOptions:
    from road.runtime.session import SessionOptions

    return SessionOptions()
