"""Training configuration: YAML plus dotted overrides into frozen, typed dataclasses."""

from __future__ import annotations

from pathlib import Path

import pytest

from road.training.config import NLIConfig, QAConfig, TrainConfig, load_config, save_config

YAML = """\
output_dir: runs/x
steps: 100
lr: 2.0e-4
layers: [0, 2, 4]
task_weights: {qa: 0.3, nli: 0.7}
qa:
  train: qa-train.json
  dev: qa-dev.json
  max_seq_len: 128
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.yaml"
    path.write_text(YAML)
    return path


def test_yaml_builds_nested_typed_config(config_file: Path) -> None:
    config = load_config(config_file)
    assert config == TrainConfig(
        output_dir="runs/x",
        steps=100,
        lr=2.0e-4,
        layers=(0, 2, 4),
        task_weights={"qa": 0.3, "nli": 0.7},
        task_defs=(QAConfig(train="qa-train.json", dev="qa-dev.json", max_seq_len=128),),
    )
    assert config.qa is not None and config.qa.kind == "span_extraction"
    assert config.qa.doc_stride == 128
    assert config.nli is None
    assert list(config.tasks()) == ["qa"]


def test_dotted_overrides(config_file: Path) -> None:
    config = load_config(
        config_file,
        [
            "steps=7",
            "qa.batch_size=8",
            "qa.dev_limit=null",
            "layers=[1, 3]",
            "nli.train=nli-train.jsonl",
            "nli.dev=nli-dev.jsonl",
            "task_weights.nli=0.5",
            "output_dir=runs/a=b",  # only the first '=' separates key and value
        ],
    )
    assert config.steps == 7
    assert config.qa == QAConfig(
        train="qa-train.json", dev="qa-dev.json", max_seq_len=128, batch_size=8
    )
    assert config.layers == (1, 3)
    assert config.nli == NLIConfig(train="nli-train.jsonl", dev="nli-dev.jsonl")
    assert config.task_weights == {"qa": 0.3, "nli": 0.5}
    assert config.output_dir == "runs/a=b"
    assert list(config.tasks()) == ["qa", "nli"]


def test_float_overrides_without_a_dot_are_floats(config_file: Path) -> None:
    # YAML 1.1 reads "3e-4" as a string; the config must still hold a float learning rate.
    config = load_config(config_file, ["lr=3e-4", "warmup_ratio=0"])
    assert config.lr == 3e-4 and isinstance(config.lr, float)
    assert config.warmup_ratio == 0.0 and isinstance(config.warmup_ratio, float)


def test_overrides_without_a_file() -> None:
    config = load_config(None, ["output_dir=out", "steps=3", "init=some/dir"])
    assert config == TrainConfig(output_dir="out", steps=3, init="some/dir")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("learning_rate=1", r"unknown TrainConfig keys: \['learning_rate'\]"),
        ("qa.stride=1", r"unknown TaskConfig keys: \['stride'\]"),
        ("steps", "not key=value"),
    ],
)
def test_bad_overrides_are_rejected(config_file: Path, override: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_config(config_file, [override])


def test_unknown_yaml_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("output_dir: x\nsteps: 1\nnli: {train: a, dev: b, max_len: 9}\n")
    with pytest.raises(ValueError, match=r"unknown TaskConfig keys: \['max_len'\]"):
        load_config(path)


def test_save_and_load_round_trip(config_file: Path, tmp_path: Path) -> None:
    config = load_config(config_file, ["nli.train=a", "nli.dev=b", "threads=2"])
    saved = tmp_path / "saved.yaml"
    save_config(config, saved)
    assert "layers:\n- 0\n- 2\n- 4\n" in saved.read_text()
    assert load_config(saved) == config


def test_shipped_student_config_loads() -> None:
    path = Path(__file__).resolve().parents[2] / "training" / "configs" / "student.yaml"
    config = load_config(path)
    assert config.init == "minilm" and isinstance(config.steps, int) and config.steps > 0
    assert config.task_weights == {"qa": 0.3, "nli": 0.7}
    assert config.qa is not None and config.qa.max_seq_len == 256 and config.qa.doc_stride == 128
    assert config.nli is not None and config.nli.batch_size == 32


def test_a_task_list_with_a_task_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "tasks.yaml"
    path.write_text(
        "output_dir: x\nsteps: 1\ntasks:\n"
        "  - {name: qa, train: q.json, dev: q.json}\n"
        "  - {name: intent, kind: classification, labels: [a, b], fields: [text],"
        " train: i.jsonl, dev: i.jsonl}\n"
    )
    config = load_config(path, ["qa.batch_size=8", "tasks.intent.max_seq_len=64"])
    assert list(config.tasks()) == ["qa", "intent"]
    assert config.qa == QAConfig(train="q.json", dev="q.json", batch_size=8)
    intent = config.tasks()["intent"]
    assert (intent.max_seq_len, intent.format, intent.outputs) == (64, "jsonl", ("intent_logits",))
    assert config.nli is None
    saved = tmp_path / "saved.yaml"
    save_config(config, saved)
    assert load_config(saved) == config


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{name: Intent, kind: classification, labels: [a, b], train: t, dev: d}", "lower-case"),
        ("{name: intent, kind: classification, labels: [a], train: t, dev: d}", "two or more"),
        ("{name: steps, kind: classification, labels: [a, b], train: t, dev: d}", "config keys"),
    ],
)
def test_bad_task_entries_are_refused(tmp_path: Path, entry: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"output_dir: x\nsteps: 1\ntasks: [{entry}]\n")
    with pytest.raises(ValueError, match=message):
        load_config(path)
