import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from road.runtime.settings import BatchSettings
from road.service.settings import ServerSettings, settings_from_cli

DOCS = Path(__file__).resolve().parents[2] / "docs" / "service.md"


def test_flags_override_env_and_a_leading_argument_is_the_bundle(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ROAD_MAX_WAIT_MS", "7")
    monkeypatch.setenv("ROAD_PORT", "9000")
    settings = settings_from_cli(
        [
            "/srv/bundle",
            "--port",
            "9001",
            "--max-batch-size",
            "4",
            "--no-access-log",
            "--pad-buckets",
            "[64,128]",
        ]
    )
    assert settings.bundle == Path("/srv/bundle")
    assert (settings.port, settings.max_wait_ms, settings.max_batch_size) == (9001, 7.0, 4)
    assert settings.access_log is False and settings.pad_buckets == [64, 128]
    assert settings.batch == BatchSettings(
        **{name: getattr(settings, name) for name in BatchSettings.model_fields}
    )


def test_api_keys_are_never_taken_from_a_flag(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    with pytest.raises(ValueError, match="never a flag"):
        settings_from_cli(["--api-keys", "secret"])
    with pytest.raises(ValueError, match="never a flag"):
        settings_from_cli(["--api-keys=secret"])
    keys = tmp_path / "keys"
    keys.write_text("from-file\n\n  spaced  \n")
    monkeypatch.setenv("ROAD_API_KEYS", "a, b,")
    settings = settings_from_cli(["--api-keys-file", str(keys)])
    assert settings.load_api_keys() == ["a", "b", "from-file", "spaced"]
    assert "a, b" not in repr(settings)


def test_invalid_values_are_refused():
    with pytest.raises(ValidationError):
        settings_from_cli(["--max-batch-size", "0"])
    with pytest.raises(ValidationError, match="ascending"):
        BatchSettings(pad_buckets=[128, 64])
    with pytest.raises(ValueError, match="unrecognized"):
        settings_from_cli(["--no-such-setting", "1"])


def test_the_docs_table_lists_every_setting_with_its_env_var_flag_and_default():
    rows = {
        match.group(1): line
        for line in DOCS.read_text().splitlines()
        if (match := re.match(r"\| `ROAD_([A-Z_]+)` \|", line))
    }
    for name, field in ServerSettings.model_fields.items():
        line = rows.get(name.upper())
        assert line is not None, f"docs/service.md has no row for ROAD_{name.upper()}"
        if name != "api_keys":
            assert f"--{name.replace('_', '-')}" in line
        default = field.get_default(call_default_factory=True)
        if isinstance(default, (int, float, str)) and not isinstance(default, bool):
            assert f"`{default}`" in line, (name, default)
    assert set(rows) == {name.upper() for name in ServerSettings.model_fields}
