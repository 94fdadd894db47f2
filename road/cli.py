"""The `road` command line: train, export, serve. Heavy imports stay inside each command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from road.export.options import ExportOptions
from road.options import model_default
from road.score.command import score as score_command

app = typer.Typer(add_completion=False, no_args_is_help=True)
# `road export`'s defaults are ExportOptions' (precision's depends on the target: None here).
EXPORT = {name: model_default(ExportOptions, name) for name in (
    "target", "quantization", "optimize", "dev_limit", "atol", "metric_budget", "trt_opt_batch",
    "trt_max_batch", "calibration",
)}  # fmt: skip


@app.callback()
def main() -> None:
    """road: distil, export and serve small multi-task ELECTRA students for QA and NLI."""


@app.command()
def train(
    config: Annotated[Path | None, typer.Argument(help="YAML training config")] = None,
    overrides: Annotated[list[str], typer.Option("--set", help="dotted.key=value override")] = [],  # noqa: B006
) -> None:
    """Train a student or teacher (QA, NLI or both; distillation per config); resumes from
    OUTPUT_DIR/checkpoint-last. Several processes/GPUs: `accelerate launch -m road train ...`.
    """
    import json

    from road.training.config import load_config
    from road.training.loop import train as run_training

    metrics = run_training(load_config(config, overrides))
    typer.echo(json.dumps(metrics, indent=2))


@app.command()
def compact(
    checkpoint: Annotated[
        Path, typer.Argument(help="Checkpoint directory written by `road train`")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Compact checkpoint directory to write")],
    dtype: Annotated[str, typer.Option(help="fp16 or bf16 weights")] = "fp16",
    evaluate: Annotated[
        bool, typer.Option(help="Score the compact weights on the full dev files")
    ] = False,
) -> None:
    """Write a compact (fp16/bf16) checkpoint to commit; `resume_from` continues from it."""
    import json

    from road.training.compact import DTYPES, compact_checkpoint

    if dtype not in DTYPES:
        raise typer.BadParameter(f"dtype must be one of {sorted(DTYPES)}")
    record = compact_checkpoint(checkpoint, out, dtype, evaluate)
    typer.echo(json.dumps(record, indent=2))


@app.command()
def export(
    checkpoint: Annotated[
        Path, typer.Argument(help="Checkpoint directory written by `road train`")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Bundle directory to write")],
    target: Annotated[str, typer.Option(help="cpu, cuda or tensorrt")] = EXPORT["target"],
    precision: Annotated[
        str | None, typer.Option(help="cpu: int8|fp32; cuda, tensorrt: fp16|fp32")
    ] = None,
    quantization: Annotated[
        str, typer.Option(help="int8: dynamic or static")
    ] = EXPORT["quantization"],
    optimize: Annotated[
        bool, typer.Option(help="ONNX Runtime transformer fusions")
    ] = EXPORT["optimize"],
    dev_limit: Annotated[
        int | None, typer.Option(help="Evaluate the quality gate on the first N dev examples")
    ] = EXPORT["dev_limit"],
    atol: Annotated[
        float, typer.Option(help="Max |logit difference| PyTorch vs ONNX (fp32 graphs)")
    ] = EXPORT["atol"],
    metric_budget: Annotated[
        float, typer.Option(help="Max drop in F1/EM/accuracy points")
    ] = EXPORT["metric_budget"],
    trt_opt_batch: Annotated[
        int, typer.Option(help="TensorRT profile: opt batch")
    ] = EXPORT["trt_opt_batch"],
    trt_max_batch: Annotated[
        int, typer.Option(help="TensorRT profile: max batch")
    ] = EXPORT["trt_max_batch"],
    calibration: Annotated[
        str, typer.Option(help="static int8 calibrator: minmax, percentile or entropy")
    ] = EXPORT["calibration"],
    card_notes: Annotated[
        Path | None, typer.Option(help="Markdown appended to the bundle's MODEL_CARD.md")
    ] = None,
) -> None:
    """Export a checkpoint to a verified bundle for a target (docs/export.md)."""
    from road.core.errors import RoadError
    from road.export.pipeline import export_bundle

    if quantization not in ("dynamic", "static"):
        raise typer.BadParameter("quantization must be dynamic or static")
    if calibration not in ("minmax", "percentile", "entropy"):
        raise typer.BadParameter("calibration must be minmax, percentile or entropy")
    try:
        manifest = export_bundle(
            checkpoint,
            out,
            target=target,  # type: ignore[arg-type]
            precision=precision,  # type: ignore[arg-type]
            quantization=quantization,  # type: ignore[arg-type]
            optimize=optimize,
            dev_limit=dev_limit,
            atol=atol,
            metric_budget=metric_budget,
            trt_opt_batch=trt_opt_batch,
            trt_max_batch=trt_max_batch,
            calibration=calibration,
            card_notes=str(card_notes) if card_notes else None,
        )
    except RoadError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    shown = {"target", "precision", "quantization", "fusions", "tensorrt", "tasks", "quality"}
    typer.echo(manifest.model_dump_json(indent=2, include=shown))


@app.command()
def inspect(
    bundle: Annotated[Path, typer.Argument(help="Bundle directory")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Verify a bundle; print its manifest, file sizes, metrics and execution providers."""
    import json

    from road.core.errors import BundleError
    from road.runtime.report import bundle_report, format_report

    try:
        report = bundle_report(bundle)
    except BundleError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(json.dumps(report, indent=2) if as_json else format_report(report))


@app.command()
def calibrate(
    bundle: Annotated[Path, typer.Argument(help="Bundle directory (its manifest is rewritten)")],
    dev: Annotated[
        list[str], typer.Option(help="Labelled dev JSON lines: TASK=PATH, or PATH for the one task")
    ],
    limit: Annotated[int | None, typer.Option(help="Use the first N dev rows")] = None,
    threads: Annotated[int, typer.Option(help="ONNX Runtime intra-op threads")] = 1,
) -> None:
    """Fit the bundle's classification temperatures on dev (even rows; ECE on the odd ones)."""
    import json

    from road.core.errors import RoadError
    from road.export.calibrate import calibrate_bundle, dev_files

    try:
        records = calibrate_bundle(bundle, dev_files(bundle, dev), limit, threads)
    except RoadError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(json.dumps(records, indent=2))


@app.command()
def golden(
    bundle: Annotated[Path, typer.Argument(help="Bundle directory (rewritten in place)")],
    dev: Annotated[
        list[str],
        typer.Option("--dev", help="TASK=PATH: a task's dev file (SQuAD JSON or JSON lines)"),
    ] = [],  # noqa: B006
    threads: Annotated[int, typer.Option(help="ONNX Runtime threads")] = 1,
) -> None:
    """Compute a bundle's golden rows with its own graph (export does it too); re-hash its
    manifest. The server re-runs them at start and refuses readiness on drift."""
    import json

    from road.core.errors import BundleError
    from road.runtime.golden_build import add_golden
    from road.runtime.session import SessionOptions

    pairs = [entry.partition("=") for entry in dev]
    if not pairs or any(not task or not path for task, _, path in pairs):
        raise typer.BadParameter("give each task's dev file as --dev TASK=PATH", param_hint="--dev")
    try:
        result = add_golden(
            bundle, {task: Path(path) for task, _, path in pairs}, SessionOptions(threads)
        )
    except BundleError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    rows = {task: sum(r.task == task for r in result.rows) for task, _, _ in pairs}
    typer.echo(json.dumps({"bundle": str(bundle), "provider": result.provider, "rows": rows}))


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def serve(ctx: typer.Context) -> None:
    """Serve /qa and /nli from a bundle: road serve [BUNDLE] [--flags]; see --help.

    `--model-repository DIR` serves DIR/NAME/VERSION/ bundles instead, loaded and unloaded on
    /v2/repository (docs/service.md, "Model repository").

    Every setting is a flag and an env var (ROAD_*); docs/service.md has the table. API keys
    come only from ROAD_API_KEYS or --api-keys-file.
    """
    from road.service.main import main as run_server

    raise typer.Exit(run_server(ctx.args))


# `road score` lives with the batch job (road.score); its module imports only typer until it runs.
app.command()(score_command)
