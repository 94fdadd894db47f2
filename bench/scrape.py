"""The server's own histograms from its Prometheus /metrics, diffed over a measured window.

Batch sizes and padding are only visible inside the server, so the load generator scrapes
/metrics before and after a run and reports what the batcher did during the run alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

# The batcher's histograms (service/metrics.py); any other road_* histogram is kept as well.
BATCH_HISTOGRAMS = ("road_batch_rows", "road_batch_tokens", "road_batch_padding_ratio")


@dataclass(frozen=True)
class Histogram:
    """Cumulative bucket counts by upper bound (`inf` last), total count and sum."""

    buckets: tuple[tuple[float, float], ...]
    count: float
    sum: float

    def minus(self, earlier: Histogram) -> Histogram:
        before = dict(earlier.buckets)
        return Histogram(
            buckets=tuple((le, c - before.get(le, 0.0)) for le, c in self.buckets),
            count=self.count - earlier.count,
            sum=self.sum - earlier.sum,
        )

    @property
    def mean(self) -> float:
        return self.sum / self.count if self.count else float("nan")

    def per_bucket(self) -> list[tuple[str, float]]:
        """Non-cumulative counts by range: ("<= 1", n), ("(1, 2]", n), ..., ("(8, inf]", n)."""
        out, lower, below = [], "", 0.0
        for le, cumulative in self.buckets:
            upper = "inf" if math.isinf(le) else f"{le:g}"
            out.append((f"({lower}, {upper}]" if lower else f"<= {upper}", cumulative - below))
            lower, below = upper, cumulative
        return out

    def quantile(self, q: float) -> float:
        """The upper bound of the bucket holding quantile q (what Prometheus can resolve)."""
        target = q * self.count
        for le, cumulative in self.buckets:
            if cumulative >= target and cumulative > 0:
                return le
        return float("nan")


@dataclass
class _Series:
    buckets: list[tuple[float, float]] = field(default_factory=list)
    count: float = 0.0
    sum: float = 0.0


def parse_histograms(text: str, prefix: str = "road_") -> dict[str, Histogram]:
    """Every histogram whose name starts with `prefix`, keyed `name` or `name{label=value,...}`."""
    series: dict[str, _Series] = {}
    for family in text_string_to_metric_families(text):
        if family.type != "histogram" or not family.name.startswith(prefix):
            continue
        for sample in family.samples:
            entry = series.setdefault(_series_key(family.name, sample.labels), _Series())
            if sample.name.endswith("_bucket"):
                entry.buckets.append((float(sample.labels["le"]), float(sample.value)))
            elif sample.name.endswith("_count"):
                entry.count = float(sample.value)
            elif sample.name.endswith("_sum"):
                entry.sum = float(sample.value)
    return {key: Histogram(tuple(sorted(s.buckets)), s.count, s.sum) for key, s in series.items()}


def _series_key(name: str, labels: dict[str, str]) -> str:
    # A bench server serves one model: its `model` label (service/metrics.py) splits nothing.
    rest = sorted((k, v) for k, v in labels.items() if k not in ("le", "model"))
    return name + ("{" + ",".join(f"{k}={v}" for k, v in rest) + "}" if rest else "")


def diff(before: dict[str, Histogram], after: dict[str, Histogram]) -> dict[str, Histogram]:
    """What was observed between two scrapes; a series new in `after` counts from zero."""
    empty = Histogram((), 0.0, 0.0)
    return {key: hist.minus(before.get(key, empty)) for key, hist in after.items()}


def batch_report(window: dict[str, Histogram]) -> dict[str, Any]:
    """Batch-size, padded-token and padding histograms of a window, with their means."""
    report: dict[str, Any] = {}
    for name in BATCH_HISTOGRAMS:
        hist = window.get(name)
        if hist is None:
            continue
        report[name] = {
            "batches": hist.count,
            "mean": hist.mean,
            "histogram": dict(hist.per_bucket()),
        }
    padding = window.get("road_batch_padding_ratio")
    if padding is not None and padding.count:
        # Mean over batches of real tokens / padded tokens.
        report["padding_efficiency"] = 1 - padding.mean
    return report
