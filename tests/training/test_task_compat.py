"""What was written before tasks were data still loads: bundles, checkpoints, their configs.

Bundles in manifest format 2 and the committed checkpoints (no `road_tasks` in their model
config, `qa:`/`nli:` sections in their training config) are read as they are; a
`checkpoint-last` in that format, like the one a QA teacher run from before writes, is
compacted and resumed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from road.core.bundle import FORMAT_VERSION, Manifest, load_manifest
from road.runtime.heads import load_heads
from road.runtime.settings import default_bundle
from road.training.checkpoint import CONFIG_FILE, STATE_FILE
from road.training.compact import compact_checkpoint
from road.training.config import load_config
from road.training.loop import LAST, train
from road.training.model import RoadStudent

REPO = Path(__file__).resolve().parents[2]
COMMITTED = [REPO / "checkpoints" / "default-student", REPO / "checkpoints" / "teacher-nli"]


def _format_2_copy(tmp_path: Path) -> Path:
    """The shipped bundle's files under a manifest as format 2 wrote it: no task `fields`, and
    an absent task as null."""
    bundle = tmp_path / "format-2"
    bundle.mkdir()
    for path in default_bundle().iterdir():
        (bundle / path.name).symlink_to(path)
    data = json.loads((default_bundle() / "manifest.json").read_text())
    (bundle / "manifest.json").unlink()
    data["format_version"] = 2
    for info in data["tasks"].values():
        info.pop("fields"), info.pop("temperature", None)
    data["tasks"]["sts"] = None
    (bundle / "manifest.json").write_text(json.dumps(data))
    return bundle


def test_a_format_2_bundle_loads_with_both_tasks(tmp_path: Path) -> None:
    bundle = _format_2_copy(tmp_path)
    manifest = load_manifest(bundle)  # every file still matches its hash
    assert manifest.format_version == 2 < FORMAT_VERSION
    assert list(manifest.tasks) == ["qa", "nli"]
    assert manifest.tasks.nli is not None and manifest.tasks.nli.fields == ("premise", "hypothesis")
    assert manifest.tasks.qa is not None and manifest.tasks.qa.fields == ("question", "context")
    assert list(load_heads(bundle, manifest)) == ["qa", "nli"]
    # Written again, it is a current manifest that reads back the same.
    again = Manifest.model_validate_json(
        manifest.model_copy(update={"format_version": FORMAT_VERSION}).model_dump_json()
    )
    assert again.tasks == manifest.tasks


@pytest.mark.parametrize("path", COMMITTED, ids=[p.name for p in COMMITTED])
def test_committed_checkpoints_load_every_head_key(path: Path) -> None:
    config = load_config(path / CONFIG_FILE)
    assert list(config.tasks()) and set(config.tasks()) <= {"qa", "nli"}
    model, info = RoadStudent.from_pretrained(path, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert list(model.tasks) == ["qa", "nli"]
    assert model.output_names == ("start_logits", "end_logits", "nli_logits")


def to_old_format(checkpoint: Path, qa_only: dict) -> None:
    """Rewrite a checkpoint as the code before tasks were data wrote it (a QA-only run)."""
    config = json.loads((checkpoint / "config.json").read_text())
    config.pop("road_tasks")
    config["nli_labels"] = ["entailment", "neutral", "contradiction"]
    (checkpoint / "config.json").write_text(json.dumps(config))
    (checkpoint / CONFIG_FILE).write_text(yaml.safe_dump(qa_only, sort_keys=False))


def test_an_old_format_checkpoint_last_compacts_and_resumes(
    tiny_data: dict[str, Path], tiny_init: Path, tmp_path: Path, train_overrides
) -> None:
    out = tmp_path / "run"
    overrides = [
        *train_overrides(tiny_data, tiny_init, out, steps=6),
        "task_weights={qa: 1.0, nli: 0.0001}",
    ]
    train(load_config(None, overrides), max_steps_this_run=3)
    saved = yaml.safe_load((out / LAST / CONFIG_FILE).read_text())
    qa = next(task for task in saved.pop("tasks") if task["name"] == "qa")
    for key in ("name", "kind", "format", "fields", "labels", "outputs", "class_weights"):
        qa.pop(key)
    old = {"output_dir": str(out), "steps": 6, "qa": qa, "nli": None, **saved}
    old.pop("task_weights")
    to_old_format(out / LAST, old)
    assert (out / LAST / STATE_FILE).is_file()

    record = compact_checkpoint(out / LAST, tmp_path / "compact")
    assert record["step"] == 3
    compacted = RoadStudent.from_pretrained(tmp_path / "compact")
    assert list(compacted.tasks) == ["qa", "nli"]

    config = load_config(out / LAST / CONFIG_FILE)
    assert list(config.tasks()) == ["qa"] and config.qa is not None
    metrics = train(config)  # resumes at step 3 with its optimizer state
    assert metrics["train_steps"] == 6 and "f1" in metrics["qa"]
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["start_step"] for r in log if "start_step" in r] == [0, 3]
