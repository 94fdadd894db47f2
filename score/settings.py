"""The model layer's settings for one job: from flags, and from the environment only when asked.

`road serve` reads `ROAD_*` by design: a server is configured by its deployment. A batch job is
a command whose output should follow from its command line, so `road score` reads no
environment unless `--env-prefix` names one (`--env-prefix ROAD_` takes a server's settings).
"""

from __future__ import annotations

from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from road.runtime.settings import ModelSettings


class FlagSettings(ModelSettings):
    """`ModelSettings` from the values given and the defaults, never the environment."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def job_settings(values: dict[str, Any], env_prefix: str | None = None) -> ModelSettings:
    """`values` over the defaults; with `env_prefix`, over `<prefix><FIELD>` variables too."""
    if env_prefix is None:
        return FlagSettings(**values)
    return ModelSettings(_env_prefix=env_prefix, **values)
