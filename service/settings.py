"""Server settings: environment variables (ROAD_*) and CLI flags, built once in `road serve`.

The model layer's part (bundle, session, batching, input limits) is
`road.runtime.settings.ModelSettings`; this adds what only HTTP needs. Every field is env var
`ROAD_<FIELD>` and flag `--<field-with-dashes>`; docs/service.md has the table. API keys are the
exception: env or file only, never a flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import CliSettingsSource, CliSuppress, SettingsConfigDict

from road.runtime.settings import ModelSettings

SECRET_FLAGS = ("--api-keys", "--api_keys")


class ServerSettings(ModelSettings):
    """Everything `road serve` can be told: the model layer's settings plus HTTP."""

    model_config = SettingsConfigDict(
        env_prefix="ROAD_",
        extra="ignore",
        cli_kebab_case=True,
        cli_implicit_flags=True,
        cli_prog_name="road serve [BUNDLE]",
    )

    host: str = Field("127.0.0.1", description="Interface to bind; 0.0.0.0 in containers")
    port: int = Field(8000, ge=0, le=65535, description="TCP port")
    log_level: str = Field("info", description="Python log level")
    log_format: Literal["json", "text"] = Field("json", description="Log line format")
    access_log: bool = Field(True, description="One log line per request")
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

    model_repository: Path | None = Field(
        None, description="Serve DIR/NAME/VERSION/ bundles (load/unload on /v2/repository)"
    )
    model_versions: dict[str, int] = Field(
        default_factory=dict,
        description='Pinned versions, JSON: {"road": 1}; unpinned models serve their highest',
    )
    default_model: str | None = Field(
        None, description="Model of /qa, /nli, /v1/tasks without X-Road-Model; default: road"
    )

    @model_validator(mode="after")
    def _one_source(self) -> ServerSettings:
        if self.model_repository is not None and "bundle" in self.model_fields_set:
            raise ValueError("give a bundle or --model-repository, not both")
        return self

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
