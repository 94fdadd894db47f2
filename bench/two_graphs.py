"""Comparison (c): one multi-head graph for both tasks against two single-task graphs.

Both variants run in one process behind the same small FastAPI app, built from road's own
encoders, batcher, metrics and span decoder, so the only difference is the graph layout:

- shared: road's way. One session on the bundle's graph; QA windows and NLI pairs share batches.
- split: what one-model-per-task servers do. Two sessions on single-task graphs cut out of the
  same bundle graph (onnx.utils.extract_model keeps only the nodes each task's outputs need),
  each with its own batcher, so each task's rows are batched only with rows of the same task.

    python -m bench.two_graphs --bundle road/default_bundle --mode split --port 8002
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from road.core.bundle import load_manifest
from road.core.nli import NLIEncoder, label_probabilities, predicted_label
from road.core.qa import QAEncoder
from road.core.qa_decode import decode_answers
from road.core.tasks import GRAPH_INPUTS, NLI, QA
from road.runtime.protocol import NLIRequest, QARequest
from road.runtime.settings import BatchSettings
from road.service.batcher import Batcher
from road.service.metrics import Metrics

CACHE = Path("/tmp/road-bench-graphs")
MODES = ("shared", "split")


def split_graph(bundle: Path, task_outputs: tuple[str, ...], cache: Path = CACHE) -> Path:
    """A graph with only `task_outputs`, cut from the bundle's graph (cached by its hash)."""
    import onnx.utils

    manifest = load_manifest(bundle, verify=False)
    digest = hashlib.sha256(manifest.files[manifest.graph].encode()).hexdigest()[:16]
    out = cache / digest / f"{'-'.join(task_outputs)}.onnx"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        onnx.utils.extract_model(
            str(bundle / manifest.graph), str(out), list(GRAPH_INPUTS), list(task_outputs)
        )
    return out


def _session_run(path: Path, outputs: tuple[str, ...], threads: int) -> Any:
    """A batch runner over one graph with road's session options."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = list(outputs)

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(names, session.run(names, inputs)))

    return run


def _batchers(bundle: Path, mode: str, threads: int, metrics: Metrics) -> dict[str, Batcher]:
    """The batcher each task submits to: one shared, or one per single-task graph."""
    settings = BatchSettings()
    if mode == "shared":
        graph = bundle / load_manifest(bundle, verify=False).graph
        run = _session_run(graph, QA.outputs + NLI.outputs, threads)
        shared = Batcher(run, settings, on_batch=metrics.observe_batch)
        return {"qa": shared, "nli": shared}
    return {
        task.name: Batcher(
            _session_run(split_graph(bundle, task.outputs), task.outputs, threads),
            settings,
            on_batch=metrics.observe_batch,
        )
        for task in (QA, NLI)
    }


def create_app(bundle: Path, mode: str, threads: int = 1) -> FastAPI:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    tasks = load_manifest(bundle, verify=False).tasks
    assert tasks.qa is not None and tasks.nli is not None
    qa_info = tasks.qa
    qa = QAEncoder.from_file(
        bundle, qa_info.max_seq_len, qa_info.doc_stride, qa_info.max_question_tokens
    )
    nli = NLIEncoder.from_file(bundle, tasks.nli.max_seq_len)
    metrics = Metrics()
    batchers = _batchers(bundle, mode, threads, metrics)
    cpu = ThreadPoolExecutor(1, thread_name_prefix="bench-cpu")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for batcher in set(batchers.values()):
            batcher.start()
        yield
        for batcher in set(batchers.values()):
            await batcher.stop()

    app = FastAPI(title=f"two-graphs bench server ({mode})", lifespan=lifespan)

    async def offload(fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(cpu, fn, *args)

    @app.post("/qa")
    async def answer(body: QARequest) -> dict[str, Any]:
        windows = (await offload(qa.encode, [body.question], [body.context]))[0]
        outputs = await batchers["qa"].submit(windows)
        decoded = decode_answers(
            windows,
            [o["start_logits"] for o in outputs],
            [o["end_logits"] for o in outputs],
            body.context,
            max_answer_len=qa_info.max_answer_len,
            null_threshold=qa_info.null_threshold,
        )
        best = decoded.answers[0]
        return {"answer": best.text, "start": best.start, "end": best.end, "score": best.score}

    @app.post("/nli")
    async def classify(body: NLIRequest) -> dict[str, Any]:
        rows = await offload(nli.encode, [body.premise], [body.hypothesis])
        outputs = await batchers["nli"].submit(rows)
        scores = label_probabilities(np.stack([o["nli_logits"] for o in outputs]))[0]
        return {"label": predicted_label(scores), "scores": scores}

    @app.get("/health/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.get("/metrics")
    async def metrics_page() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


def main(
    bundle: Annotated[Path, typer.Option(help="Bundle directory")],
    mode: Annotated[str, typer.Option(help="shared (one graph) or split (two graphs)")],
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1")] = 8002,
    threads: Annotated[int, typer.Option(help="ORT intra-op threads per session")] = 1,
) -> None:
    """Serve /qa and /nli from one multi-head graph or from two single-task graphs."""
    import uvicorn

    uvicorn.run(create_app(bundle, mode, threads), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    typer.run(main)
