"""Model-labelled metrics: one info sample per model, gone when the model is unloaded."""

from __future__ import annotations

from prometheus_client import generate_latest

from road.service.batcher import BatchStats
from road.service.metrics import Metrics


def samples(metrics: Metrics, prefix: str) -> list[str]:
    text = generate_latest(metrics.registry).decode()
    return [line for line in text.splitlines() if line.startswith(prefix)]


def test_a_model_has_one_info_sample_which_follows_its_version() -> None:
    metrics = Metrics()
    metrics.serving("road", 1, "aa", "CPUExecutionProvider", "int8")
    metrics.serving("other", 1, "bb", "CPUExecutionProvider", "fp32")
    metrics.serving("road", 2, "cc", "CPUExecutionProvider", "int8")
    info = samples(metrics, "road_model_info{")
    assert len(info) == 2
    assert any('model="road"' in s and 'version="2"' in s and "cc" in s for s in info)
    metrics.track_queue("road", lambda: 3.0, lambda: 30.0)
    assert samples(metrics, 'road_queue_rows{model="road"}') == [
        'road_queue_rows{model="road"} 3.0'
    ]
    metrics.unloaded("road")
    assert [s for s in samples(metrics, "road_model_info{") if 'model="road"' in s] == []
    assert samples(metrics, "road_queue_rows{") == []


def test_batches_stages_and_drops_carry_the_model() -> None:
    metrics = Metrics()
    observer = metrics.for_model("intent")
    observer.observe_batch(
        BatchStats(rows=2, padded_tokens=16, real_tokens=12, queue_waits_s=(0.1, 0.2),
                   run_s=0.01, tasks=("intent", "intent"))
    )  # fmt: skip
    observer.observe_stage("tokenize", "intent", 0.001)
    observer.observe_drop("deadline", 2)
    assert samples(metrics, 'road_batch_rows_count{model="intent"}') != []
    assert samples(metrics, 'road_batch_task_rows_total{model="intent",task="intent"} 2.0') != []
    assert samples(metrics, 'road_stage_duration_seconds_count{model="intent",stage="tokenize"')
    assert samples(metrics, 'road_dropped_rows_total{model="intent",reason="deadline"} 2.0')
