"""The model layer: a verified bundle, its encoders, and one ONNX Runtime session.

The server and the batch job share it; nothing here knows about HTTP or batching.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnxruntime as ort

from road.core.bundle import Manifest, load_manifest
from road.core.tasks import token_outputs
from road.runtime.cpu import available_cpus
from road.runtime.heads import Head, load_heads
from road.runtime.providers import ProviderChoice, engine_cache_dir, select_providers

if TYPE_CHECKING:
    from road.runtime.settings import ModelSettings

log = logging.getLogger(__name__)
GRAPH_LEVELS = {
    "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


@dataclass(frozen=True)
class SessionOptions:
    """ONNX Runtime knobs; None means 'derive from the machine'."""

    intra_op_threads: int | None = None
    inter_op_threads: int = 1
    # ORT's level names: disabled, basic, extended, all.
    graph_optimization_level: str = "all"
    # Restricts provider selection (road.runtime.providers) to these; empty: all ORT offers.
    providers: tuple[str, ...] = ()

    @classmethod
    def from_settings(
        cls, settings: ModelSettings, intra_op_threads: int | None = None
    ) -> SessionOptions:
        """The options `road serve` and `road score` open their sessions with."""
        return cls(
            intra_op_threads=intra_op_threads or settings.intra_op_threads,
            inter_op_threads=settings.inter_op_threads,
            graph_optimization_level=settings.graph_optimization_level,
        )


class Runtime:
    """Runs padded batches through the bundle's graph, returning every head's output."""

    def __init__(
        self,
        bundle_dir: Path,
        manifest: Manifest,
        session: ort.InferenceSession,
        execution: ProviderChoice | None = None,
    ) -> None:
        self.bundle_dir = bundle_dir
        self.manifest = manifest
        self.session = session
        # Which provider runs the graph and why: the log line and the metric label.
        self.execution = execution or ProviderChoice(session.get_providers()[0], "given session")
        self.output_names = list(manifest.outputs)
        # One head per task the bundle lists, any subset of tasks; the graph runs them all.
        self.heads: dict[str, Head] = load_heads(bundle_dir, manifest)
        self.token_outputs = token_outputs(manifest.tasks.specs())

    @classmethod
    def load(cls, bundle_dir: str | Path, options: SessionOptions = SessionOptions()) -> Runtime:
        """Verify the bundle's hashes, then open its graph."""
        bundle_dir = Path(bundle_dir)
        manifest = load_manifest(bundle_dir, verify=True)
        allowed = options.providers
        available = [p for p in ort.get_available_providers() if not allowed or p in allowed]
        cache = engine_cache_dir(bundle_dir, manifest) if manifest.tensorrt else None
        execution = select_providers(manifest, available, cache)
        execution.log()
        session = ort.InferenceSession(
            str(bundle_dir / manifest.graph),
            sess_options=_session_options(options),
            providers=list(execution.providers),
            provider_options=list(execution.options),
        )
        log.info(
            "loaded bundle %s (%s, %s)", bundle_dir, manifest.precision, session.get_providers()[0]
        )
        return cls(bundle_dir, manifest, session, execution)

    @property
    def provider(self) -> str:
        return self.execution.provider

    @property
    def provider_reason(self) -> str:
        return self.execution.reason

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One session run for a padded batch of any mix of the tasks' rows."""
        outputs = self.session.run(self.output_names, inputs)
        return dict(zip(self.output_names, outputs))

    @property
    def bundle_sha256(self) -> str:
        return self.manifest.files[self.manifest.graph]


def _session_options(options: SessionOptions) -> ort.SessionOptions:
    so = ort.SessionOptions()
    so.graph_optimization_level = GRAPH_LEVELS[options.graph_optimization_level]
    so.intra_op_num_threads = options.intra_op_threads or available_cpus()
    so.inter_op_num_threads = options.inter_op_threads
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return so
