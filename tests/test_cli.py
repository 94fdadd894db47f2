"""Each CLI default is its config model's: a flag left out means what the model means.

Every option of `road score` and `road export` is matched to the model field it sets, and an
option that sets none must be listed here, so a new flag cannot restate a default unnoticed.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import pytest
import typer
from typer.main import get_command

from road.cli import app
from road.export.options import ExportOptions
from road.options import model_default, setting
from road.runtime.settings import ModelSettings
from road.score.command import MODEL_FLAGS
from road.score.config import JobConfig

# Options that set no model field: what to read and write, and how (not what) to configure.
SCORE_OWN = {"inputs", "output", "env_prefix", "bundle"}
SCORE_JOB = {"actors": "ray_actors", "cpus_per_actor": "ray_cpus_per_actor"}
# None: the target's fastest precision (road.export.targets.check_target), not one value.
EXPORT_OWN = {"checkpoint", "out", "precision"}


def options(name: str) -> dict[str, Any]:
    """The click parameters of `road NAME`, by Python name."""
    group = get_command(app)
    command = group.commands[name]  # type: ignore[attr-defined]
    return {param.name: param for param in command.params}


def drifted(params: Mapping[str, Any], fields: Mapping[str, tuple[type, str]]) -> dict[str, Any]:
    """Parameters whose default differs from their field's: name → (flag's, model's)."""
    found = {}
    for name, (model, field) in fields.items():
        flag, wanted = params[name].default, model_default(model, field)
        # click keeps a list option's default as given; compare contents, not containers.
        if isinstance(wanted, list):
            flag = list(flag or [])
        if flag != wanted:
            found[name] = (flag, wanted)
    return found


def score_fields() -> dict[str, tuple[type, str]]:
    params = options("score")
    fields: dict[str, tuple[type, str]] = {}
    for name in params:
        if name in MODEL_FLAGS and name != "bundle":
            fields[name] = (ModelSettings, MODEL_FLAGS[name])
        elif name not in SCORE_OWN:
            fields[name] = (JobConfig, SCORE_JOB.get(name, name))
    return fields


def test_every_score_option_has_its_models_default() -> None:
    fields = score_fields()
    # The walk is not empty: the batch knobs and the job's own options are both matched.
    assert {"max_batch_size", "threads", "max_nli_chars", "chunk_rows", "actors"} <= set(fields)
    assert drifted(options("score"), fields) == {}


def test_score_help_is_the_settings_description() -> None:
    params = options("score")
    for name in ("max_batch_size", "pad_multiple", "max_context_chars", "threads"):
        description = ModelSettings.model_fields[MODEL_FLAGS[name]].description
        assert params[name].help == description
    assert params["max_batch_size"].min == 1
    assert params["graph_optimization_level"].help.endswith("disabled, basic, extended, all")


def test_every_export_option_has_export_options_default() -> None:
    params = options("export")
    fields = {name: (ExportOptions, name) for name in params if name not in EXPORT_OWN}
    assert {"target", "quantization", "atol", "metric_budget", "trt_max_batch"} <= set(fields)
    assert drifted(params, fields) == {}


def test_compact_defaults_are_compact_checkpoints() -> None:
    pytest.importorskip("torch")
    from road.training.compact import compact_checkpoint

    defaults = inspect.signature(compact_checkpoint).parameters
    params = options("compact")
    assert params["dtype"].default == defaults["dtype"].default
    assert params["evaluate"].default == defaults["evaluate_dev"].default


def test_a_restated_default_that_drifts_is_caught() -> None:
    """The checker can fail: a command that writes 64 where the model says 32."""
    demo = typer.Typer()

    @demo.command()
    def run(
        max_batch_size: int = typer.Option(64),
        chunk_rows: int = typer.Option(1024),
    ) -> None:
        """A command with one drifted and one faithful default."""

    params = {p.name: p for p in get_command(demo).params}
    fields = {
        "max_batch_size": (ModelSettings, "max_batch_size"),
        "chunk_rows": (JobConfig, "chunk_rows"),
    }
    assert drifted(params, fields) == {"max_batch_size": (64, 32)}


def test_setting_takes_help_and_bounds_from_the_field() -> None:
    info = setting(ModelSettings, "max_queue_rows")
    assert (info.help, info.min) == (ModelSettings.model_fields["max_queue_rows"].description, 1)
    assert setting(ModelSettings, "max_queue_rows", help="mine").help == "mine"
