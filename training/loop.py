"""`road train`: one readable multi-task fine-tuning loop."""

from __future__ import annotations

import json
import random
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from accelerate import Accelerator, DistributedDataParallelKwargs
from tqdm import tqdm
from transformers import PreTrainedTokenizerBase, get_linear_schedule_with_warmup

from road.runtime.cpu import available_cpus
from road.training.checkpoint import load_trainer_state, save_checkpoint
from road.training.compact import checkpoint_step, read_compact
from road.training.config import TrainConfig
from road.training.distill import Distillation
from road.training.evaluate import evaluate
from road.training.features import (
    TaskFeatures,
    TaskSampler,
    build_features,
    task_weights,
)
from road.training.init import load_student, load_tokenizer
from road.training.model import RoadStudent, copy_head, keep_layers, set_attention_dropout
from road.training.objective import Trainee, gold_weight, step_targets
from road.training.optim import make_optimizer
from road.training.precision import PrecisionChoice, choose_precision
from road.training.smart import make_ema, update_ema

LAST = "checkpoint-last"
FINAL = "final"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_accelerator() -> Accelerator:
    """One process or several under `accelerate launch` (DDP); a step leaves other heads unused."""
    return Accelerator(
        cpu=not torch.cuda.is_available(),
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )


def micro_batches(
    indices: list[int], config: TrainConfig, rank: int, world: int
) -> list[list[int]]:
    """This process's rows of each of the draw's `grad_accum` micro-batches."""
    parts = config.grad_accum * world
    if len(indices) % parts:
        raise ValueError(f"batch of {len(indices)} rows does not split into {parts} equal parts")
    size = len(indices) // parts
    return [
        indices[(j * world + rank) * size : (j * world + rank + 1) * size]
        for j in range(config.grad_accum)
    ]


@dataclass
class Run:
    """Everything one training run holds; `wrapped` is `trainee` as Accelerate prepared it."""

    config: TrainConfig
    out: Path
    accelerator: Accelerator
    trainee: Trainee
    wrapped: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    sampler: TaskSampler
    features: dict[str, TaskFeatures]
    tokenizer: PreTrainedTokenizerBase
    distillation: Distillation | None
    ema: RoadStudent | None
    precision: PrecisionChoice
    step: int = 0


def load_model(config: TrainConfig, out: Path) -> tuple[RoadStudent, PreTrainedTokenizerBase]:
    """The student and tokenizer: OUTPUT_DIR/checkpoint-last, `resume_from`, else init (with a
    head per task, from `init_heads` where given); a resumed one keeps its heads."""
    specs = [task.spec for task in config.task_defs]
    source = out / LAST if (out / LAST).is_dir() else config.resume_from
    if source is not None:
        if source == config.resume_from:
            read_compact(Path(source))  # refuses damaged weights before training on them
        student = RoadStudent.from_pretrained(source).set_tasks(specs, keep=True)
        return student, load_tokenizer(str(source))
    student = load_student(config.init).set_tasks(specs)
    for task, head_source in sorted(config.init_heads.items()):
        copy_head(student, RoadStudent.from_pretrained(head_source), task)
    if config.layers is not None:
        student = keep_layers(student, config.layers)
    return student, load_tokenizer(config.init)


def make_sampler(config: TrainConfig, features: dict[str, TaskFeatures]) -> TaskSampler:
    sizes = {name: len(f) for name, f in features.items()}
    batch_sizes = {name: config.tasks()[name].batch_size for name in features}
    weights = task_weights(sizes, config.task_alpha, config.task_weights)
    lengths = {name: f.lengths() for name, f in features.items()}
    return TaskSampler(
        sizes, batch_sizes, weights, config.seed, config.steps, config.tasks_per_step,
        lengths=lengths, group_batches=config.length_group_batches,
    )  # fmt: skip


def setup(config: TrainConfig) -> Run:
    """Build (or restore from OUTPUT_DIR/checkpoint-last) the student and everything around it."""
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    accelerator = make_accelerator()
    # Processes sharing a CPU split its cores rather than oversubscribe them; the cores are the
    # ones this process may run on (taskset, cgroup quota), not the machine's.
    cores = max(1, available_cpus() // accelerator.num_processes)
    torch.set_num_threads(config.threads or cores)
    seed_everything(config.seed)
    student, tokenizer = load_model(config, out)
    if config.attn_implementation is not None:
        student.set_attn_implementation(config.attn_implementation)
    if config.attention_dropout is not None:
        set_attention_dropout(student, config.attention_dropout)
    if config.freeze_word_embeddings:
        student.electra.embeddings.word_embeddings.weight.requires_grad_(False)
    precision = choose_precision(config.precision, accelerator.device.type)
    if accelerator.is_main_process:
        tqdm.write(f"road train: precision {precision.precision} ({precision.reason})", sys.stderr)
    with accelerator.main_process_first():
        if accelerator.is_main_process:
            tokenizer.save_pretrained(out / "tokenizer")
    features = build_features(config, out / "tokenizer")
    distillation = None
    if config.distill is not None:
        with accelerator.main_process_first():  # the main process fills the cache, once
            bf16 = precision.precision == "bf16"
            distillation = Distillation.build(config, features, tokenizer, accelerator.device, bf16)
    hidden = distillation.hidden_sizes() if distillation is not None else {}
    trainee = Trainee(student, config, hidden).to(accelerator.device)
    smart = config.smart
    ema = make_ema(student) if smart is not None and smart.bregman_weight > 0 else None
    optimizer = make_optimizer(trainee, config, student.config.num_hidden_layers)
    warmup = int(config.warmup_ratio * config.steps)
    run = Run(
        config=config, out=out, accelerator=accelerator, trainee=trainee, wrapped=trainee,
        optimizer=optimizer,
        scheduler=get_linear_schedule_with_warmup(optimizer, warmup, config.steps),
        sampler=make_sampler(config, features), features=features, tokenizer=tokenizer,
        distillation=distillation, ema=ema, precision=precision,
    )  # fmt: skip
    if (out / LAST).is_dir():
        restore(run, load_trainer_state(out / LAST))
    elif config.resume_from is not None:
        resume_schedule(run, checkpoint_step(Path(config.resume_from)))
    run.wrapped, run.optimizer = accelerator.prepare(trainee, optimizer)
    return run


def restore(run: Run, state: dict[str, Any]) -> None:
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    run.step = state["step"]
    if "projections" in state:
        run.trainee.projections.load_state_dict(state["projections"])
    if run.ema is not None and "ema" in state:
        run.ema.load_state_dict(state["ema"])


def resume_schedule(run: Run, step: int) -> None:
    """Continue a compact checkpoint's schedule at `step`, with fresh AdamW moments."""
    if not 0 <= step <= run.config.steps:
        raise ValueError(f"resume_from is at step {step}, outside 0..{run.config.steps}")
    for group in run.optimizer.param_groups:
        group.setdefault("initial_lr", group["lr"])
    warmup = int(run.config.warmup_ratio * run.config.steps)
    run.scheduler = get_linear_schedule_with_warmup(
        run.optimizer, warmup, run.config.steps, last_epoch=step - 1
    )
    run.step = step


def run_step(run: Run) -> tuple[str, dict[str, float]]:
    """One optimizer update: forward/backward of every micro-batch of the step's draws."""
    config, accelerator = run.config, run.accelerator
    draws = run.sampler.draws_at(run.step)
    count = len(draws) * config.grad_accum
    totals: dict[str, torch.Tensor] = {}
    done = 0
    for task, indices in draws:
        rank, world = accelerator.process_index, accelerator.num_processes
        for rows in micro_batches(indices, config, rank, world):
            done += 1
            batch = {k: v.to(accelerator.device) for k, v in run.features[task].batch(rows).items()}
            weight = gold_weight(config, run.step)
            targets = step_targets(run.distillation, run.ema, task, rows, batch, weight)
            # Gradients synchronise across processes once, on the step's last micro-batch.
            sync = nullcontext() if done == count else accelerator.no_sync(run.wrapped)
            with sync:
                with run.precision.autocast():
                    parts = run.wrapped(task, batch, targets)
                accelerator.backward(parts["loss"] / count)
            for name, value in parts.items():
                totals[name] = totals.get(name, 0) + value.detach() / count
    accelerator.clip_grad_norm_(run.wrapped.parameters(), config.max_grad_norm)
    run.optimizer.step()
    run.scheduler.step()
    run.optimizer.zero_grad(set_to_none=True)
    if run.ema is not None and config.smart is not None:
        update_ema(run.ema, run.trainee.student, config.smart.ema_beta)
    run.step += 1
    means = {k: accelerator.reduce(v, "mean").item() for k, v in sorted(totals.items())}
    return "+".join(task for task, _ in draws), means


def save(run: Run, path: Path, metrics: dict[str, Any] | None = None) -> None:
    if not run.accelerator.is_main_process:
        return
    state = None
    if metrics is None:
        state = {
            "optimizer": run.optimizer.state_dict(),
            "scheduler": run.scheduler.state_dict(),
            "step": run.step,
        }
        if len(run.trainee.projections):
            state["projections"] = run.trainee.projections.state_dict()
        if run.ema is not None:
            state["ema"] = run.ema.state_dict()
    student = run.trainee.student
    save_checkpoint(path, student, run.tokenizer, run.config, state=state, metrics=metrics)


def write_record(run: Run, record: dict[str, Any], log: IO[str], elapsed: float) -> None:
    """Log the step (every `log_every`), with a dev evaluation every `eval_every` steps."""
    config, step = run.config, run.step
    record["lr"] = run.scheduler.get_last_lr()[0]
    if config.eval_every and step % config.eval_every == 0 and step < config.steps:
        tokenizer_dir = run.out / "tokenizer"
        record["dev"] = evaluate(run.trainee.student, config, tokenizer_dir, config.eval_subset)
    if step % config.log_every == 0 or "dev" in record:
        record["elapsed_s"] = elapsed
        log.write(json.dumps(record) + "\n")
        log.flush()


def train(config: TrainConfig, max_steps_this_run: int | None = None) -> dict[str, Any]:
    """Train (or resume) per `config`; returns the final dev metrics.

    `max_steps_this_run` stops early, after saving `checkpoint-last`, as an interrupted run
    would; the next call resumes from there. An early stop returns only `train_steps`.
    """
    run = setup(config)
    main, out = run.accelerator.is_main_process, run.out
    student = run.trainee.student
    student.train()
    log = (out / "log.jsonl").open("a") if main else None
    if log is not None:
        choice = run.precision
        log.write(json.dumps({"start_step": run.step, "precision": choice.precision,
                              "precision_reason": choice.reason}) + "\n")  # fmt: skip
    progress = tqdm(total=config.steps, initial=run.step, desc="train", unit="step",
                    dynamic_ncols=True, disable=not main)  # fmt: skip
    started, ema = time.perf_counter(), None
    stop = config.steps
    if max_steps_this_run is not None:
        stop = min(config.steps, run.step + max_steps_this_run)
    while run.step < stop:
        task, parts = run_step(run)
        ema = parts["loss"] if ema is None else 0.95 * ema + 0.05 * parts["loss"]
        progress.update()
        progress.set_postfix(task=task, loss=f"{parts['loss']:.3f}", ema=f"{ema:.3f}")
        if log is not None:
            record = {"step": run.step, "task": task, **parts}
            write_record(run, record, log, time.perf_counter() - started)
        if run.step % config.save_every == 0 or run.step == stop:
            save(run, out / LAST)
    progress.close()
    run.accelerator.wait_for_everyone()
    if run.step < config.steps or not main:
        if log is not None:
            log.close()
        return {"train_steps": run.step}
    metrics = evaluate(student, config, out / "tokenizer")
    metrics["train_steps"] = run.step
    save(run, out / FINAL, metrics)
    assert log is not None
    log.write(json.dumps({"step": run.step, "final_dev": metrics}) + "\n")
    log.close()
    return metrics
