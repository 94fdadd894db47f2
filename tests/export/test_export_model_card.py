"""The bundle's model card and its teachers' provenance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from road.core.bundle import MANIFEST, load_manifest
from road.export.model_card import MODEL_CARD, render_model_card
from road.export.provenance import teacher_provenance
from road.training.checkpoint import METRICS_FILE


def test_bundle_ships_a_card_the_manifest_hashes(fp32_bundle: Path) -> None:
    manifest = load_manifest(fp32_bundle)
    assert MODEL_CARD in manifest.files
    card = (fp32_bundle / MODEL_CARD).read_text()
    f1 = manifest.quality["onnx"]["qa"]["HasAns_f1"]
    source_f1 = manifest.quality["pytorch"]["qa"]["HasAns_f1"]
    accuracy = manifest.quality["onnx"]["nli"]["accuracy"]
    assert f"| HasAns F1 | {source_f1:.2f} | {f1:.2f} |" in card
    assert "| accuracy | " in card and f"{accuracy:.2f} |" in card
    assert "fine-tuned (no distillation)" in card  # the tiny run has no teachers
    assert "## Teachers" not in card
    config = manifest.provenance["train_config"]
    assert f"| qa | `{config['qa']['train']}` |" in card
    assert f"nli {config['nli']['batch_size']} × {config['nli']['max_seq_len']}" in card


def test_edited_card_is_refused(fp32_bundle: Path, tmp_path: Path) -> None:
    import shutil

    from road.core.bundle import BundleError

    copy = tmp_path / "bundle"
    shutil.copytree(fp32_bundle, copy)
    card = copy / MODEL_CARD
    card.write_text(card.read_text().replace("HasAns F1", "HasAns F1 (improved)"))
    with pytest.raises(BundleError, match=MODEL_CARD):
        load_manifest(copy)


def test_teachers_are_named_with_fingerprints_and_metrics(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    from road.training.config import load_config
    from road.training.teachers import load_teacher

    config = load_config(
        tiny_checkpoint / "train_config.yaml",
        [f"distill={{teachers: {{qa: [{tiny_checkpoint}], nli: [{tmp_path / 'gone'}]}}}}"],
    )
    teachers = teacher_provenance(config)
    (qa,), (nli,) = teachers["qa"], teachers["nli"]
    assert qa["fingerprint"] == load_teacher(str(tiny_checkpoint), "qa").fingerprint()
    saved = json.loads((tiny_checkpoint / METRICS_FILE).read_text())["qa"]
    assert qa["dev_metrics"]["HasAns_f1"] == saved["HasAns_f1"]
    assert nli["fingerprint"] is None and nli["missing"]


def test_card_shows_teachers_per_class_and_notes(fp32_bundle: Path) -> None:
    manifest = load_manifest(fp32_bundle)
    nli = dict(manifest.quality["onnx"]["nli"])
    nli["per_class_recall"] = {"entailment": 90.0, "neutral": 40.0, "contradiction": 60.0}
    nli["per_class_f1"] = {"entailment": 80.0, "neutral": 50.0, "contradiction": 65.0}
    nli["confusion"] = {
        gold: {pred: 100 + i * 3 + j for j, pred in enumerate(nli["per_class_recall"])}
        for i, gold in enumerate(nli["per_class_recall"])
    }
    teachers = {"qa": [{"source": "checkpoints/t", "fingerprint": "ab" * 32,
                        "dev_metrics": {"HasAns_f1": 77.5, "NoAns_exact": 91.3}}]}  # fmt: skip
    provenance = manifest.provenance | {"teachers": teachers}
    provenance["train_config"] = provenance["train_config"] | {"distill": {"combine": "weighted"}}
    edited = manifest.model_copy(update={
        "quality": manifest.quality | {"onnx": manifest.quality["onnx"] | {"nli": nli}},
        "provenance": provenance,
    })  # fmt: skip
    card = render_model_card(edited, {"layers": 2}, "## Failure modes\n\nLong lists.")
    assert "distilled" in card and "fine-tuned" not in card
    assert f"`{'ab' * 8}…`" in card and "HasAns F1 77.50, NoAns 91.3%" in card
    assert "| neutral | 103 | 104 | 105 | 40.00 | 50.00 |" in card
    assert card.rstrip().endswith("Long lists.")
    assert MANIFEST not in card
