"""The `road score` command. Imports nothing heavy until it runs (pyarrow is the `score` extra)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

TASKS = ("qa", "nli")
ENGINES = ("local", "ray")
FORMATS = ("parquet", "jsonl")


def _choice(name: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise typer.BadParameter(f"{name} must be one of {', '.join(allowed)}")


def score(
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
    task: Annotated[str | None, typer.Option(help="qa or nli; default: from the columns")] = None,
    engine: Annotated[
        str, typer.Option(help="local, or ray (RAY_ADDRESS or a local Ray)")
    ] = "local",
    output_format: Annotated[str, typer.Option("--format", help="parquet or jsonl")] = "parquet",
    id_column: Annotated[
        str | None, typer.Option(help="Id column; default: `id`, else row number")
    ] = None,
    chunk_rows: Annotated[
        int, typer.Option(min=1, help="Rows per shard: the unit of resume")
    ] = 1024,
    max_batch_size: Annotated[
        int | None, typer.Option(min=1, help="Rows per run (env ROAD_MAX_BATCH_SIZE)")
    ] = None,
    max_batch_tokens: Annotated[
        int | None, typer.Option(min=1, help="Padded tokens per run (env ROAD_MAX_BATCH_TOKENS)")
    ] = None,
    threads: Annotated[
        int | None, typer.Option(min=1, help="ONNX Runtime threads; default: CPU quota")
    ] = None,
    actors: Annotated[int, typer.Option(min=1, help="Ray: actors, one loaded bundle each")] = 1,
    cpus_per_actor: Annotated[
        float, typer.Option(min=0.01, help="Ray: CPUs per actor (its ORT threads)")
    ] = 1.0,
    overwrite: Annotated[
        bool, typer.Option(help="Replace another job's output in --output")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Progress on stderr")] = True,
) -> None:
    """Score QA or NLI rows from files into Parquet/JSON lines shards, resumably (docs/score.md).

    Exit codes: 0 all scored; 3 done, some rows bad (OUTPUT/_errors.jsonl); 1 failed; 2 usage.
    """
    _choice("--task", task, TASKS)
    _choice("--engine", engine, ENGINES)
    _choice("--format", output_format, FORMATS)
    flags = dict(
        bundle=bundle,
        inputs=tuple(inputs),
        output=output,
        task=task,
        engine=engine,
        output_format=output_format,
        id_column=id_column,
        chunk_rows=chunk_rows,
        threads=threads,
        overwrite=overwrite,
        progress=progress,
        ray_actors=actors,
        ray_cpus_per_actor=cpus_per_actor,
    )
    batch = {"max_batch_size": max_batch_size, "max_batch_tokens": max_batch_tokens}
    result = _run(flags, {k: v for k, v in batch.items() if v is not None})
    typer.echo(json.dumps(result, indent=2))
    raise typer.Exit(result["exit_code"])


def _run(flags: dict[str, Any], batch: dict[str, int]) -> dict[str, Any]:
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        typer.echo("error: road score needs pyarrow: pip install 'road[score]'", err=True)
        raise typer.Exit(1) from exc
    from road.core.errors import RoadError
    from road.runtime.session import SessionOptions
    from road.runtime.settings import ModelSettings
    from road.score.config import JobConfig, Limits
    from road.score.job import run_job

    # The model layer's settings (ROAD_* env, as `road serve` reads them): the job refuses and
    # batches rows as the server would.
    settings = ModelSettings()
    threads = flags.pop("threads")
    session = SessionOptions.from_settings(settings, intra_op_threads=threads)
    try:
        config = JobConfig(
            **{**flags, "bundle": flags["bundle"] or settings.bundle},
            limits=Limits.from_settings(settings),
            batch=settings.batch.model_copy(update=batch),
            session=session,
        )
        summary = run_job(config)
    except RoadError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"scored {summary.scored:,} of {summary.rows:,} rows ({summary.bad_rows:,} bad) in "
        f"{summary.seconds:,.1f} s, {summary.rows_per_s:,.1f} rows/s → {summary.output}",
        err=True,
    )
    return {**summary.as_dict(), "exit_code": summary.exit_code}
