"""Export variants side by side: size, rows/s at batch 1 and 32, batch invariance, on dev rows.

Every bundle runs the same real dev rows (QA windows and NLI pairs encoded with the bundle's own
settings), interleaved round by round so that a noisy machine hurts every variant alike.

    python -m bench.export_bench fp32=/tmp/bundles/fp32 int8-dynamic=/tmp/bundles/int8-dynamic \
        --rows 64 --rounds 3 --out /tmp/export_bench.json

`speedup` is the ratio of median rows/s; `paired_speedup` the median over rounds of each
round's ratio against the first bundle (`all`: the four shapes' total time), the steadier one
on a shared machine.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import onnxruntime as ort
import typer

from bench.host import machine
from road.core.bundle import load_manifest
from road.core.data import read_nli, read_squad
from road.core.nli import NLIEncoder
from road.core.qa import QAEncoder
from road.core.rows import Row, pad_rows
from road.export.invariance import batch_invariance
from road.runtime.cpu import available_cpus

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BATCHES = (1, 32)


def dev_rows(bundle: Path, data: Path, count: int) -> dict[str, list[Row]]:
    """The first `count` QA dev windows and NLI dev pairs, encoded as the bundle serves them."""
    manifest = load_manifest(bundle)
    qa, nli = manifest.tasks.qa, manifest.tasks.nli
    assert qa is not None and nli is not None
    qa_encoder = QAEncoder.from_file(bundle, qa.max_seq_len, qa.doc_stride, qa.max_question_tokens)
    squad = read_squad(data / "qa" / "squadshifts-dev.json.gz")[:count]
    windows = qa_encoder.encode([e.question for e in squad], [e.context for e in squad])
    pairs = read_nli(data / "nli" / "vitaminc-dev.jsonl.gz")[:count]
    nli_encoder = NLIEncoder.from_file(bundle, nli.max_seq_len)
    return {
        "qa": [w for per_example in windows for w in per_example][:count],
        "nli": nli_encoder.encode(
            [e.premise for e in pairs], [e.hypothesis for e in pairs], truncate=True
        ),
    }


def session(bundle: Path, threads: int) -> ort.InferenceSession:
    """Opened as the server opens it (road.runtime.session): ORT_ENABLE_ALL, sequential."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        str(bundle / load_manifest(bundle).graph), options, providers=["CPUExecutionProvider"]
    )


def seconds(sess: ort.InferenceSession, rows: list[Row], batch: int) -> float:
    """Wall time to run `rows` in order, `batch` at a time (each batch padded to its longest)."""
    batches = [pad_rows(rows[i : i + batch]) for i in range(0, len(rows), batch)]
    sess.run(None, batches[0])  # first-run allocation is not throughput
    start = time.perf_counter()
    for inputs in batches:
        sess.run(None, inputs)
    return time.perf_counter() - start


def measure(
    bundles: dict[str, Path], rows: dict[str, list[Row]], threads: int, rounds: int
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Median rows/s per (task, batch) for each bundle, and each one's paired speedup over the
    first: the median over rounds of the two bundles' ratio in that round.

    The bundles take turns on every (task, batch) of every round, so a drift of a shared
    machine's speed hits them alike and the paired ratio cancels most of it.
    """
    sessions = {name: session(path, threads) for name, path in bundles.items()}
    times: dict[str, dict[str, list[float]]] = {name: {} for name in bundles}
    for _ in range(rounds):
        for task, task_rows in rows.items():
            for batch in BATCHES:
                for name, sess in sessions.items():
                    key = f"{task}_b{batch}"
                    times[name].setdefault(key, []).append(seconds(sess, task_rows, batch))
    baseline = times[next(iter(bundles))]
    speed = {
        name: {
            key: round(len(rows[key.split("_")[0]]) / statistics.median(values), 2)
            for key, values in per_key.items()
        }
        for name, per_key in times.items()
    }
    paired = {
        name: {
            key: round(statistics.median(b / t for b, t in zip(baseline[key], values)), 3)
            for key, values in per_key.items()
        }
        | {
            # All four shapes together: the whole suite's time in each round.
            "all": round(
                statistics.median(
                    sum(baseline[k][r] for k in per_key) / sum(v[r] for v in per_key.values())
                    for r in range(rounds)
                ),
                3,
            )
        }
        for name, per_key in times.items()
    }
    return speed, paired


def describe(bundle: Path, rows: dict[str, list[Row]], threads: int) -> dict[str, Any]:
    """Size, gate metrics and batch invariance (every row alone vs in mixed batches of 32)."""
    manifest = load_manifest(bundle)
    sess = session(bundle, threads)
    names = [o.name for o in sess.get_outputs()]

    def runner(inputs: dict[str, Any]) -> dict[str, Any]:
        return dict(zip(names, sess.run(names, inputs)))

    specs = {spec.name: spec for spec in manifest.tasks.specs()}
    invariance = batch_invariance(runner, {specs[name]: rows[name] for name in rows}, batch_size=32)
    quality = manifest.quality
    return {
        "bundle": str(bundle),
        "precision": manifest.precision,
        "quantization": manifest.quantization,
        "fusions": manifest.fusions,
        "graph_mb": round(
            sum((bundle / f).stat().st_size for f in manifest.files if f.startswith(manifest.graph))
            / 1e6,
            1,
        ),
        "metric_drops": quality.get("metric_drops"),
        "onnx_metrics": {
            "qa.f1": quality.get("onnx", {}).get("qa", {}).get("f1"),
            "qa.exact": quality.get("onnx", {}).get("qa", {}).get("exact"),
            "nli.accuracy": quality.get("onnx", {}).get("nli", {}).get("accuracy"),
        },
        "batch_invariance": invariance,
        # Static INT8: calibrator, and which MatMuls stayed fp32 and why.
        "static_int8": quality.get("static_int8"),
    }


def main(
    bundles: Annotated[
        list[str], typer.Argument(help="NAME=BUNDLE_DIR, first one is the baseline")
    ],
    rows: Annotated[int, typer.Option(help="Dev rows per task")] = 64,
    rounds: Annotated[int, typer.Option(help="Timing rounds (median reported)")] = 3,
    threads: Annotated[int | None, typer.Option(help="ORT intra-op threads")] = None,
    data: Annotated[Path, typer.Option(help="road's shared data directory")] = DATA,
    out: Annotated[Path | None, typer.Option(help="Write the JSON result here")] = None,
) -> None:
    named = {name: Path(path) for name, path in (item.split("=", 1) for item in bundles)}
    threads = threads or available_cpus()
    inputs = dev_rows(next(iter(named.values())), data, rows)
    speed, paired = measure(named, inputs, threads, rounds)
    baseline = speed[next(iter(named))]
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join(["python -m bench.export_bench", *sys.argv[1:]]),
        "machine": machine(),
        "cpus": sorted(os.sched_getaffinity(0)),
        "threads": threads,
        "rows": {task: len(task_rows) for task, task_rows in inputs.items()},
        "rounds": rounds,
        "variants": {
            name: {
                **describe(path, inputs, threads),
                "rows_per_s": speed[name],
                "speedup": {k: round(v / baseline[k], 2) for k, v in speed[name].items()},
                "paired_speedup": paired[name],
            }
            for name, path in named.items()
        },
    }
    text = json.dumps(result, indent=2)
    if out is not None:
        out.write_text(text + "\n")
    typer.echo(text)


if __name__ == "__main__":
    typer.run(main)
