"""The soft-target cache: teacher logits over the training features, on disk, memory-mapped.

One directory per (task, teacher, pre-processing): its name is a hash of the teacher's weights
and config, the tokenizer, the task's window settings and every feature's tokens, so a changed
teacher or window never reuses stale logits. Inside, `ids.json` lists the feature ids and each
output is a series of `.npy` shards of `shard_rows` rows, opened with `mmap_mode="r"`.
`meta.json` is written last: a directory without it is unfinished, and finished shards are
kept, so an interrupted computation resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from road.core.rows import length_sorted_batches, run_batches
from road.core.tasks import TaskKind
from road.training.features import TaskFeatures
from road.training.teachers import Teacher

FORMAT = 1
META = "meta.json"
IDS = "ids.json"


def output_names(features: TaskFeatures) -> tuple[str, ...]:
    """The cached outputs' file stems: start and end for spans, the task's name for classes."""
    if features.kind is TaskKind.SPAN_EXTRACTION:
        return ("start", "end")
    return (features.name,)


def features_digest(features: TaskFeatures) -> str:
    digest = hashlib.sha256(json.dumps(features.ids).encode())
    for row in features.rows:
        digest.update(np.ascontiguousarray(row.input_ids, dtype=np.int64).tobytes())
        digest.update(np.ascontiguousarray(row.token_type_ids, dtype=np.int64).tobytes())
        digest.update(b"|")
    return digest.hexdigest()


def cache_key(
    teacher_fingerprint: str, preprocessing: dict[str, Any], digest: str, bf16: bool = False
) -> str:
    """The cache directory's identity; `preprocessing` holds the tokenizer and window settings."""
    record = {"format": FORMAT, "teacher": teacher_fingerprint, "pre": preprocessing}
    record["rows"] = digest
    if bf16:  # bf16 logits differ from fp32 ones in the third digit: another cache
        record["teacher_precision"] = "bf16"
    blob = json.dumps(record, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class SoftTargets:
    """One teacher's cached logits for one task, looked up by feature id."""

    def __init__(self, path: Path, features: TaskFeatures) -> None:
        meta = json.loads((path / META).read_text())
        self.path, self.task, self.width = path, meta["task"], meta["width"]
        self.span = features.kind is TaskKind.SPAN_EXTRACTION
        self.shard_rows, self.rows = meta["shard_rows"], meta["rows"]
        self.names = output_names(features)
        self.shards = {
            name: [
                np.load(path / shard_name(name, k), mmap_mode="r")
                for k in range(num_shards(self.rows, self.shard_rows))
            ]
            for name in self.names
        }
        cached = {fid: i for i, fid in enumerate(json.loads((path / IDS).read_text()))}
        missing = [fid for fid in features.ids if fid not in cached]
        if missing:
            raise KeyError(f"{path}: no teacher logits for features {missing[:3]}...")
        self.row_of = np.asarray([cached[fid] for fid in features.ids], dtype=np.int64)

    def batch(self, indices: Sequence[int], width: int | None = None) -> list[torch.Tensor]:
        """Logits of these feature rows: spans `[n, width]` per output, classes `[n, labels]`."""
        out = []
        for name in self.names:
            rows = [self._row(name, int(self.row_of[i])) for i in indices]
            stacked = np.stack(rows)
            if width is not None and self.span:
                stacked = stacked[:, :width]
            out.append(torch.from_numpy(np.array(stacked, dtype=np.float32)))
        return out

    def _row(self, name: str, row: int) -> np.ndarray:
        return self.shards[name][row // self.shard_rows][row % self.shard_rows]


def shard_name(output: str, shard: int) -> str:
    return f"{output}-{shard:05d}.npy"


def num_shards(rows: int, shard_rows: int) -> int:
    return -(-rows // shard_rows)


def build_soft_targets(
    teacher: Teacher,
    features: TaskFeatures,
    preprocessing: dict[str, Any],
    cache_dir: Path,
    batch_size: int = 64,
    shard_rows: int = 4096,
    device: torch.device | None = None,
    bf16: bool = False,
) -> SoftTargets:
    """Open the cached logits of `teacher` on `features`, computing what is missing first.

    `bf16` runs the teacher under bf16 autocast (where training runs in it: ~2.7x the fp32
    rows/s on an AMX CPU); the logits are stored in fp32 either way.
    """
    key = cache_key(teacher.fingerprint(), preprocessing, features_digest(features), bf16)
    path = cache_dir / f"{features.name}-{key}"
    if not (path / META).is_file():
        device_type = (device or torch.device("cpu")).type
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
            _compute(teacher, features, path, batch_size, shard_rows, device)
        meta = {
            "format": FORMAT,
            "task": features.name,
            "teacher": teacher.source,
            "preprocessing": preprocessing,
            "rows": len(features),
            "width": _width(features),
            "shard_rows": shard_rows,
            "teacher_precision": "bf16" if bf16 else "fp32",
        }
        _atomic_write(path / META, json.dumps(meta, indent=2))
    return SoftTargets(path, features)


def _width(features: TaskFeatures) -> int:
    return max(len(row) for row in features.rows)


def _compute(
    teacher: Teacher,
    features: TaskFeatures,
    path: Path,
    batch_size: int,
    shard_rows: int,
    device: torch.device | None,
) -> None:
    path.mkdir(parents=True, exist_ok=True)
    _atomic_write(path / IDS, json.dumps(features.ids))
    names, width = output_names(features), _width(features)
    teacher.model.to(device or torch.device("cpu"))
    progress = tqdm(total=len(features), desc=f"teacher {features.name}", unit="row")
    for shard in range(num_shards(len(features), shard_rows)):
        rows = range(shard * shard_rows, min(len(features), (shard + 1) * shard_rows))
        if all((path / shard_name(name, shard)).is_file() for name in names):
            progress.update(len(rows))
            continue
        arrays = _teacher_logits(teacher, features, rows, width, batch_size, device, progress)
        for name, array in zip(names, arrays):
            tmp = path / f"tmp-{shard_name(name, shard)}"
            np.save(tmp, array)
            tmp.rename(path / shard_name(name, shard))
    progress.close()


def _teacher_logits(
    teacher: Teacher,
    features: TaskFeatures,
    rows: range,
    width: int,
    batch_size: int,
    device: torch.device | None,
    progress: tqdm,
) -> list[np.ndarray]:
    """Logits of `rows`, run in length-sorted batches; span positions past a row's end stay 0."""
    span = features.kind is TaskKind.SPAN_EXTRACTION
    names = output_names(features)

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        batch = {k: torch.from_numpy(v).to(device or "cpu") for k, v in inputs.items()}
        progress.update(len(inputs["input_ids"]))
        return {n: v.cpu().numpy() for n, v in zip(names, teacher(batch).logits)}

    subset = [features.rows[i] for i in rows]
    token_outputs = names if span else ()
    outputs = run_batches(run, subset, length_sorted_batches(subset, batch_size), token_outputs)
    arrays = []
    for name in names:
        columns = width if span else len(outputs[0][name]) if outputs else 0
        array = np.zeros((len(rows), columns), np.float32)
        for k, out in enumerate(outputs):
            array[k, : len(out[name])] = out[name]
        arrays.append(array)
    return arrays


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f"tmp-{path.name}")
    tmp.write_text(text)
    tmp.rename(path)
