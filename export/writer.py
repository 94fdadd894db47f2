"""Bundle assembly: task info, the staged files and the atomic publish."""

from __future__ import annotations

import math
import shutil
from collections.abc import Mapping
from pathlib import Path

import onnx

from road.core.bundle import ClassificationTaskInfo, Manifest, SpanTaskInfo, Tasks
from road.core.tasks import TaskKind
from road.core.tokenizer import TOKENIZER_FILE
from road.export.errors import ExportError
from road.training.config import TrainConfig

GRAPH_FILE: str = Manifest.model_fields["graph"].default
GRAPH_DATA_FILE = f"{GRAPH_FILE}.data"
# The server only reads tokenizer.json; the others let `transformers` load the bundle too.
TOKENIZER_FILES = (TOKENIZER_FILE, "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


def task_info(
    config: TrainConfig,
    null_thresholds: Mapping[str, float | None],
    temperatures: Mapping[str, float] | None = None,
) -> Tasks:
    """The manifest's tasks: the trained ones, with the training-time encoder settings.

    `null_thresholds` holds each span-extraction task's threshold tuned on dev at export, and
    `temperatures` each classification task's temperature fitted there (1 when absent).
    """
    entries: dict[str, SpanTaskInfo | ClassificationTaskInfo] = {}
    for task in config.task_defs:
        if TaskKind(task.kind) is TaskKind.CLASSIFICATION:
            entries[task.name] = ClassificationTaskInfo(
                outputs=task.outputs, labels=task.labels, fields=task.fields,
                max_seq_len=task.max_seq_len,
                temperature=(temperatures or {}).get(task.name, 1.0),
            )  # fmt: skip
            continue
        threshold = null_thresholds.get(task.name)
        # JSON has no infinities: the manifest would not load again.
        if threshold is None or not math.isfinite(threshold):
            raise ExportError(f"{task.name} needs a finite tuned null threshold, got {threshold}")
        entries[task.name] = SpanTaskInfo(
            outputs=task.outputs, fields=task.fields, max_seq_len=task.max_seq_len,
            doc_stride=task.doc_stride, max_question_tokens=task.max_question_tokens,
            max_answer_len=task.max_answer_len, null_threshold=threshold,
        )  # fmt: skip
    return Tasks(entries)


def stage_files(stage: Path, graph: Path, checkpoint_dir: Path, large: bool = False) -> None:
    """Lay out the bundle's files (all but the manifest) in a fresh `stage` directory.

    A `large` graph keeps its weights in one external data file, `model.onnx.data`, which the
    manifest hashes like any other file and ONNX Runtime loads from beside the graph.
    """
    stage.mkdir()
    if large:
        model = onnx.load(str(graph))  # pulls in whatever external data the scratch graph has
        onnx.save(
            model,
            str(stage / GRAPH_FILE),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=GRAPH_DATA_FILE,
        )
    else:
        shutil.copyfile(graph, stage / GRAPH_FILE)
    for name in TOKENIZER_FILES:
        if (checkpoint_dir / name).is_file():
            shutil.copyfile(checkpoint_dir / name, stage / name)


def publish(stage: Path, out: Path, scratch: Path) -> None:
    """Move the finished `stage` to `out`, moving an old bundle there into `scratch`."""
    # Renames within one file system: a reader sees the old bundle or the new one, never a mix.
    previous = scratch / "previous"
    if out.exists() or out.is_symlink():
        out.rename(previous)
    try:
        stage.rename(out)
    except OSError:
        if previous.exists():
            previous.rename(out)
        raise
