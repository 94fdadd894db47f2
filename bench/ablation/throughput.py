"""Rows per second of an exported bundle through ONNX Runtime, on real dev inputs."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from road.core.bundle import load_manifest
from road.core.data import read_nli, read_squad
from road.core.nli import NLIEncoder
from road.core.qa import QAEncoder
from road.core.rows import Row, pad_rows
from road.training.config import TrainConfig


def dev_rows(config: TrainConfig, tokenizer_dir: Path, task: str, count: int) -> list[Row]:
    """The first `count` encoder rows of a task's dev set, as `road serve` would build them."""
    if task == "qa":
        assert config.qa is not None
        qa = config.qa
        encoder = QAEncoder.from_file(
            tokenizer_dir, qa.max_seq_len, qa.doc_stride, qa.max_question_tokens
        )
        examples = read_squad(qa.dev)[:count]
        windows = encoder.encode([e.question for e in examples], [e.context for e in examples])
        return [w for per_example in windows for w in per_example][:count]
    assert config.nli is not None
    examples_nli = read_nli(config.nli.dev)[:count]
    encoder_nli = NLIEncoder.from_file(tokenizer_dir, config.nli.max_seq_len)
    premises, hypotheses = [e.premise for e in examples_nli], [e.hypothesis for e in examples_nli]
    return encoder_nli.encode(premises, hypotheses, truncate=True)


def rows_per_second(
    session: ort.InferenceSession, rows: list[Row], batch_size: int, warmup: int = 2
) -> float:
    """Throughput over consecutive batches of `rows` (padded per batch, as the batcher does)."""
    batches = [pad_rows(rows[i : i + batch_size]) for i in range(0, len(rows), batch_size)]
    for batch in batches[:warmup]:
        session.run(None, batch)
    started = time.perf_counter()
    for batch in batches:
        session.run(None, batch)
    return sum(len(b["input_ids"]) for b in batches) / (time.perf_counter() - started)


def bundle_throughput(
    bundle: Path, config: TrainConfig, tokenizer_dir: Path, rows: int = 256, threads: int = 1
) -> dict[str, dict[str, float]]:
    """Per task: rows/s at batch 1 and batch 32 on the same dev rows, in one process."""
    manifest = load_manifest(bundle)
    options = ort.SessionOptions()
    # One thread, as `road serve` runs by default: bundles compare by their cost per core.
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(
        str(bundle / manifest.graph), options, providers=["CPUExecutionProvider"]
    )
    result = {}
    for task in config.tasks():
        sample = dev_rows(config, tokenizer_dir, task, rows)
        result[task] = {
            "batch_1": rows_per_second(session, sample[: max(rows // 4, 8)], 1),
            "batch_32": rows_per_second(session, sample, 32),
        }
    return {task: {k: float(np.round(v, 1)) for k, v in r.items()} for task, r in result.items()}
