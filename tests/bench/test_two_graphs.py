from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from bench.two_graphs import split_graph
from road.core.nli import NLIEncoder
from road.core.rows import pad_rows
from road.runtime.settings import default_bundle


@pytest.mark.integration
def test_single_task_graphs_give_the_full_graphs_outputs(tmp_path: Path) -> None:
    bundle = default_bundle()
    rows = NLIEncoder.from_file(bundle, 128).encode(
        ["A man is playing a guitar on stage.", "Two dogs run across a snowy field."],
        ["A man is performing music.", "The dogs are sleeping indoors."],
    )
    inputs = pad_rows(rows)
    full = ort.InferenceSession(str(bundle / "model.onnx"), providers=["CPUExecutionProvider"])
    names = [o.name for o in full.get_outputs()]  # the graph's own order, not an assumed one
    expected = dict(zip(names, full.run(None, inputs)))
    for outputs in (("start_logits", "end_logits"), ("nli_logits",)):
        path = split_graph(bundle, outputs, cache=tmp_path)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert [o.name for o in session.get_outputs()] == list(outputs)
        for name, value in zip(outputs, session.run(None, inputs)):
            np.testing.assert_allclose(value, expected[name], rtol=0, atol=1e-5)
