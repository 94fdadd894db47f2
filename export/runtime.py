"""ONNX Runtime sessions for export's checks, wrapped as the shared evaluation `Runner`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from road.core.evaluation import Runner
from road.runtime.cpu import available_cpus
from road.runtime.providers import CPU


def open_session(
    path: Path,
    threads: int | None = None,
    providers: Sequence[str] = (CPU,),
    provider_options: Sequence[dict[str, str]] | None = None,
) -> ort.InferenceSession:
    """A session for `path` (CPU unless told), with as many threads as the CPU quota allows."""
    options = ort.SessionOptions()
    # ORT sizes its pool by the host's cores, which oversubscribes a CPU-limited container.
    options.intra_op_num_threads = threads or available_cpus()
    return ort.InferenceSession(
        str(path),
        options,
        providers=list(providers),
        provider_options=list(provider_options or [{} for _ in providers]),
    )


def onnx_runner(session: ort.InferenceSession) -> Runner:
    """A `Runner` that feeds the session and names its outputs."""
    names = [output.name for output in session.get_outputs()]

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(names, session.run(names, inputs), strict=True))

    return run
