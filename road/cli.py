"""The `road` command line: train, export, serve. Heavy imports stay inside each command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True)


@app.callback()
def main() -> None:
    """road: distil, export and serve small multi-task ELECTRA students for QA and NLI."""


@app.command()
def train(
    config: Annotated[Path | None, typer.Argument(help="YAML training config")] = None,
    overrides: Annotated[list[str], typer.Option("--set", help="dotted.key=value override")] = [],  # noqa: B006
) -> None:
    """Fine-tune a multi-task student on QA + NLI; resumes from OUTPUT_DIR/checkpoint-last."""
    import json

    from road.training.config import load_config
    from road.training.loop import train as run_training

    metrics = run_training(load_config(config, overrides))
    typer.echo(json.dumps(metrics, indent=2))


@app.command()
def export(
    checkpoint: Annotated[
        Path, typer.Argument(help="Checkpoint directory written by `road train`")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Bundle directory to write")],
    precision: Annotated[str, typer.Option(help="fp32 or int8")] = "int8",
    dev_limit: Annotated[
        int | None, typer.Option(help="Evaluate the quality gate on the first N dev examples")
    ] = None,
    atol: Annotated[
        float, typer.Option(help="Max |logit difference| PyTorch vs ONNX (fp32 graph)")
    ] = 1e-3,
    metric_budget: Annotated[float, typer.Option(help="Max drop in F1/EM/accuracy points")] = 1.0,
) -> None:
    """Export a checkpoint to a verified bundle (ONNX graph, tokenizer, manifest)."""
    from road.core.errors import RoadError
    from road.export.pipeline import export_bundle

    if precision not in ("fp32", "int8"):
        raise typer.BadParameter("precision must be fp32 or int8")
    try:
        manifest = export_bundle(
            checkpoint,
            out,
            precision=precision,
            dev_limit=dev_limit,
            atol=atol,
            metric_budget=metric_budget,  # type: ignore[arg-type]
        )
    except RoadError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(manifest.model_dump_json(indent=2, include={"precision", "tasks", "quality"}))


@app.command()
def serve(
    bundle: Annotated[
        Path | None,
        typer.Argument(help="Bundle directory; default: the bundle shipped with road"),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Interface to bind (env ROAD_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (env ROAD_PORT)")] = None,
) -> None:
    """Serve /qa and /nli from a bundle."""
    from road.service.main import serve as run_server
    from road.service.settings import ServerSettings

    flags = {
        key: value
        for key, value in {"bundle": bundle, "host": host, "port": port}.items()
        if value is not None
    }
    run_server(ServerSettings(**flags))
