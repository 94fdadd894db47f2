"""Checkpoints: HF-format directories plus the training config, dev metrics and trainer state."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedTokenizerBase

from road.training.config import TrainConfig, save_config
from road.training.model import RoadStudent

CONFIG_FILE = "train_config.yaml"
METRICS_FILE = "dev_metrics.json"
STATE_FILE = "trainer_state.pt"


def save_checkpoint(
    path: Path,
    model: RoadStudent,
    tokenizer: PreTrainedTokenizerBase,
    config: TrainConfig,
    state: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
) -> None:
    """Write atomically: a crash mid-save never leaves a half checkpoint under `path`."""
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    save_config(config, tmp / CONFIG_FILE)
    if metrics is not None:
        (tmp / METRICS_FILE).write_text(json.dumps(metrics, indent=2))
    if state is not None:
        torch.save({**state, "rng": _rng_state()}, tmp / STATE_FILE)
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)


def load_trainer_state(path: Path) -> dict[str, Any]:
    state = torch.load(path / STATE_FILE, weights_only=False)
    _set_rng_state(state.pop("rng"))
    return state


def _rng_state() -> dict[str, Any]:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():  # dropout and SMART's noise draw from it on GPUs
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(rng: dict[str, Any]) -> None:
    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
