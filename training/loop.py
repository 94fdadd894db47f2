"""`road train`: one readable multi-task fine-tuning loop."""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.functional import cross_entropy
from tqdm import tqdm
from transformers import get_linear_schedule_with_warmup

from road.core.data import read_nli, read_squad
from road.core.nli import NLIEncoder
from road.core.qa import QAEncoder
from road.training.checkpoint import load_trainer_state, save_checkpoint
from road.training.config import TrainConfig
from road.training.evaluate import evaluate
from road.training.features import (
    TaskFeatures,
    TaskSampler,
    nli_features,
    qa_features,
    task_weights,
)
from road.training.init import load_student, load_tokenizer
from road.training.model import RoadStudent, keep_layers

LAST = "checkpoint-last"
FINAL = "final"


def build_features(config: TrainConfig, tokenizer_dir: Path) -> dict[str, TaskFeatures]:
    features = {}
    if config.qa is not None:
        qa = config.qa
        encoder = QAEncoder.from_file(
            tokenizer_dir, qa.max_seq_len, qa.doc_stride, qa.max_question_tokens
        )
        features["qa"] = qa_features(
            read_squad(qa.train), encoder, qa.negative_fraction, config.seed
        )
    if config.nli is not None:
        encoder_nli = NLIEncoder.from_file(tokenizer_dir, config.nli.max_seq_len)
        features["nli"] = nli_features(read_nli(config.nli.train), encoder_nli)
    return features


def task_loss(model: RoadStudent, task: str, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    targets = batch.pop("targets")
    start, end, nli = model(**batch)
    if task == "qa":
        return (cross_entropy(start, targets[:, 0]) + cross_entropy(end, targets[:, 1])) / 2
    return cross_entropy(nli, targets)


def make_optimizer(model: RoadStudent, config: TrainConfig) -> torch.optim.AdamW:
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (no_decay if param.ndim < 2 or "LayerNorm" in name else decay).append(param)
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.lr)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train(config: TrainConfig, max_steps_this_run: int | None = None) -> dict[str, Any]:
    """Train (or resume) per `config`; returns the final dev metrics.

    `max_steps_this_run` stops early, after saving `checkpoint-last`, as an interrupted run
    would; the next call resumes from there. An early stop returns only `train_steps`.
    """
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(config.threads or os.cpu_count() or 1)
    seed_everything(config.seed)
    resume = (out / LAST).is_dir()
    model = RoadStudent.from_pretrained(out / LAST) if resume else load_student(config.init)
    if config.layers is not None and not resume:
        model = keep_layers(model, config.layers)
    tokenizer = load_tokenizer(str(out / LAST) if resume else config.init)
    tokenizer.save_pretrained(out / "tokenizer")
    features = build_features(config, out / "tokenizer")
    sizes = {name: len(f) for name, f in features.items()}
    batch_sizes = {name: getattr(config, name).batch_size for name in features}
    weights = task_weights(sizes, config.task_alpha, config.task_weights)
    sampler = TaskSampler(sizes, batch_sizes, weights, config.seed, config.steps)
    optimizer = make_optimizer(model, config)
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(config.warmup_ratio * config.steps), config.steps
    )
    step = 0
    if resume:
        state = load_trainer_state(out / LAST)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step = state["step"]
    model.train()
    log = (out / "log.jsonl").open("a")
    progress = tqdm(total=config.steps, initial=step, desc="train", unit="step", dynamic_ncols=True)
    started, ema = time.perf_counter(), None
    stop = config.steps
    if max_steps_this_run is not None:
        stop = min(config.steps, step + max_steps_this_run)
    while step < stop:
        task, indices = sampler.indices_at(step)
        loss = task_loss(model, task, features[task].batch(indices))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        step += 1
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        progress.update()
        progress.set_postfix(task=task, loss=f"{loss.item():.3f}", ema=f"{ema:.3f}")
        record: dict[str, Any] = {
            "step": step,
            "task": task,
            "loss": loss.item(),
            "lr": scheduler.get_last_lr()[0],
        }
        if config.eval_every and step % config.eval_every == 0 and step < config.steps:
            record["dev"] = evaluate(model, config, out / "tokenizer", limit=config.eval_subset)
        if step % config.log_every == 0 or "dev" in record:
            record["elapsed_s"] = time.perf_counter() - started
            log.write(json.dumps(record) + "\n")
            log.flush()
        if step % config.save_every == 0 or step == stop:
            state = {
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "step": step,
            }
            save_checkpoint(out / LAST, model, tokenizer, config, state=state)
    progress.close()
    if step < config.steps:
        log.close()
        return {"train_steps": step}
    metrics = evaluate(model, config, out / "tokenizer")
    metrics["train_steps"] = step
    save_checkpoint(out / FINAL, model, tokenizer, config, metrics=metrics)
    log.write(json.dumps({"step": step, "final_dev": metrics}) + "\n")
    log.close()
    return metrics
