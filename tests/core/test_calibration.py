"""Temperature scaling: the fit, ECE, and that the fit lowers ECE on held-out dev rows."""

from __future__ import annotations

import numpy as np
import pytest

from road.core.calibration import (
    calibration_report,
    expected_calibration_error,
    fit_temperature,
    nll,
    softmax,
)
from road.core.data import read_nli
from road.core.rows import run_batches
from road.runtime.protocol import NLIRequest
from road.runtime.session import Runtime, SessionOptions
from road.runtime.settings import ModelSettings, default_bundle

from ..score.conftest import NLI_DEV


def overconfident(n: int, accuracy: float, margin: float, seed: int = 0):  # noqa: ANN201
    """Logits that put `margin` on a label that is right `accuracy` of the time."""
    rng = np.random.default_rng(seed)
    golds = rng.integers(0, 3, n)
    wrong = (golds + rng.integers(1, 3, n)) % 3
    preds = np.where(rng.random(n) < accuracy, golds, wrong)
    logits = np.zeros((n, 3), dtype=np.float32)
    logits[np.arange(n), preds] = margin
    return logits, golds


def test_an_overconfident_head_is_flattened_and_its_ece_drops() -> None:
    logits, golds = overconfident(3000, accuracy=0.7, margin=6.0)
    before = expected_calibration_error(softmax(logits), golds)
    temperature = fit_temperature(logits, golds)
    after = expected_calibration_error(softmax(logits / temperature), golds)
    assert temperature > 1.5
    assert before > 0.25 and after < 0.03
    # The fit is the NLL minimum: a little either side is worse.
    best = nll(logits, golds, temperature)
    assert best < nll(logits, golds, temperature * 1.1)
    assert best < nll(logits, golds, temperature / 1.1)


def test_ece_of_perfectly_calibrated_and_always_wrong_predictions() -> None:
    golds = np.asarray([0, 1, 2, 0])
    assert expected_calibration_error(np.eye(3)[golds], golds) == 0.0
    assert expected_calibration_error(np.eye(3)[(golds + 1) % 3], golds) == 1.0


def test_the_report_is_in_percent_with_the_fitted_temperature() -> None:
    logits, golds = overconfident(600, accuracy=0.6, margin=5.0, seed=1)
    labels = ("entailment", "neutral", "contradiction")
    report = calibration_report(logits, [labels[g] for g in golds], labels)
    assert report["temperature"] == pytest.approx(fit_temperature(logits, golds))
    assert 0 <= report["ece_calibrated"] < report["ece"] <= 100


@pytest.mark.integration
def test_the_fitted_temperature_lowers_ece_on_held_out_dev_rows() -> None:
    """The shipped bundle's NLI logits on VitaminC dev: fit on one half, measure on the other."""
    if not NLI_DEV.exists():
        pytest.skip("needs ../shared/data")
    runtime = Runtime.load(default_bundle(), SessionOptions(intra_op_threads=1))
    head = runtime.heads["nli"]
    examples = read_nli(NLI_DEV)[:1200]
    requests = [NLIRequest(premise=e.premise, hypothesis=e.hypothesis) for e in examples]
    rows = head.encode(requests, ModelSettings())
    first = [r[0] for r in rows]  # the pair, or its first window: logits only, no aggregation
    order = list(range(len(first)))
    batches = [order[i : i + 32] for i in range(0, len(order), 32)]
    outputs = run_batches(runtime.run, first, batches, runtime.token_outputs)
    logits = np.stack([o["nli_logits"] for o in outputs])
    labels = list(head.spec.labels)
    golds = np.asarray([labels.index(e.label) for e in examples])
    fit, held = slice(0, 600), slice(600, None)
    temperature = fit_temperature(logits[fit], golds[fit])
    before = expected_calibration_error(softmax(logits[held]), golds[held])
    after = expected_calibration_error(softmax(logits[held] / temperature), golds[held])
    assert temperature != pytest.approx(1.0, abs=0.02)
    assert after < before, (temperature, before, after)


def test_bundles_before_format_4_read_as_temperature_1_and_the_head_divides_by_it() -> None:
    import json

    from road.core.bundle import Manifest, Tasks, load_manifest
    from road.runtime.heads import load_heads

    bundle = default_bundle()
    shipped = load_manifest(bundle, verify=False)
    # The shipped manifest as it was before `road calibrate` (format 2, no temperature).
    old = json.loads(shipped.model_dump_json())
    old["format_version"] = 2
    del old["tasks"]["nli"]["temperature"]
    manifest = Manifest.model_validate(old)
    assert manifest.tasks.root["nli"].temperature == 1.0
    # The shipped one carries the temperature `road calibrate` fitted (tests/export).
    fitted = shipped.quality["calibration"]["nli"]["temperature"]
    assert shipped.format_version == 4 and shipped.tasks.root["nli"].temperature == fitted
    hot = manifest.tasks.root["nli"].model_copy(update={"temperature": 2.0})
    warmed = manifest.model_copy(update={"tasks": Tasks({**manifest.tasks.root, "nli": hot})})
    request = NLIRequest(premise="A man plays.", hypothesis="Music.")
    logits = {"nli_logits": np.asarray([2.0, 0.0, -2.0], dtype=np.float32)}
    answers = []
    for m in (manifest, warmed):
        head = load_heads(bundle, m)["nli"]
        rows = head.encode([request], ModelSettings())
        answers.append(head.decode([request], rows, [logits])[0])
    plain, scaled = answers
    assert plain.label == scaled.label == "entailment"
    assert list(plain.scores.values()) == pytest.approx(list(softmax(logits["nli_logits"])))
    assert list(scaled.scores.values()) == pytest.approx(list(softmax(logits["nli_logits"] / 2)))
