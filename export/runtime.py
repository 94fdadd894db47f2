"""ONNX Runtime sessions on CPU, wrapped as the shared evaluation `Runner`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from road.core.evaluation import Runner
from road.service.cpu import available_cpus


def open_session(path: Path, threads: int | None = None) -> ort.InferenceSession:
    """A CPU session for `path`, with as many threads as the CPU quota allows."""
    options = ort.SessionOptions()
    # ORT sizes its pool by the host's cores, which oversubscribes a CPU-limited container.
    options.intra_op_num_threads = threads or available_cpus()
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_runner(session: ort.InferenceSession) -> Runner:
    """A `Runner` that feeds the session and names its outputs."""
    names = [output.name for output in session.get_outputs()]

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(names, session.run(names, inputs), strict=True))

    return run
