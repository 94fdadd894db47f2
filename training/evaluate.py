"""Dev evaluation of a PyTorch student through the shared core evaluation, task by task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from road.core.classification import TextEncoder
from road.core.data import read_classification, read_squad
from road.core.evaluation import Runner, evaluate_classification, evaluate_span
from road.core.negatives import DEV_NEGATIVE_SEED, with_negatives
from road.core.qa import QAEncoder
from road.core.tasks import TaskKind
from road.training.config import TaskConfig, TrainConfig
from road.training.model import RoadStudent


def torch_runner(model: RoadStudent) -> Runner:
    """Runs on the model's device (a GPU during GPU training); returns numpy on the CPU."""
    device = next(model.parameters()).device
    names = model.output_names

    @torch.inference_mode()
    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = model(**{k: torch.from_numpy(v).to(device) for k, v in inputs.items()})
        return {name: out.float().cpu().numpy() for name, out in zip(names, outputs)}

    return run


def evaluate_task(
    runner: Runner, task: TaskConfig, tokenizer_dir: Path, limit: int | None = None
) -> dict[str, Any]:
    """Dev metrics of one task; span-extraction dev gets unanswerable pairs too."""
    if TaskKind(task.kind) is TaskKind.SPAN_EXTRACTION:
        encoder = QAEncoder.from_window(tokenizer_dir, task.window)
        examples = read_squad(task.dev)[: limit or task.dev_limit]
        examples = with_negatives(
            examples, task.negative_fraction, task.same_article_fraction, DEV_NEGATIVE_SEED
        )
        result = evaluate_span(
            runner, encoder, examples, max_answer_len=task.max_answer_len, outputs=task.outputs
        )
        return {**result.metrics, "null_threshold": result.null_threshold}
    text = TextEncoder.from_file(tokenizer_dir, task.max_seq_len, task.fields)
    labelled = read_classification(task.dev, task.fields, task.labels)[: limit or task.dev_limit]
    return evaluate_classification(runner, text, labelled, task.labels, task.outputs[0])


def evaluate_with(
    runner: Runner, config: TrainConfig, tokenizer_dir: Path, limit: int | None = None
) -> dict[str, Any]:
    """Dev metrics of any runner for every configured task.

    The export quality gate calls this with an ONNX Runtime runner, so the checkpoint and its
    exported graph are always scored on exactly the same examples.
    """
    return {
        task.name: evaluate_task(runner, task, tokenizer_dir, limit) for task in config.task_defs
    }


def evaluate(
    model: RoadStudent, config: TrainConfig, tokenizer_dir: Path, limit: int | None = None
) -> dict[str, Any]:
    """Dev metrics of a PyTorch student (evaluated in eval mode, its mode restored after)."""
    was_training = model.training
    model.eval()
    try:
        return evaluate_with(torch_runner(model), config, tokenizer_dir, limit)
    finally:
        model.train(was_training)
