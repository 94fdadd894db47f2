"""The quality gate: same dev sets as training, and a damaged graph fails the export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from road.export import variants
from road.export.errors import QualityGateError
from road.export.gate import check_quality
from road.export.graph import export_graph
from road.export.pipeline import export_bundle, quality_gate
from road.export.runtime import open_session
from road.export.source import open_checkpoint, pytorch_metrics
from road.training.evaluate import evaluate
from road.training.model import RoadStudent


@pytest.fixture(scope="module")
def damaged_graph(gated_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The gated checkpoint's graph with both task heads zeroed: a valid graph, wrong answers."""
    model = RoadStudent.from_pretrained(gated_checkpoint)
    with torch.no_grad():
        for head in (model.qa_outputs, model.nli_head.out_proj):
            head.weight.zero_()
            head.bias.zero_()
    return export_graph(model, tmp_path_factory.mktemp("damaged") / "model.onnx")


def scores(f1: float, exact: float, accuracy: float) -> dict[str, dict[str, float]]:
    return {"qa": {"f1": f1, "exact": exact, "total": 6.0}, "nli": {"accuracy": accuracy}}


def test_check_quality_allows_drops_up_to_the_budget() -> None:
    drops = check_quality(scores(80, 70, 60), scores(79, 70.5, 59), budget=1.0)
    assert drops == pytest.approx({"qa.f1": 1.0, "qa.exact": -0.5, "nli.accuracy": 1.0})


@pytest.mark.parametrize(
    "candidate",
    [scores(78.9, 70, 60), scores(80, 68, 60), scores(80, 70, 58), scores(80, float("nan"), 60)],
)
def test_check_quality_refuses_a_drop_beyond_the_budget(
    candidate: dict[str, dict[str, float]],
) -> None:
    with pytest.raises(QualityGateError):
        check_quality(scores(80, 70, 60), candidate, budget=1.0)


def test_check_quality_gates_only_the_tasks_both_sides_have() -> None:
    assert check_quality({"nli": {"accuracy": 90.0}}, scores(0, 0, 89.5), budget=1.0) == {
        "nli.accuracy": 0.5
    }


def test_gate_passes_the_faithful_graph(gated_checkpoint: Path, tmp_path: Path) -> None:
    source = open_checkpoint(gated_checkpoint)
    graph = export_graph(source.model, tmp_path / "model.onnx")
    quality = quality_gate(source, open_session(graph), None, metric_budget=1.0)
    assert quality["pytorch"]["qa"]["f1"] > 50  # the fixture is good enough to be gated
    assert all(abs(drop) <= 1.0 for drop in quality["metric_drops"].values())


def test_gate_fails_a_graph_with_zeroed_heads(gated_checkpoint: Path, damaged_graph: Path) -> None:
    source = open_checkpoint(gated_checkpoint)
    with pytest.raises(QualityGateError) as caught:
        quality_gate(source, open_session(damaged_graph), None, metric_budget=1.0)
    assert caught.value.drops["qa.f1"] > 1.0
    assert "qa.f1" in str(caught.value)


def test_failed_gate_leaves_the_previous_bundle_untouched(
    gated_checkpoint: Path, damaged_graph: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fp32 graph passes parity; the damaged one stands in for its int8 version."""
    monkeypatch.setattr(
        variants,
        "quantize_int8",
        lambda fp32, out, large=False: Path(shutil.copyfile(damaged_graph, out)),
    )
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "marker").write_text("previous bundle")
    with pytest.raises(QualityGateError):
        export_bundle(gated_checkpoint, out, precision="int8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]
    assert sorted(p.name for p in out.iterdir()) == ["marker"]


def test_pytorch_metrics_are_saved_ones_only_for_the_full_dev_sets(gated_checkpoint: Path) -> None:
    source = open_checkpoint(gated_checkpoint)
    saved, origin = pytorch_metrics(source, None)
    assert origin == "dev_metrics.json"
    written = json.loads((gated_checkpoint / "dev_metrics.json").read_text())
    assert saved == {"qa": written["qa"], "nli": written["nli"]}
    limited, origin = pytorch_metrics(source, 2)
    assert origin == "evaluated"
    assert limited == evaluate(source.model, source.config, source.path, limit=2)
    assert limited["nli"]["total"] == 2
