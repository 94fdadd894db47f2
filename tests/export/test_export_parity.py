"""The parity check: real padded dev batches, and a graph that drifts from PyTorch is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from road.core.errors import ParityError
from road.core.tasks import GRAPH_OUTPUTS
from road.export.parity import check_parity, parity_batches
from road.export.runtime import onnx_runner, open_session
from road.export.source import Checkpoint, open_checkpoint
from road.training.evaluate import torch_runner

PERTURBED = "electra.embeddings.word_embeddings.weight"


@pytest.fixture(scope="module")
def source(tiny_checkpoint: Path) -> Checkpoint:
    return open_checkpoint(tiny_checkpoint)


@pytest.fixture(scope="module")
def batches(source: Checkpoint) -> list[dict[str, np.ndarray]]:
    return parity_batches(source.config, source.path)


def noise(values: np.ndarray) -> np.ndarray:
    """Noise above the embeddings' spread (std 0.02); LayerNorm would undo a uniform shift."""
    return values + np.random.default_rng(0).normal(0.0, 0.1, values.shape).astype(np.float32)


def poison(values: np.ndarray) -> np.ndarray:
    return np.full_like(values, np.nan)


def rewrite_initializer(
    graph: Path, out: Path, name: str, change: Callable[[np.ndarray], np.ndarray]
) -> Path:
    """A copy of `graph` with one initializer passed through `change`."""
    model = onnx.load(str(graph))
    (tensor,) = [t for t in model.graph.initializer if t.name == name]
    tensor.CopyFrom(numpy_helper.from_array(change(numpy_helper.to_array(tensor)), name))
    onnx.save(model, str(out))
    return out


def test_parity_batches_are_real_padded_rows_of_both_tasks(
    source: Checkpoint, batches: list[dict[str, np.ndarray]]
) -> None:
    assert source.config.qa is not None and source.config.nli is not None
    sizes = [len(b["input_ids"]) for b in batches]
    assert 1 in sizes and max(sizes) > 1
    assert all(b["input_ids"].dtype == np.int64 for b in batches)
    # Rows of different lengths share batches, so padding is exercised.
    lengths = [set(b["attention_mask"].sum(axis=1)) for b in batches]
    assert any(len(row_lengths) > 1 for row_lengths in lengths)
    # Both tasks: QA windows start with the question, NLI pairs with the premise.
    firsts = {tuple(b["input_ids"][0, :4]) for b in batches}
    assert len(firsts) == 2


def test_parity_passes_the_exported_graph(
    fp32_bundle: Path, source: Checkpoint, batches: list[dict[str, np.ndarray]]
) -> None:
    runner = onnx_runner(open_session(fp32_bundle / "model.onnx"))
    diffs = check_parity(torch_runner(source.model), runner, batches, atol=1e-4)
    assert set(diffs) == set(GRAPH_OUTPUTS)


@pytest.mark.parametrize("change", [noise, poison])
def test_parity_refuses_a_graph_with_a_perturbed_initializer(
    fp32_bundle: Path,
    source: Checkpoint,
    batches: list[dict[str, np.ndarray]],
    tmp_path: Path,
    change: Callable[[np.ndarray], np.ndarray],
) -> None:
    damaged = rewrite_initializer(
        fp32_bundle / "model.onnx", tmp_path / "damaged.onnx", PERTURBED, change
    )
    with pytest.raises(ParityError) as caught:
        check_parity(
            torch_runner(source.model), onnx_runner(open_session(damaged)), batches, atol=1e-3
        )
    assert all(name in str(caught.value) for name in GRAPH_OUTPUTS)


def test_parity_without_rows_is_an_error(source: Checkpoint) -> None:
    with pytest.raises(ParityError):
        check_parity(torch_runner(source.model), torch_runner(source.model), [], atol=1e-3)
