"""The `road score` command. Imports nothing heavy until it runs (pyarrow is the `score` extra).

Every default below is read from `JobConfig` or `ModelSettings` (`road.options`); the command
reads no environment unless `--env-prefix` asks for it (`road.score.settings`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, get_args

import typer

from road.options import model_default, setting
from road.runtime.settings import ModelSettings
from road.score.config import Engine, JobConfig, OutputFormat

ENGINES: tuple[str, ...] = get_args(Engine)
FORMATS: tuple[str, ...] = get_args(OutputFormat)
M = ModelSettings
# Flags that set a model-layer setting, by parameter name → ModelSettings field.
MODEL_FLAGS = {
    "bundle": "bundle",
    "threads": "intra_op_threads",
    "inter_op_threads": "inter_op_threads",
    "graph_optimization_level": "graph_optimization_level",
    "max_batch_size": "max_batch_size",
    "max_batch_tokens": "max_batch_tokens",
    "pad_multiple": "pad_multiple",
    "pad_buckets": "pad_buckets",
    "max_question_chars": "max_question_chars",
    "max_context_chars": "max_context_chars",
    "max_nli_chars": "max_nli_chars",
    "max_nli_windows": "max_nli_windows",
}
JOB = {name: model_default(JobConfig, name) for name in (
    "task", "engine", "output_format", "id_column", "chunk_rows", "overwrite", "progress",
    "ray_actors", "ray_cpus_per_actor",
)}  # fmt: skip
MODEL = {name: model_default(M, field) for name, field in MODEL_FLAGS.items() if name != "bundle"}


def _choice(name: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise typer.BadParameter(f"{name} must be one of {', '.join(allowed)}")


def score(
    ctx: typer.Context,
    inputs: Annotated[
        list[str],
        typer.Option(
            "--input", "-i", help="JSON lines, CSV or Parquet: path, dir or glob; repeatable"
        ),
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Output directory (shards + manifest)")
    ],
    bundle: Annotated[
        Path | None, typer.Option(help="Bundle directory; default: the shipped one")
    ] = None,
    task: Annotated[
        str | None,
        typer.Option(help="A task the bundle serves (e.g. qa, nli); default: from the columns"),
    ] = JOB["task"],
    engine: Annotated[
        str, typer.Option(help="local, or ray (RAY_ADDRESS or a local Ray)")
    ] = JOB["engine"],
    output_format: Annotated[
        str, typer.Option("--format", help=" or ".join(FORMATS))
    ] = JOB["output_format"],
    id_column: Annotated[
        str | None, typer.Option(help="Id column; default: `id`, else row number")
    ] = JOB["id_column"],
    chunk_rows: Annotated[
        int, typer.Option(min=1, help="Rows per shard: the unit of resume")
    ] = JOB["chunk_rows"],
    max_batch_size: Annotated[int, setting(M, "max_batch_size")] = MODEL["max_batch_size"],
    max_batch_tokens: Annotated[int, setting(M, "max_batch_tokens")] = MODEL["max_batch_tokens"],
    pad_multiple: Annotated[int, setting(M, "pad_multiple")] = MODEL["pad_multiple"],
    pad_buckets: Annotated[
        list[int],
        setting(M, "pad_buckets", help="Padded-width ladder, one --pad-buckets per rung"),
    ] = MODEL["pad_buckets"],
    max_question_chars: Annotated[
        int, setting(M, "max_question_chars")
    ] = MODEL["max_question_chars"],
    max_context_chars: Annotated[int, setting(M, "max_context_chars")] = MODEL["max_context_chars"],
    max_nli_chars: Annotated[int, setting(M, "max_nli_chars")] = MODEL["max_nli_chars"],
    max_nli_windows: Annotated[int, setting(M, "max_nli_windows")] = MODEL["max_nli_windows"],
    threads: Annotated[int | None, setting(M, "intra_op_threads")] = MODEL["threads"],
    inter_op_threads: Annotated[int, setting(M, "inter_op_threads")] = MODEL["inter_op_threads"],
    graph_optimization_level: Annotated[
        str, setting(M, "graph_optimization_level")
    ] = MODEL["graph_optimization_level"],
    env_prefix: Annotated[
        str | None,
        typer.Option(
            help="Also read the settings above from <PREFIX><SETTING> env vars, e.g. ROAD_ as "
            "`road serve` does; flags win. Default: no environment"
        ),
    ] = None,
    actors: Annotated[
        int, typer.Option(min=1, help="Ray: actors, one loaded bundle each")
    ] = JOB["ray_actors"],
    cpus_per_actor: Annotated[
        float, typer.Option(min=0.01, help="Ray: CPUs per actor (its ORT threads)")
    ] = JOB["ray_cpus_per_actor"],
    overwrite: Annotated[
        bool, typer.Option(help="Replace another job's output in --output")
    ] = JOB["overwrite"],
    progress: Annotated[bool, typer.Option(help="Progress on stderr")] = JOB["progress"],
) -> None:
    """Score rows of any task the bundle serves into Parquet/JSON lines shards, resumably.

    The task is the one whose input fields are the columns, or --task (docs/score.md).

    Exit codes: 0 all scored; 3 done, some rows bad (OUTPUT/_errors.jsonl); 1 failed; 2 usage.
    """
    _choice("--engine", engine, ENGINES)
    _choice("--format", output_format, FORMATS)
    flags = dict(
        inputs=tuple(inputs),
        output=output,
        task=task,
        engine=engine,
        output_format=output_format,
        id_column=id_column,
        chunk_rows=chunk_rows,
        overwrite=overwrite,
        progress=progress,
        ray_actors=actors,
        ray_cpus_per_actor=cpus_per_actor,
    )
    result = _run(flags, _given_settings(ctx), env_prefix)
    typer.echo(json.dumps(result, indent=2))
    raise typer.Exit(result["exit_code"])


def _given_settings(ctx: typer.Context) -> dict[str, Any]:
    """The model settings the command line names; the rest keep their defaults (or env)."""
    given: dict[str, Any] = {}
    for name, field in MODEL_FLAGS.items():
        source = ctx.get_parameter_source(name)
        # By name: typer ships its own copy of click, whose ParameterSource is not click's.
        if source is not None and source.name != "DEFAULT":
            given[field] = ctx.params[name]
    return given


def _run(flags: dict[str, Any], given: dict[str, Any], env_prefix: str | None) -> dict[str, Any]:
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from road.score.settings import job_settings

    try:
        settings = job_settings(given, env_prefix)
    except (ValidationError, SettingsError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        typer.echo("error: road score needs pyarrow: pip install 'road[score]'", err=True)
        raise typer.Exit(1) from exc
    return _score(JobConfig(**flags, bundle=settings.bundle), settings)


def _score(config: JobConfig, settings: ModelSettings) -> dict[str, Any]:
    from dataclasses import replace

    from road.core.errors import RoadError
    from road.runtime.session import SessionOptions
    from road.score.config import Limits
    from road.score.job import run_job

    # The job refuses and batches rows as a server given the same settings would.
    session = SessionOptions.from_settings(settings)
    limits = Limits.from_settings(settings)
    try:
        summary = run_job(replace(config, limits=limits, batch=settings.batch, session=session))
    except RoadError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"scored {summary.scored:,} of {summary.rows:,} rows ({summary.bad_rows:,} bad) in "
        f"{summary.seconds:,.1f} s, {summary.rows_per_s:,.1f} rows/s → {summary.output}",
        err=True,
    )
    return {**summary.as_dict(), "exit_code": summary.exit_code}
