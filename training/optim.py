"""AdamW with weight-decay groups and layer-wise learning-rate decay (LLRD)."""

from __future__ import annotations

import re

import torch
from torch import nn

from road.training.config import TrainConfig

_LAYER = re.compile(r"encoder\.layer\.(\d+)\.")


def parameter_depth(name: str, num_layers: int) -> int:
    """0 for the embeddings, i+1 for encoder layer i, num_layers+1 for the heads."""
    if ".embeddings" in name or name.startswith("embeddings") or "embeddings_project" in name:
        return 0
    match = _LAYER.search(name)
    return int(match.group(1)) + 1 if match else num_layers + 1


def make_optimizer(model: nn.Module, config: TrainConfig, num_layers: int) -> torch.optim.AdamW:
    """Groups by (depth, decay); a group d levels below the heads gets lr·layer_lr_decay^d.

    With no decay (1.0) this is exactly two groups, decayed weights first, as checkpoints from
    before LLRD expect when they resume.
    """
    groups: dict[tuple[int, bool], list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:  # frozen (e.g. word embeddings): no state, no update
            continue
        no_decay = param.ndim < 2 or "LayerNorm" in name
        depth = num_layers + 1
        if config.layer_lr_decay != 1.0:
            depth = parameter_depth(name, num_layers)
        groups.setdefault((depth, no_decay), []).append(param)
    return torch.optim.AdamW(
        [
            {
                "params": params,
                "weight_decay": 0.0 if no_decay else config.weight_decay,
                "lr": config.lr * config.layer_lr_decay ** (num_layers + 1 - depth),
            }
            for (depth, no_decay), params in sorted(
                groups.items(), key=lambda g: (-g[0][0], g[0][1])
            )
        ],
        lr=config.lr,
    )
