from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from bench import harness
from bench.null_model import zero_outputs
from road.runtime.settings import default_bundle


def test_zero_outputs_have_every_head_shaped_like_the_batch() -> None:
    run = zero_outputs(labels=3)
    outputs = run({"input_ids": np.ones((4, 9), np.int64)})
    assert {k: v.shape for k, v in outputs.items()} == {
        "start_logits": (4, 9), "end_logits": (4, 9), "nli_logits": (4, 3),
    }  # fmt: skip
    assert not any(v.any() for v in outputs.values())


CONTEXT = "A cat sat on the mat."


@pytest.mark.integration
def test_null_model_server_answers_through_road_without_the_encoder(tmp_path: Path) -> None:
    setup = harness.Setup(out=tmp_path, server_cpus={0})
    with harness.road_server(setup, default_bundle(), entry=("bench.null_model",)) as server:
        nli = httpx.post(
            f"{server.url}/nli", json={"premise": "A cat sat.", "hypothesis": "A cat sat."}
        ).json()
        qa = httpx.post(
            f"{server.url}/qa",
            json={"question": "Who sat?", "context": CONTEXT, "allow_no_answer": False, "top_k": 3},
        ).json()
    assert "bench.null_model" in server.command
    # Zero logits: every label, and every candidate span, equally likely.
    assert nli["scores"] == pytest.approx(dict.fromkeys(nli["scores"], 1 / 3))
    assert len(nli["scores"]) == 3
    scores = [answer["score"] for answer in qa["answers"]]
    assert len(scores) == 3 and scores == pytest.approx([scores[0]] * 3)
    assert all(CONTEXT[a["start"] : a["end"]] == a["answer"] for a in qa["answers"])
