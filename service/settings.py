"""Server settings: environment variables (ROAD_*) and CLI flags, built once in `road serve`.

Every field is env var `ROAD_<FIELD>` and flag `--<field-with-dashes>`; docs/service.md has the
table. API keys are the exception: env or file only, never a flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, CliSettingsSource, CliSuppress, SettingsConfigDict

SECRET_FLAGS = ("--api-keys", "--api_keys")


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
        512, ge=1, description="Most padded tokens (rows × padded width) per run"
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
        return BatchSettings.model_validate(self.model_dump(include=fields))


class ServerSettings(BatchSettings):
    """Everything `road serve` can be told."""

    model_config = SettingsConfigDict(
        env_prefix="ROAD_",
        extra="ignore",
        cli_kebab_case=True,
        cli_implicit_flags=True,
        cli_prog_name="road serve [BUNDLE]",
    )

    bundle: Path = Field(default_factory=default_bundle, description="Bundle directory to serve")
    host: str = Field("127.0.0.1", description="Interface to bind; 0.0.0.0 in containers")
    port: int = Field(8000, ge=0, le=65535, description="TCP port")
    log_level: str = Field("info", description="Python log level")
    log_format: Literal["json", "text"] = Field("json", description="Log line format")
    access_log: bool = Field(True, description="One log line per request")
    intra_op_threads: int | None = Field(None, ge=1, description="ORT threads; default: CPU quota")
    inter_op_threads: int = Field(1, ge=1, description="ORT inter-op threads")
    graph_optimization_level: Literal["disabled", "basic", "extended", "all"] = Field(
        "all", description="ORT graph optimisation level"
    )
    tokenizer_threads: int = Field(2, ge=1, description="Threads for tokenization and decoding")
    max_in_flight: int = Field(
        512, ge=1, description="Most model requests being processed at once; beyond: 429"
    )
    request_timeout_s: float = Field(
        30.0, gt=0, description="Default deadline; a request not run by then gets 504"
    )
    max_request_timeout_s: float = Field(
        300.0, gt=0, description="Cap on the X-Request-Timeout-Ms header"
    )
    graceful_timeout_s: float = Field(20.0, ge=0, description="Drain time after SIGTERM")
    drain_delay_s: float = Field(
        1.0, ge=0, description="After SIGTERM: seconds unready but still accepting, then drain"
    )
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1, description="Largest request body; 413")
    max_question_chars: int = Field(2_000, ge=1, description="Longest question accepted")
    max_context_chars: int = Field(100_000, ge=1, description="Longest QA context accepted")
    max_nli_chars: int = Field(4_000, ge=1, description="Longest premise or hypothesis accepted")
    max_batch_items: int = Field(64, ge=1, description="Most items in one batch request")
    api_keys: CliSuppress[SecretStr | None] = Field(
        None, description="Comma-separated bearer keys (env only, never a flag); unset: no auth"
    )
    api_keys_file: Path | None = Field(
        None, description="File with one bearer key per line; auth is on when keys exist"
    )
    auth_exempt_paths: list[str] = Field(
        default_factory=lambda: ["/health", "/health/live", "/health/ready", "/metrics"],
        description="Paths served without a key",
    )

    def load_api_keys(self) -> list[str]:
        """Keys from ROAD_API_KEYS and ROAD_API_KEYS_FILE; empty means auth is off."""
        keys = self.api_keys.get_secret_value().split(",") if self.api_keys else []
        if self.api_keys_file is not None:
            keys += self.api_keys_file.read_text().splitlines()
        return [key.strip() for key in keys if key.strip()]


def settings_from_cli(args: Sequence[str]) -> ServerSettings:
    """Env vars, overridden by `road serve` flags; a leading positional argument is the bundle."""
    args = list(args)
    if any(arg.split("=")[0] in SECRET_FLAGS for arg in args):
        raise ValueError("API keys come from ROAD_API_KEYS or --api-keys-file, never a flag")
    if args and not args[0].startswith("-"):
        args = ["--bundle", *args]
    source: CliSettingsSource[ServerSettings] = CliSettingsSource(
        ServerSettings, cli_parse_args=args, cli_exit_on_error=False
    )
    return ServerSettings(_cli_settings_source=source(args=args))
