"""Comparison (a)'s ceiling: the bundle's raw ONNX Runtime session fed the same rows, ideally.

The requests a road run served are tokenized with road's own encoders, sorted by length, cut
into batches within the server's batch limits, padded ahead of time, and only `session.run` is
timed. No HTTP, no JSON, no queueing, no decoding: the most a server could get out of the session.

    python -m bench.ideal_ort --bundle road/default_bundle --workload sent.jsonl --count 2000
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import onnxruntime as ort
import typer

from bench.workload import Request, load_workload
from road.core.bundle import load_manifest
from road.core.qa import QAEncoder
from road.core.rows import Row, pad_rows
from road.runtime.heads import load_heads
from road.runtime.protocol import NLIRequest
from road.runtime.settings import ModelSettings


def encode(bundle: Path, requests: Sequence[Request]) -> list[Row]:
    """Every encoder row of the requests: all windows of each QA context and long NLI pair."""
    return [row for rows in encode_each(bundle, requests) for row in rows]


def encode_each(bundle: Path, requests: Sequence[Request]) -> list[list[Row]]:
    """Each request's encoder rows, in request order, with the bundle's own encoders."""
    manifest = load_manifest(bundle, verify=False)
    tasks = manifest.tasks
    assert tasks.qa is not None and tasks.nli is not None
    qa = QAEncoder.from_file(
        bundle, tasks.qa.max_seq_len, tasks.qa.doc_stride, tasks.qa.max_question_tokens
    )
    nli = load_heads(bundle, manifest)["nli"]  # windows a long pair as the server does
    limits = ModelSettings(bundle=bundle)
    out: list[list[Row]] = []
    for request in requests:
        p = request.payload
        if request.task == "qa":
            out.append(list(qa.encode([p["question"]], [p["context"]])[0]))
        else:
            out.append(nli.encode([NLIRequest(**p)], limits)[0])
    return out


def ideal_batches(
    rows: Sequence[Row], max_batch_size: int, max_batch_tokens: int
) -> list[list[Row]]:
    """Longest first; each batch as full as the limits allow, so padding is minimal."""
    ordered = sorted(rows, key=len, reverse=True)
    batches: list[list[Row]] = []
    for row in ordered:
        current = batches[-1] if batches else None
        # Rows come longest first, so a batch's width is its first row's length.
        if (
            current is not None
            and len(current) < max_batch_size
            and len(current[0]) * (len(current) + 1) <= max_batch_tokens
        ):
            current.append(row)
        else:
            batches.append([row])
    return batches


def open_session(bundle: Path, threads: int) -> ort.InferenceSession:
    """The same session options as road's runtime (runtime/session.py)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    graph = load_manifest(bundle, verify=False).graph
    return ort.InferenceSession(str(bundle / graph), options, providers=["CPUExecutionProvider"])


def time_runs(
    session: ort.InferenceSession, inputs: Sequence[dict[str, np.ndarray]], repeats: int
) -> tuple[float, float]:
    """Wall and CPU seconds of the fastest of `repeats` passes over every batch (after warm-up).

    CPU time counts too: on a shared machine it is what the work cost, however long it waited.
    """
    for batch in inputs[:3]:
        session.run(None, batch)
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        for batch in inputs:
            session.run(None, batch)
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    return best


def measure(
    bundle: Path,
    requests: Sequence[Request],
    threads: int,
    limits: Sequence[tuple[int, int]],
    repeats: int = 1,
) -> list[dict[str, Any]]:
    """The session's throughput on the requests' rows under each (max rows, max tokens) limit."""
    rows = encode(bundle, requests)
    session = open_session(bundle, threads)
    results = []
    for max_batch_size, max_batch_tokens in limits:
        batches = ideal_batches(rows, max_batch_size, max_batch_tokens)
        inputs = [pad_rows(batch) for batch in batches]
        seconds, cpu_seconds = time_runs(session, inputs, repeats)
        padded = sum(int(x["input_ids"].size) for x in inputs)
        results.append(
            {
                "max_batch_size": max_batch_size,
                "max_batch_tokens": max_batch_tokens,
                "requests": len(requests),
                "rows": len(rows),
                "batches": len(batches),
                "padding_efficiency": sum(len(r) for r in rows) / padded,
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "throughput_rps": len(requests) / seconds,
                "requests_per_cpu_s": len(requests) / cpu_seconds,
            }
        )
    return results


def parse_limits(text: str) -> list[tuple[int, int]]:
    """ "32x8192,1x8192" → [(32, 8192), (1, 8192)]: max rows × max padded tokens per batch."""
    pairs = [item.split("x") for item in text.split(",") if item]
    return [(int(rows), int(tokens)) for rows, tokens in pairs]


def main(
    bundle: Annotated[Path, typer.Option(help="Bundle directory")],
    workload: Annotated[Path, typer.Option(help="JSON lines written by bench.workload")],
    count: Annotated[int | None, typer.Option(help="Use the first N requests (cycling)")] = None,
    threads: Annotated[int, typer.Option(help="ORT intra-op threads, as the server")] = 1,
    limits: Annotated[
        str, typer.Option(help="Batch limits to try, ROWSxTOKENS,...; the server's first")
    ] = "32x8192,1x8192",
    repeats: Annotated[int, typer.Option(help="Timed passes; the best counts")] = 1,
) -> None:
    """Print the raw session's throughput on the workload's requests, per batch limit, as JSON."""
    requests = load_workload(workload)
    if count is not None:
        requests = [requests[i % len(requests)] for i in range(count)]
    result = measure(bundle, requests, threads, parse_limits(limits), repeats)
    typer.echo(json.dumps(result))


if __name__ == "__main__":
    typer.run(main)
