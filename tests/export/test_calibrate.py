"""`road calibrate`: the held-out fit, the rewritten manifest and its integrity rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from road.cli import app
from road.core.bundle import FORMAT_VERSION, MANIFEST, load_manifest
from road.core.calibration import softmax
from road.core.rows import run_batches
from road.export.calibrate import dev_files, fit_and_measure, with_temperatures
from road.export.errors import ExportError
from road.runtime.protocol import NLIRequest
from road.runtime.session import Runtime, SessionOptions
from road.runtime.settings import ModelSettings, default_bundle

NLI_DEV = Path(__file__).resolve().parents[2].parent / "shared/data/nli/vitaminc-dev.jsonl.gz"


def overconfident(n: int, accuracy: float, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """Logits that put `margin` on a label that is right `accuracy` of the time."""
    rng = np.random.default_rng(0)
    golds = rng.integers(0, 3, n)
    preds = np.where(rng.random(n) < accuracy, golds, (golds + rng.integers(1, 3, n)) % 3)
    logits = np.zeros((n, 3))
    logits[np.arange(n), preds] = margin
    return logits, golds


def test_the_fit_is_on_even_rows_and_ece_is_measured_on_the_odd_ones() -> None:
    logits, golds = overconfident(2001, accuracy=0.7, margin=6.0)
    record = fit_and_measure(logits, golds)
    assert (record["fit_rows"], record["held_out_rows"]) == (1001, 1000)
    assert record["temperature"] > 1.5
    assert record["ece_calibrated"] < 3 < 25 < record["ece"]
    assert record["nll_calibrated"] < record["nll"]
    # Flipping the odd rows' labels leaves the fit alone and ruins only the held-out half.
    spoiled = golds.copy()
    spoiled[1::2] = (spoiled[1::2] + 1) % 3
    other = fit_and_measure(logits, spoiled)
    assert other["temperature"] == record["temperature"]
    assert other["ece_fit_rows"] == record["ece_fit_rows"]
    assert other["accuracy"] < record["accuracy"] - 50


def test_the_manifest_gets_the_temperature_at_the_current_format_and_keeps_its_hashes() -> None:
    manifest = load_manifest(default_bundle(), verify=False)
    record = {"temperature": 1.5, "ece": 4.0}
    updated = with_temperatures(manifest, {"nli": record})
    assert updated.format_version == FORMAT_VERSION
    assert updated.tasks.nli.temperature == 1.5 and updated.tasks.qa == manifest.tasks.qa
    assert updated.files == manifest.files and updated.provenance == manifest.provenance
    assert updated.quality["calibration"]["nli"]["ece"] == 4.0
    assert updated.quality["onnx"] == manifest.quality["onnx"]


def test_dev_files_name_tasks_or_mean_the_only_classification_task() -> None:
    bundle = default_bundle()
    assert dev_files(bundle, ["dev.jsonl"]) == {"nli": Path("dev.jsonl")}
    assert dev_files(bundle, ["nli=a.jsonl"]) == {"nli": Path("a.jsonl")}
    with pytest.raises(ExportError, match="no --dev"):
        dev_files(bundle, [])


@pytest.fixture
def bundle_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(default_bundle(), tmp_path / "bundle"))


def calibrate(bundle: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["calibrate", str(bundle), *args])
    return result.exit_code, result.output


@pytest.mark.integration
def test_calibrating_a_copy_of_the_shipped_bundle_rescales_its_scores_only(
    bundle_copy: Path,
) -> None:
    if not NLI_DEV.exists():
        pytest.skip("needs ../shared/data")
    before = load_manifest(bundle_copy)
    code, output = calibrate(bundle_copy, "--dev", str(NLI_DEV), "--limit", "400")
    assert code == 0, output
    record = json.loads(output)["nli"]
    after = load_manifest(bundle_copy, verify=True)
    assert after.tasks.nli.temperature == record["temperature"] != 1.0
    assert after.files == before.files and after.format_version == FORMAT_VERSION
    stored = after.quality["calibration"]["nli"]
    assert (stored["rows"], stored["fit_rows"], stored["held_out_rows"]) == (400, 200, 200)
    assert stored["ece"] == record["ece"] and stored["dev"] == str(NLI_DEV)
    # The served answer: same label, scores softmax(logits / T).
    request = NLIRequest(premise="A man is playing a guitar.", hypothesis="Nobody plays.")
    answers, logits = [], None
    for bundle in (default_bundle(), bundle_copy):
        runtime = Runtime.load(bundle, SessionOptions(intra_op_threads=1))
        head = runtime.heads["nli"]
        rows = head.encode([request], ModelSettings())
        outputs = run_batches(runtime.run, rows[0], [[0]], runtime.token_outputs)
        logits = outputs[0]["nli_logits"]
        answers.append(head.decode([request], rows, outputs)[0])
    shipped, calibrated = answers
    assert shipped.label == calibrated.label
    temperature = after.tasks.nli.temperature
    assert list(calibrated.scores.values()) == pytest.approx(
        list(softmax(np.asarray(logits, np.float64) / temperature)), abs=1e-6
    )


@pytest.mark.integration
def test_a_tampered_bundle_is_refused_and_left_as_it_was(bundle_copy: Path) -> None:
    config = bundle_copy / "tokenizer_config.json"
    config.write_text(config.read_text() + " ")
    manifest = (bundle_copy / MANIFEST).read_text()
    code, output = calibrate(bundle_copy, "--dev", str(NLI_DEV))
    assert code == 1 and "tokenizer_config.json" in output and "tampered" in output
    assert (bundle_copy / MANIFEST).read_text() == manifest


@pytest.mark.integration
def test_a_span_task_cannot_be_calibrated(bundle_copy: Path) -> None:
    manifest = (bundle_copy / MANIFEST).read_text()
    code, output = calibrate(bundle_copy, "--dev", f"qa={NLI_DEV}")
    assert code == 1 and "no classification task 'qa'" in output
    assert (bundle_copy / MANIFEST).read_text() == manifest
