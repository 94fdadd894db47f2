"""Prometheus metrics, on a registry per app so that several apps can live in one process.

Names follow Prometheus conventions: a `road_` prefix, base units (`_seconds`), `_total` on
counters (added by the client library), `_info`-style gauge for the served models. What a model
does (stages, batches, queue, drops, loads) carries a `model` label, the model's name; HTTP
metrics are per endpoint.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from road.runtime.models import DEFAULT_MODEL
from road.service.batcher import BatchStats

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._http_and_stages(self.registry)
        self._batches(self.registry)
        self._queue_and_model(self.registry)

    def _http_and_stages(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "road_http_requests",
            "HTTP requests by endpoint and status code",
            ["endpoint", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "road_http_request_duration_seconds",
            "Total time from request received to response sent, by endpoint",
            ["endpoint"],
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )
        self.stage_latency = Histogram(
            "road_stage_duration_seconds",
            "Time per pipeline stage and task: tokenize and postprocess per request, "
            "inference per session run",
            ["stage", "task", "model"],
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )
        # Its own name (not a stage label): the Helm chart's custom-metric HPA scales on it.
        self.queue_wait = Histogram(
            "road_queue_wait_seconds",
            "Time a row waits in the batch queue before its session run",
            ["task", "model"],
            registry=registry,
            buckets=LATENCY_BUCKETS,
        )

    def _batches(self, registry: CollectorRegistry) -> None:
        self.batch_rows = Histogram(
            "road_batch_rows",
            "Rows (QA windows + NLI pairs) per session run",
            ["model"],
            registry=registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
        )
        self.batch_tokens = Histogram(
            "road_batch_tokens",
            "Padded tokens per session run",
            ["model"],
            registry=registry,
            buckets=(64, 256, 1024, 2048, 4096, 8192, 16384, 32768),
        )
        self.padding_ratio = Histogram(
            "road_batch_padding_ratio",
            "Share of padding among the tokens of a session run",
            ["model"],
            registry=registry,
            buckets=(0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0),
        )
        self.batch_rows_by_task = Counter(
            "road_batch_task_rows", "Rows run, by task", ["task", "model"], registry=registry
        )

    def _queue_and_model(self, registry: CollectorRegistry) -> None:
        self.in_flight = Gauge(
            "road_requests_in_flight", "HTTP requests being processed", registry=registry
        )
        self.queue_rows = Gauge(
            "road_queue_rows", "Rows waiting in the batch queue", ["model"], registry=registry
        )
        self.queue_tokens = Gauge(
            "road_queue_tokens",
            "Unpadded tokens waiting in the batch queue",
            ["model"],
            registry=registry,
        )
        self.rejections = Counter(
            "road_rejected_requests",
            "Requests refused or dropped without an answer, by reason",
            ["reason"],
            registry=registry,
        )
        self.dropped_rows = Counter(
            "road_dropped_rows",
            "Queued rows dropped before inference (deadline passed, client gone), by reason",
            ["reason", "model"],
            registry=registry,
        )
        self.model_info = Gauge(
            "road_model_info",
            "A served model version's bundle (value 1)",
            ["model", "version", "bundle_sha256", "provider", "precision"],
            registry=registry,
        )
        self.loads = Counter(
            "road_model_loads",
            "Model version loads, by model and result (loaded, failed)",
            ["model", "result"],
            registry=registry,
        )
        self._info: dict[str, tuple[str, ...]] = {}

    def track_queue(
        self, model: str, rows: Callable[[], float], tokens: Callable[[], float]
    ) -> None:
        """Read a model's queue depth at scrape time."""
        self.queue_rows.labels(model).set_function(rows)
        self.queue_tokens.labels(model).set_function(tokens)

    def serving(self, model: str, version: int, sha256: str, provider: str, precision: str) -> None:
        """`model` now serves this version: one `road_model_info` sample per model."""
        old = self._info.pop(model, None)
        if old is not None:
            self.model_info.remove(*old)
        labels = (model, str(version), sha256, provider, precision)
        self.model_info.labels(*labels).set(1)
        self._info[model] = labels

    def unloaded(self, model: str) -> None:
        """`model` serves nothing: its info and queue gauges go."""
        old = self._info.pop(model, None)
        if old is not None:
            self.model_info.remove(*old)
        for gauge in (self.queue_rows, self.queue_tokens):
            if (model,) in gauge._metrics:  # noqa: SLF001 - the client has no "has labels"
                gauge.remove(model)

    def for_model(self, model: str) -> ModelMetrics:
        return ModelMetrics(self, model)

    def observe_batch(self, stats: BatchStats) -> None:
        """The default model's batch (for a lone batcher, as bench/two_graphs.py has)."""
        self.for_model(DEFAULT_MODEL).observe_batch(stats)

    def reject(self, reason: str) -> None:
        self.rejections.labels(reason).inc()


@dataclass(frozen=True)
class ModelMetrics:
    """The batcher's and engine's observers, labelled with one model's name."""

    metrics: Metrics
    model: str

    def observe_batch(self, stats: BatchStats) -> None:
        m, model = self.metrics, self.model
        m.batch_rows.labels(model).observe(stats.rows)
        m.batch_tokens.labels(model).observe(stats.padded_tokens)
        m.padding_ratio.labels(model).observe(1 - stats.real_tokens / max(stats.padded_tokens, 1))
        tasks = sorted(set(stats.tasks)) or [""]
        m.stage_latency.labels("inference", "+".join(tasks), model).observe(stats.run_s)
        for task, wait in zip(stats.tasks, stats.queue_waits_s):
            m.queue_wait.labels(task, model).observe(wait)
        for task, rows in collections.Counter(stats.tasks).items():
            m.batch_rows_by_task.labels(task, model).inc(rows)

    def observe_stage(self, stage: str, task: str, seconds: float) -> None:
        self.metrics.stage_latency.labels(stage, task, self.model).observe(seconds)

    def observe_drop(self, reason: str, rows: int) -> None:
        self.metrics.dropped_rows.labels(reason, self.model).inc(rows)
