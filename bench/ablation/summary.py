"""bench/results/ablation/summary.json: one entry per finished run and per teacher, kept sorted.

The file is committed and rewritten after every finished run, so results from several sessions
(and machines: each entry says which) add up; `runs/` holds only this machine's checkpoints.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from bench.ablation.runs import RUNS, SHAPES, parse_name
from road.core.tasks import NLI, QA

SUMMARY = Path("bench/results/ablation/summary.json")
# The fields issue 17 asks for; entries carry more (the machine, the command, per-class recall).
REQUIRED = (
    "name", "layers", "method", "kd", "seed", "qa_f1", "qa_em", "noans_acc", "nli_acc", "steps",
    "wall_s",
)  # fmt: skip


def scores(metrics: dict[str, Any]) -> dict[str, Any]:
    """The summary's numbers from `dev_metrics.json`; a task not scored gives None."""
    qa, nli = metrics.get(QA.name, {}), metrics.get(NLI.name, {})
    return {
        "qa_f1": qa.get("HasAns_f1"),
        "qa_em": qa.get("HasAns_exact"),
        "noans_acc": qa.get("NoAns_exact"),
        "noans_same_article_acc": qa.get("NoAns_same_article_acc"),
        "noans_cross_article_acc": qa.get("NoAns_cross_article_acc"),
        "qa_total_f1": qa.get("f1"),
        "nli_acc": nli.get("accuracy"),
        "nli_recall": nli.get("per_class_recall"),
    }


def machine() -> dict[str, Any]:
    """bench/host.py's machine record, plus torch and the GPU; a bare one where ORT is absent."""
    try:
        from bench.host import machine as host_machine

        info = host_machine()
    except ImportError:  # the GPU image may lack onnxruntime, which host.machine() reports
        info = {"cores": os.cpu_count(), "python": platform.python_version()}
    import torch

    info["torch"] = torch.__version__
    info["torch_threads"] = torch.get_num_threads()
    info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    info["host"] = platform.node()
    return info


def weights_sha256(checkpoint: Path) -> str:
    digest = hashlib.sha256()
    with (checkpoint / "model.safetensors").open("rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def load(path: Path = SUMMARY) -> list[dict[str, Any]]:
    return json.loads(path.read_text()) if path.is_file() else []


def order(entry: dict[str, Any]) -> tuple[int, int, int, str]:
    """Teachers first, then the runs in their numbering, base seed before second seeds."""
    if "teacher" in entry["name"]:
        return (0, 0, 0, entry["name"])
    try:
        run, seed = parse_name(entry["name"])
    except KeyError:
        return (2, 0, 0, entry["name"])
    return (1, (*RUNS, *SHAPES).index(run), seed, entry["name"])


def upsert(entry: dict[str, Any], path: Path = SUMMARY) -> list[dict[str, Any]]:
    """Replace the entry of the same name (or add it) and write the file at once."""
    missing = [key for key in REQUIRED if key not in entry]
    if missing:
        raise ValueError(f"summary entry {entry.get('name')!r} lacks {missing}")
    entries = [e for e in load(path) if e["name"] != entry["name"]] + [entry]
    entries.sort(key=order)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(entries, indent=2) + "\n")
    tmp.replace(path)
    return entries


def keep_only_teachers(names: set[str], path: Path = SUMMARY) -> None:
    """Drop the entries of teachers no longer named (a stage replaced by its final)."""
    entries = load(path)
    kept = [e for e in entries if "teacher" not in e["name"] or e["name"] in names]
    if len(kept) != len(entries):
        path.write_text(json.dumps(kept, indent=2) + "\n")


def stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
