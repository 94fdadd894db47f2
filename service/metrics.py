"""Prometheus metrics, on a registry per app so that several apps can live in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from road.service.batcher import BatchStats


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "road_requests",
            "HTTP requests by route and status",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "road_request_duration_seconds",
            "End-to-end request latency",
            ["endpoint"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.batch_rows = Histogram(
            "road_batch_rows",
            "Rows per session run",
            registry=self.registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
        )
        self.batch_tokens = Histogram(
            "road_batch_tokens",
            "Padded tokens per session run",
            registry=self.registry,
            buckets=(64, 256, 1024, 2048, 4096, 8192, 16384),
        )
        self.padding_ratio = Histogram(
            "road_batch_padding_ratio",
            "Share of padded tokens per run",
            registry=self.registry,
            buckets=(0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0),
        )
        self.queue_wait = Histogram(
            "road_queue_wait_seconds",
            "Time a row waits in the batch queue before its run",
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.in_flight = Gauge(
            "road_requests_in_flight", "HTTP requests being processed", registry=self.registry
        )
        self.model_info = Gauge(
            "road_model_info",
            "The served bundle",
            ["bundle_sha256", "provider", "precision"],
            registry=self.registry,
        )

    def observe_batch(self, stats: BatchStats) -> None:
        self.batch_rows.observe(stats.rows)
        self.batch_tokens.observe(stats.padded_tokens)
        self.padding_ratio.observe(1 - stats.real_tokens / max(stats.padded_tokens, 1))
        for wait in stats.queue_waits_s:
            self.queue_wait.observe(wait)
