"""Golden rows at the model layer: computed with the bundle's own graph, checked by re-running.

The default bundle's real graph and tokenizer, with golden rows computed from the small
handmade dev files (`tiny_data`), so the rows are cheap and the graph is the shipped one.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from road.core.bundle import MANIFEST, load_manifest, write_manifest
from road.core.errors import BundleError, GoldenDrift
from road.runtime.golden import (
    GOLDEN_FILE,
    GoldenSet,
    Tolerance,
    answer_alone,
    check_golden,
    read_golden,
)
from road.runtime.golden_build import add_golden
from road.runtime.providers import CPU, CUDA, TENSORRT
from road.runtime.session import Runtime, SessionOptions
from road.runtime.settings import default_bundle
from tests.golden_graphs import bundle_copy, perturb_graph, rewrite_json

ONE_THREAD = SessionOptions(intra_op_threads=1)


def load(bundle: Path) -> Runtime:
    return Runtime.load(bundle, ONE_THREAD)


@pytest.fixture(scope="module")
def golden_bundle(tmp_path_factory: pytest.TempPathFactory, tiny_data: dict[str, Path]) -> Path:
    """A copy of the default bundle with golden rows from the tiny dev files."""
    bundle = bundle_copy(default_bundle(), tmp_path_factory.mktemp("golden") / "bundle")
    if (bundle / GOLDEN_FILE).exists():
        (bundle / GOLDEN_FILE).unlink()
        write_manifest(bundle, load_manifest(bundle, verify=False))
    add_golden(bundle, {"qa": tiny_data["squad"], "nli": tiny_data["nli"]}, ONE_THREAD)
    return bundle


@pytest.fixture
def copy(golden_bundle: Path, tmp_path: Path) -> Path:
    return bundle_copy(golden_bundle, tmp_path / "copy")


def golden_of(bundle: Path) -> GoldenSet:
    golden = read_golden(bundle, load_manifest(bundle))
    assert golden is not None
    return golden


def test_golden_rows_are_hashed_and_hold_both_tasks_with_an_unanswerable_question(
    golden_bundle: Path,
) -> None:
    manifest = load_manifest(golden_bundle)
    assert GOLDEN_FILE in manifest.files
    golden = golden_of(golden_bundle)
    by_task = {task: [r for r in golden.rows if r.task == task] for task in ("qa", "nli")}
    # 5 answerable questions, 1 other-article negative, the head's long example.
    assert len(by_task["qa"]) == 7 and any(r.id.endswith("-neg") for r in by_task["qa"])
    assert len(by_task["nli"]) == 7
    assert golden.provider == CPU and golden.precision == manifest.precision
    assert {row.response["label"] for row in by_task["nli"]} <= {"entailment", "neutral",
                                                                  "contradiction"}  # fmt: skip
    long = next(r for r in by_task["qa"] if r.id == "example")
    assert len(long.probes) > 1  # several windows, each probed


def test_a_fresh_bundle_passes_on_the_machine_that_computed_it(golden_bundle: Path) -> None:
    report = check_golden(load(golden_bundle))
    assert report.status == "pass" and report.rows == len(golden_of(golden_bundle).rows)
    assert report.max_logit_diff < 1e-4 and report.max_score_diff < 1e-4
    assert report.reference_provider == report.provider == CPU


def test_a_graph_perturbed_after_export_is_refused_naming_the_rows(
    copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    perturb_graph(copy, factor=2.0)
    runtime = load(copy)  # integrity passes: the manifest was re-hashed
    drift = pytest.raises(GoldenDrift, match="golden rows drift on CPUExecutionProvider")
    with caplog.at_level(logging.ERROR, logger="road.runtime.golden"), drift as err:
        check_golden(runtime)
    assert err.value.rows and all(row.split("/")[0] in ("qa", "nli") for row in err.value.rows)
    assert "logits differ by" in str(err.value)
    (record,) = [r for r in caplog.records if r.getMessage() == "golden rows drift"]
    assert record.golden_status == "drift" and record.golden_max_logit_diff > 0.25
    assert record.golden_drifts[0]["row"] == err.value.rows[0]


def test_a_small_perturbation_within_tolerance_passes(copy: Path) -> None:
    perturb_graph(copy, factor=1.0001)
    report = check_golden(load(copy))
    assert report.status == "pass" and 0 < report.max_logit_diff <= report.tolerance.logit_atol


def test_a_decisive_row_must_keep_its_answer_and_a_close_call_may_flip(copy: Path) -> None:
    golden = golden_of(copy).model_dump(mode="json")
    row = next(r for r in golden["rows"] if r["task"] == "nli")
    wrong = next(lab for lab in ("entailment", "neutral", "contradiction")
                 if lab != row["response"]["label"])  # fmt: skip
    row["response"]["label"], row["margin"] = wrong, 100.0
    rewrite_json(copy, GOLDEN_FILE, {"rows": golden["rows"]})
    with pytest.raises(GoldenDrift, match=f'label "[a-z]+", expected "{wrong}"'):
        check_golden(load(copy))
    row["margin"] = 0.0  # a close call: only its logits are compared
    rewrite_json(copy, GOLDEN_FILE, {"rows": golden["rows"]})
    assert check_golden(load(copy)).close_calls >= 1


def test_changed_task_settings_make_the_rows_stale(copy: Path) -> None:
    manifest = json.loads((copy / MANIFEST).read_text())
    manifest["tasks"]["qa"]["null_threshold"] += 1.0
    (copy / MANIFEST).write_text(json.dumps(manifest))
    write_manifest(copy, load_manifest(copy, verify=False))
    with pytest.raises(GoldenDrift, match="null_threshold .* recompute them: road golden"):
        check_golden(load(copy))


def test_a_new_temperature_decodes_the_stored_classification_logits_again(copy: Path) -> None:
    manifest = json.loads((copy / MANIFEST).read_text())
    manifest["tasks"]["nli"]["temperature"] = 3.0
    (copy / MANIFEST).write_text(json.dumps(manifest))
    write_manifest(copy, load_manifest(copy, verify=False))
    runtime = load(copy)
    report = check_golden(runtime)
    assert report.status == "pass" and report.rows == len(golden_of(copy).rows)
    # Not because nothing moved: the stored scores were softmax(logits / 1), these are / 3.
    row = next(r for r in golden_of(copy).rows if r.task == "nli" and r.margin > 0.25)
    head = runtime.heads["nli"]
    now, _, _ = answer_alone(runtime, head, head.request(**row.request))
    stored = max(row.response["scores"].values())
    assert max(now.scores.values()) < stored - 0.1  # type: ignore[attr-defined]
    assert report.max_score_diff < 1e-4  # against the scores decoded again, not the stored ones


def test_a_tampered_golden_file_fails_integrity(copy: Path) -> None:
    (copy / GOLDEN_FILE).write_text((copy / GOLDEN_FILE).read_text().replace("0", "1", 1))
    with pytest.raises(BundleError, match=f"{GOLDEN_FILE}: sha256 does not match"):
        load(copy)


def test_a_bundle_without_golden_rows_passes_with_a_warning(
    copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (copy / GOLDEN_FILE).unlink()
    write_manifest(copy, load_manifest(copy, verify=False))  # hashes what is there
    with caplog.at_level(logging.WARNING, logger="road.runtime.golden"):
        report = check_golden(load(copy))
    assert report.status == "absent" and report.rows == 0
    assert any("has no golden rows" in r.getMessage() for r in caplog.records)


def test_the_tolerance_is_the_larger_of_the_reference_and_this_provider() -> None:
    golden = GoldenSet(
        provider=CPU, precision="int8", settings={}, rows=(),
        tolerances={CPU: Tolerance(logit_atol=0.25, score_atol=0.2),
                    CUDA: Tolerance(logit_atol=0.3, score_atol=0.1)},
    )  # fmt: skip
    assert golden.tolerance(CPU) == Tolerance(logit_atol=0.25, score_atol=0.2)
    assert golden.tolerance(CUDA) == Tolerance(logit_atol=0.3, score_atol=0.2)
    assert golden.tolerance(TENSORRT) == golden.tolerance(CPU)


def test_the_shipped_bundle_passes_its_own_golden_rows() -> None:
    """Fails when the default bundle's graph or task settings changed without `road golden`."""
    report = check_golden(load(default_bundle()))
    assert report.status == "pass" and report.rows == len(golden_of(default_bundle()).rows) > 40


def test_road_golden_adds_rows_and_refuses_a_bad_dev_option(
    tmp_path: Path, tiny_data: dict[str, Path]
) -> None:
    from typer.testing import CliRunner

    from road.cli import app

    bundle = bundle_copy(default_bundle(), tmp_path / "bundle")
    (bundle / GOLDEN_FILE).unlink()
    write_manifest(bundle, load_manifest(bundle, verify=False))
    refused = CliRunner().invoke(app, ["golden", str(bundle), "--dev", "no-equals-sign"])
    assert refused.exit_code != 0 and GOLDEN_FILE not in load_manifest(bundle).files
    dev = ["--dev", f"qa={tiny_data['squad']}", "--dev", f"nli={tiny_data['nli']}"]
    result = CliRunner().invoke(app, ["golden", str(bundle), *dev])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rows"] == {"qa": 7, "nli": 7}
    assert check_golden(load(bundle)).rows == 14
