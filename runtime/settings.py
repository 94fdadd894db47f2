"""Model-layer settings: the bundle, its session, batching and input limits (ROAD_* env vars).

`road serve` extends them with its HTTP settings (`road.service.settings.ServerSettings`);
`road score` takes these alone, from its flags, and reads the environment only when asked
(`road.score.settings`, docs/score.md). docs/service.md has the table of every setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_bundle() -> Path:
    """The bundle that ships inside the package: road/default_bundle."""
    import road

    return Path(road.__file__).resolve().parent / "default_bundle"


class BatchSettings(BaseSettings):
    """Dynamic batching and queue knobs; docs/service.md explains how they interact."""

    model_config = SettingsConfigDict(env_prefix="ROAD_", extra="ignore")

    max_batch_size: int = Field(32, ge=1, description="Most rows (QA windows + NLI pairs) per run")
    max_batch_tokens: int = Field(
        # 512, not thousands: on CPU a big padded batch costs more per token than it saves
        # (docs/performance.md, "Batch-size knobs"); GPU deployments raise it.
        512,
        ge=1,
        description="Most padded tokens (rows × padded width) per run",
    )
    max_wait_ms: float = Field(
        2.0, ge=0, description="How long a batch that is not full waits for more rows"
    )
    pad_multiple: int = Field(
        1, ge=1, description="Pad each batch's width up to a multiple of this (e.g. 8)"
    )
    pad_buckets: list[int] = Field(
        default_factory=list,
        description="Bucket ladder of padded widths, e.g. [64,128,256]; empty: no ladder",
    )
    pack_window: int = Field(
        256, ge=1, description="Oldest queued rows considered when packing by length"
    )
    max_row_age_ms: float = Field(
        250.0, ge=0, description="A row older than this is run next, whatever its length"
    )
    max_queue_rows: int = Field(2048, ge=1, description="Queue bound in rows; beyond: 429")
    max_queue_tokens: int = Field(
        262_144, ge=1, description="Queue bound in unpadded tokens; beyond: 429"
    )

    @model_validator(mode="after")
    def _ladder_ascends(self) -> BatchSettings:
        if any(b < 1 for b in self.pad_buckets) or self.pad_buckets != sorted(self.pad_buckets):
            raise ValueError("pad_buckets must be positive and ascending")
        return self

    @property
    def batch(self) -> BatchSettings:
        """Just the batching knobs (what `Batcher` and batch jobs take)."""
        fields = set(BatchSettings.model_fields)
        # Already validated; constructing (not validating) reads no environment a second time.
        return BatchSettings.model_construct(**self.model_dump(include=fields))


class ModelSettings(BatchSettings):
    """What the model layer is told, by `road serve` and `road score` alike."""

    bundle: Path = Field(default_factory=default_bundle, description="Bundle directory to serve")
    intra_op_threads: int | None = Field(None, ge=1, description="ORT threads; default: CPU quota")
    inter_op_threads: int = Field(1, ge=1, description="ORT inter-op threads")
    graph_optimization_level: Literal["disabled", "basic", "extended", "all"] = Field(
        "all", description="ORT graph optimisation level"
    )
    max_question_chars: int = Field(2_000, ge=1, description="Longest question accepted")
    max_context_chars: int = Field(100_000, ge=1, description="Longest QA context accepted")
    # 20,000 characters is about 4,000 tokens of English: a premise of 2,000 tokens fits.
    max_nli_chars: int = Field(
        20_000, ge=1, description="Longest premise or hypothesis (any classification text)"
    )
    max_nli_windows: int = Field(
        64, ge=1, description="Most windows a long text pair is cut into; beyond: 422"
    )
    golden_check: Literal["enforce", "warn", "off"] = Field(
        "enforce",
        description="The bundle's golden rows at start and load: drift refuses (enforce), "
        "is only logged (warn), or is not checked (off)",
    )
