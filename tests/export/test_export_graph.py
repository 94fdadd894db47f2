"""The exported graph: names, dynamic axes, self-containment and agreement with PyTorch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from road.core.tasks import GRAPH_INPUTS, GRAPH_OUTPUTS
from road.export.runtime import onnx_runner, open_session
from road.training.evaluate import torch_runner
from road.training.model import RoadStudent


def random_batch(batch: int, length: int, seed: int) -> dict[str, np.ndarray]:
    """Random ids with two segments; every row but the first ends in padding."""
    rng = np.random.default_rng(seed)
    input_ids = rng.integers(1000, 30000, size=(batch, length), dtype=np.int64)
    attention_mask = np.ones((batch, length), dtype=np.int64)
    token_type_ids = np.zeros((batch, length), dtype=np.int64)
    for row in range(batch):
        used = length - 3 * row
        attention_mask[row, used:] = 0
        input_ids[row, used:] = 0
        token_type_ids[row, used // 2 : used] = 1
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "token_type_ids": token_type_ids,
    }


def test_graph_has_the_named_inputs_and_outputs_with_dynamic_axes(fp32_bundle: Path) -> None:
    session = open_session(fp32_bundle / "model.onnx")
    inputs = session.get_inputs()
    assert tuple(i.name for i in inputs) == GRAPH_INPUTS
    assert all(i.type == "tensor(int64)" for i in inputs)
    assert all(all(isinstance(dim, str) for dim in i.shape) for i in inputs)
    assert tuple(o.name for o in session.get_outputs()) == GRAPH_OUTPUTS


@pytest.mark.parametrize(("batch", "length"), [(1, 7), (3, 23), (2, 48)])
def test_graph_matches_pytorch_for_any_batch_and_length(
    fp32_bundle: Path, tiny_checkpoint: Path, batch: int, length: int
) -> None:
    inputs = random_batch(batch, length, seed=batch * 100 + length)
    expected = torch_runner(RoadStudent.from_pretrained(tiny_checkpoint).eval())(inputs)
    actual = onnx_runner(open_session(fp32_bundle / "model.onnx"))(inputs)
    assert actual["start_logits"].shape == actual["end_logits"].shape == (batch, length)
    assert actual["nli_logits"].shape == (batch, 3)
    for name in GRAPH_OUTPUTS:
        np.testing.assert_allclose(actual[name], expected[name], atol=1e-4, rtol=0, err_msg=name)


def test_graph_is_one_self_contained_file(fp32_bundle: Path) -> None:
    model = onnx.load(str(fp32_bundle / "model.onnx"), load_external_data=False)
    assert not any(
        tensor.data_location == onnx.TensorProto.EXTERNAL for tensor in model.graph.initializer
    )
    assert not list(fp32_bundle.glob("*.data"))


def test_int8_graph_is_quantized_smaller_and_still_dynamic(
    fp32_bundle: Path, int8_bundle: Path
) -> None:
    fp32_size = (fp32_bundle / "model.onnx").stat().st_size
    int8_size = (int8_bundle / "model.onnx").stat().st_size
    # The tiny student is mostly its 30522 x 32 embedding table, so quantising Gather matters.
    assert int8_size < 0.4 * fp32_size
    ops = {node.op_type for node in onnx.load(str(int8_bundle / "model.onnx")).graph.node}
    assert {"MatMulInteger", "DynamicQuantizeLinear"} <= ops
    runner = onnx_runner(open_session(int8_bundle / "model.onnx"))
    for batch, length in [(1, 9), (3, 30)]:
        out = runner(random_batch(batch, length, seed=length))
        assert out["start_logits"].shape == (batch, length)
        assert out["nli_logits"].shape == (batch, 3)
        assert all(np.isfinite(value).all() for value in out.values())


def test_int8_graph_stays_close_to_pytorch(int8_bundle: Path, tiny_checkpoint: Path) -> None:
    inputs = random_batch(3, 30, seed=7)
    with torch.inference_mode():
        expected = torch_runner(RoadStudent.from_pretrained(tiny_checkpoint).eval())(inputs)
    actual = onnx_runner(open_session(int8_bundle / "model.onnx"))(inputs)
    for name in GRAPH_OUTPUTS:
        np.testing.assert_allclose(actual[name], expected[name], atol=0.25, rtol=0, err_msg=name)
