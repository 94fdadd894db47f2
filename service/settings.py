"""Server settings: environment variables (ROAD_*) and CLI flags, built once in `main`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_bundle() -> Path:
    """The bundle that ships inside the package: road/default_bundle."""
    import road

    return Path(road.__file__).resolve().parent / "default_bundle"


class BatchSettings(BaseSettings):
    """Dynamic batching knobs; see docs/architecture.md for how they interact."""

    model_config = SettingsConfigDict(env_prefix="ROAD_", extra="ignore")

    max_batch_size: int = Field(32, ge=1, description="Most rows (QA windows + NLI pairs) per run")
    max_batch_tokens: int = Field(
        8192, ge=1, description="Most padded tokens (rows × longest) per run"
    )
    max_wait_ms: float = Field(
        2.0, ge=0, description="How long a batch waits to fill after its first row"
    )


class ServerSettings(BaseSettings):
    """Everything `road serve` can be told; each field is also env var ROAD_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="ROAD_", extra="ignore")

    bundle: Path = Field(default_factory=default_bundle, description="Bundle directory to serve")
    host: str = Field("127.0.0.1", description="Interface to bind; 0.0.0.0 in containers")
    port: int = Field(8000, ge=0, le=65535, description="TCP port")
    log_level: str = Field("info", description="Python log level")
    intra_op_threads: int | None = Field(None, ge=1, description="ORT threads; default: CPU quota")
    tokenizer_threads: int = Field(2, ge=1, description="Threads for tokenization and decoding")
    graceful_timeout_s: float = Field(20.0, ge=0, description="Drain time after SIGTERM")
    max_question_chars: int = Field(2_000, ge=1, description="Longest question accepted")
    max_context_chars: int = Field(100_000, ge=1, description="Longest QA context accepted")
    max_nli_chars: int = Field(4_000, ge=1, description="Longest premise or hypothesis accepted")
    max_batch_items: int = Field(64, ge=1, description="Most items in one batch request")
    batch: BatchSettings = Field(default_factory=BatchSettings)
