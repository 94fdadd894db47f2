"""Compact checkpoints: half-precision weights plus what a later stage needs, for committing.

A `road train` checkpoint holds fp32 weights and fp32 optimizer state (~270 MB for a 6-layer
MiniLM). A compact one holds fp16 (or bf16) weights, the config, the tokenizer, the training
config, dev metrics, the step reached and a fingerprint (~45 MB), so it can live in git and a
later session on another machine can evaluate it, distil from it, or continue training from it
(`resume_from`).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from transformers import PreTrainedTokenizerBase

from road.core.bundle import sha256_file
from road.training.checkpoint import CONFIG_FILE, METRICS_FILE, STATE_FILE
from road.training.config import TrainConfig, save_config
from road.training.model import RoadStudent

WEIGHTS_FILE = "model.safetensors"
COMPACT_FILE = "compact.json"
DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def save_compact(
    path: Path,
    model: RoadStudent,
    tokenizer: PreTrainedTokenizerBase,
    config: TrainConfig,
    step: int,
    metrics: dict[str, Any] | None = None,
    dtype: str = "fp16",
) -> dict[str, Any]:
    """Write a compact checkpoint atomically; returns its `compact.json` record."""
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.config.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    save_config(config, tmp / CONFIG_FILE)
    state = {
        name: tensor.detach().to("cpu", DTYPES[dtype]).contiguous()
        for name, tensor in model.state_dict().items()
    }
    save_file(state, str(tmp / WEIGHTS_FILE), metadata={"format": "pt"})
    if metrics is not None:
        (tmp / METRICS_FILE).write_text(json.dumps(metrics, indent=2))
    record = {
        "dtype": dtype,
        "step": step,
        "parameters": sum(t.numel() for t in state.values()),
        "weights_sha256": sha256_file(tmp / WEIGHTS_FILE),
    }
    (tmp / COMPACT_FILE).write_text(json.dumps(record, indent=2))
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)
    return record


def read_compact(path: Path) -> dict[str, Any]:
    """The `compact.json` record, after checking the weights against its fingerprint."""
    record: dict[str, Any] = json.loads((path / COMPACT_FILE).read_text())
    actual = sha256_file(path / WEIGHTS_FILE)
    if actual != record["weights_sha256"]:
        raise ValueError(
            f"{path / WEIGHTS_FILE}: sha256 {actual[:12]}… differs from compact.json's "
            f"{record['weights_sha256'][:12]}…; the weights were changed or damaged"
        )
    return record


def is_compact(path: Path) -> bool:
    return (path / COMPACT_FILE).is_file()


def load_compact_weights(model: RoadStudent, path: Path) -> int:
    """Load a compact checkpoint's weights (cast to the model's fp32) into `model`; its step."""
    record = read_compact(path)
    state = load_file(str(path / WEIGHTS_FILE))
    model.load_state_dict({name: tensor.float() for name, tensor in state.items()})
    return int(record["step"])


def checkpoint_step(path: Path) -> int:
    """The optimizer steps behind a `road train` checkpoint (final or checkpoint-last)."""
    if is_compact(path):
        return int(json.loads((path / COMPACT_FILE).read_text())["step"])
    if (path / METRICS_FILE).is_file():
        return int(json.loads((path / METRICS_FILE).read_text())["train_steps"])
    state = torch.load(path / STATE_FILE, weights_only=False, map_location="cpu")
    return int(state["step"])


def compact_checkpoint(
    source: Path, dest: Path, dtype: str = "fp16", evaluate_dev: bool = False
) -> dict[str, Any]:
    """Compact `source` into `dest`; with `evaluate_dev`, score the compact weights on dev.

    The source's own dev metrics (if any) are kept in compact.json as `source_metrics`, so the
    effect of rounding to `dtype` is on record beside the compact checkpoint's metrics.
    """
    from road.training.config import load_config
    from road.training.evaluate import evaluate
    from road.training.init import load_tokenizer

    config = load_config(source / CONFIG_FILE)
    model = RoadStudent.from_pretrained(source)
    tokenizer = load_tokenizer(str(source))
    source_metrics = None
    if (source / METRICS_FILE).is_file():
        source_metrics = json.loads((source / METRICS_FILE).read_text())
    step = checkpoint_step(source)
    record = save_compact(dest, model, tokenizer, config, step, source_metrics, dtype)
    if evaluate_dev:
        compact = RoadStudent.from_pretrained(dest)
        metrics = {**evaluate(compact, config, dest), "train_steps": step}
        (dest / METRICS_FILE).write_text(json.dumps(metrics, indent=2))
    if source_metrics is not None:
        record["source_metrics"] = source_metrics
        (dest / COMPACT_FILE).write_text(json.dumps(record, indent=2))
    return record
