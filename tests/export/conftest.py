"""Export fixtures: bundles of the tiny trained checkpoint, and a checkpoint good enough to gate."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def fp32_bundle(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An fp32 bundle of the tiny checkpoint, through the whole pipeline (parity and gate)."""
    from road.export.pipeline import export_bundle

    out = tmp_path_factory.mktemp("bundles") / "fp32"
    export_bundle(tiny_checkpoint, out, precision="fp32")
    return out


@pytest.fixture(scope="session")
def int8_bundle(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An int8 bundle of the tiny checkpoint.

    Its dev sets hold 6 QA and 6 NLI examples, so one flipped answer moves a metric by ~17
    points; the budget is opened because these tests are about the graph, not its quality.
    """
    from road.export.pipeline import export_bundle

    out = tmp_path_factory.mktemp("bundles") / "int8"
    export_bundle(tiny_checkpoint, out, precision="int8", metric_budget=100.0)
    return out


@pytest.fixture(scope="session")
def gated_checkpoint(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded tiny student trained until it answers most dev questions (QA F1 ~83).

    The 6-step `tiny_checkpoint` can sit at the all-"no answer" F1, where a broken graph scores
    the same; the gate tests need a checkpoint that a damaged graph must fall behind.
    """
    import torch
    from transformers import AutoTokenizer, ElectraConfig

    from road.training.checkpoint import CONFIG_FILE
    from road.training.config import load_config
    from road.training.loop import FINAL, train
    from road.training.model import RoadStudent

    init = tmp_path_factory.mktemp("gated-init")
    with torch.random.fork_rng():
        torch.manual_seed(0)
        RoadStudent(ElectraConfig.from_pretrained(tiny_checkpoint)).save_pretrained(init)
    AutoTokenizer.from_pretrained(str(tiny_checkpoint)).save_pretrained(init)
    out = tmp_path_factory.mktemp("gated-run")
    # The tiny run's config (same data and encoder settings), trained longer from a seeded init.
    overrides = [f"init={init}", f"output_dir={out}", "steps=40", "lr=3.0e-3", "save_every=40"]
    train(load_config(tiny_checkpoint / CONFIG_FILE, overrides))
    return out / FINAL


def _export(checkpoint: Path, out: Path, **settings: object) -> Path:
    from road.export.pipeline import export_bundle

    # Budget opened for the same reason as `int8_bundle`: these fixtures test the graphs.
    export_bundle(checkpoint, out, metric_budget=100.0, **settings)  # type: ignore[arg-type]
    return out


@pytest.fixture(scope="session")
def static_bundle(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A static (calibrated, fused) int8 bundle of the tiny checkpoint."""
    out = tmp_path_factory.mktemp("bundles") / "static"
    return _export(tiny_checkpoint, out, precision="int8", quantization="static")


@pytest.fixture(scope="session")
def cuda_bundle(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An fp16 bundle for the CUDA target, gated on CPU here (no GPU)."""
    return _export(tiny_checkpoint, tmp_path_factory.mktemp("bundles") / "cuda", target="cuda")


@pytest.fixture(scope="session")
def tensorrt_bundle(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TensorRT bundle (plain fp32 graph + profile), gated on CPU here (no GPU)."""
    out = tmp_path_factory.mktemp("bundles") / "tensorrt"
    return _export(tiny_checkpoint, out, target="tensorrt", trt_opt_batch=8, trt_max_batch=32)
