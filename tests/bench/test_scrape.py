from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from bench.scrape import BATCH_HISTOGRAMS, batch_report, diff, parse_histograms
from road.service.batcher import BatchStats
from road.service.metrics import Metrics


def _registry() -> tuple[CollectorRegistry, Histogram, Histogram, Histogram]:
    registry = CollectorRegistry()
    rows = Histogram("road_batch_rows", "rows", registry=registry, buckets=(1, 2, 4, 8))
    padding = Histogram(
        "road_batch_padding_ratio", "pad", registry=registry, buckets=(0.0, 0.1, 0.5, 1.0)
    )
    latency = Histogram(
        "road_request_duration_seconds", "lat", ["endpoint"], registry=registry, buckets=(0.1, 1)
    )
    return registry, rows, padding, latency


def test_a_window_holds_only_what_was_observed_between_two_scrapes() -> None:
    registry, rows, padding, latency = _registry()
    rows.observe(1)
    padding.observe(0.0)
    before = parse_histograms(generate_latest(registry).decode())
    for value in (3, 3, 8):
        rows.observe(value)
    for value in (0.2, 0.4, 0.05):
        padding.observe(value)
    latency.labels("/qa").observe(0.5)
    window = diff(before, parse_histograms(generate_latest(registry).decode()))

    assert window["road_batch_rows"].count == 3
    assert window["road_batch_rows"].mean == pytest.approx(14 / 3)
    assert dict(window["road_batch_rows"].per_bucket()) == {
        "<= 1": 0,
        "(1, 2]": 0,
        "(2, 4]": 2,
        "(4, 8]": 1,
        "(8, inf]": 0,
    }
    assert window["road_batch_rows"].quantile(0.5) == 4
    # A labelled series that first appeared after the first scrape counts from zero.
    assert window["road_request_duration_seconds{endpoint=/qa}"].count == 1

    report = batch_report(window)
    assert report["road_batch_rows"]["batches"] == 3
    assert report["padding_efficiency"] == pytest.approx(1 - (0.2 + 0.4 + 0.05) / 3)


def test_other_metric_types_and_prefixes_are_ignored() -> None:
    text = (
        "# TYPE road_requests_total counter\nroad_requests_total 3\n"
        '# TYPE other_seconds histogram\nother_seconds_bucket{le="+Inf"} 1\n'
        "other_seconds_count 1\nother_seconds_sum 2\n"
    )
    assert parse_histograms(text) == {}


def test_an_empty_window_has_no_mean() -> None:
    registry, *_ = _registry()
    hist = parse_histograms(generate_latest(registry).decode())["road_batch_rows"]
    assert hist.count == 0 and math.isnan(hist.mean) and math.isnan(hist.quantile(0.5))
    assert "padding_efficiency" not in batch_report({"road_batch_padding_ratio": hist})


def test_the_server_exposes_every_batch_histogram_the_harness_reads() -> None:
    metrics = Metrics()
    # Series carry the model's name, so they appear once a model has run a batch.
    metrics.for_model("road").observe_batch(BatchStats(rows=1, padded_tokens=8, real_tokens=8))
    found = parse_histograms(generate_latest(metrics.registry).decode())
    assert set(BATCH_HISTOGRAMS) <= set(found)
