"""The distillation ablation on the lent GPU machine: stage here, pack there, unpack here.

    python tools/device/ablation.py stage [--teachers]  # .device/ as prepare.py, + the teachers
    # device run: command "bash tools/device/ablation.sh [RUN ...]", carry [".device"]
    python tools/device/ablation.py unpack FILES_AT      # runs/ablation/<run>/, summary merged

`pack OUT` runs on the device (ablation.sh calls it): every finished run's log, wall time and dev
metrics, and as many runs' fp16 weights as the device returns (base seeds first), in one tar of
16 MiB pieces. A 3-layer student's fp16 weights are ~34 MB, two thirds of them the frozen word
embeddings, which equal its init's: they are left out and put back from the init on unpacking,
where compact.json's sha256 checks the result. See docs/distillation.md#on-a-lent-gpu.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import json
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
WORD = "electra.embeddings.word_embeddings.weight"
WEIGHTS, STRIPPED = "model.safetensors", "model-stripped.safetensors"
PIECE = 16 * 2**20
# The device returns at most 64 MiB in 8 files: the pieces, SHA256SUMS, summary.json, the log.
RETURN_BYTES = 56 * 2**20
RESULT_FILES = ("log.jsonl", "wall_time.json", "final/dev_metrics.json", "final/train_config.yaml")


def prepare_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("prepare", Path(__file__).with_name("prepare.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stage_teachers(dest: Path) -> int:
    """Each teacher of bench/ablation/runs.py as an fp16 compact checkpoint; their bytes."""
    from bench.ablation.runs import teacher_tasks
    from road.training.compact import is_compact

    for source in teacher_tasks():
        target = dest / Path(source).name
        if target.exists():
            continue
        if is_compact(Path(source)):
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("logs"))
        else:
            to_fp16(Path(source), target)
    return sum(path.stat().st_size for path in dest.rglob("*") if path.is_file())


def to_fp16(source: Path, target: Path) -> None:
    """An fp16 compact copy of a full checkpoint; its step from the metrics or the config.

    Not `road compact`: checkpoints/default-student's dev metrics predate `train_steps`.
    """
    from road.training.compact import save_compact
    from road.training.config import load_config
    from road.training.init import load_tokenizer
    from road.training.model import RoadStudent

    config = load_config(source / "train_config.yaml")
    metrics_file = source / "dev_metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else None
    step = int((metrics or {}).get("train_steps", config.steps))
    model, tokenizer = RoadStudent.from_pretrained(source), load_tokenizer(str(source))
    save_compact(target, model, tokenizer, config, step, metrics, "fp16")


def stage(teachers: bool, data: Path) -> dict[str, object]:
    prepare = prepare_module()
    if not (prepare.STAGE / "minilm" / WEIGHTS).exists():
        prepare.stage_minilm(prepare.STAGE / "minilm")
    prepare.stage_data(data, prepare.STAGE / "data")
    if not list((prepare.STAGE / "whl").glob("*.whl")):
        prepare.stage_wheels(prepare.STAGE / "whl")
    teacher_bytes = stage_teachers(prepare.STAGE / "teachers") if teachers else 0
    if not teachers:
        shutil.rmtree(prepare.STAGE / "teachers", ignore_errors=True)
    size = travelling_after_detach(prepare)
    return {
        "travelling_mib": round(size / 2**20, 1),
        "teachers_mib": round(teacher_bytes / 2**20, 1),
        "limit_mib": 64,
        "fits": size < prepare.LIMIT_BYTES,
    }


def travelling_after_detach(prepare: ModuleType) -> int:
    """What the device would copy once `prepare.py --detach` untracked the committed weights."""
    listed = prepare.git("ls-files", "-z", "--cached", "--others", "--exclude-standard")
    names = [n for n in listed.split("\0") if n and not n.startswith(prepare.DETACHED)]
    files = [prepare.ROOT / n for n in names if (prepare.ROOT / n).is_file()]
    files += [path for path in prepare.STAGE.rglob("*") if path.is_file()]
    return sum(path.stat().st_size for path in files)


def init_word_embeddings(init: str):  # type: ignore[no-untyped-def]
    """The init's word embeddings as a frozen student holds them in fp16."""
    from road.training.init import load_student

    return load_student(init).electra.embeddings.word_embeddings.weight.detach().half()


def strip(compact: Path, init: str) -> bool:
    """Leave the word embeddings out of a compact checkpoint when they equal the init's."""
    import torch
    from safetensors.torch import load_file, save_file

    state = load_file(str(compact / WEIGHTS))
    if not torch.equal(state[WORD], init_word_embeddings(init)):
        return False
    save_file({k: v for k, v in state.items() if k != WORD}, str(compact / STRIPPED))
    (compact / WEIGHTS).unlink()
    return True


def restore(compact: Path, init: str) -> None:
    """Put a stripped checkpoint's word embeddings back; compact.json's sha256 checks them."""
    from safetensors.torch import load_file, save_file

    from road.training.compact import read_compact

    # The device's init (.device/minilm) is MiniLM in fp16: the package's copy rounds the same.
    source = init if Path(init).exists() else "minilm"
    state = {**load_file(str(compact / STRIPPED)), WORD: init_word_embeddings(source)}
    save_file(state, str(compact / WEIGHTS), metadata={"format": "pt"})
    (compact / STRIPPED).unlink()
    read_compact(compact)


def finished_runs(runs_dir: Path) -> list[Path]:
    """Run directories with final dev metrics, base seeds first (their weights matter most)."""
    done = [p for p in sorted(runs_dir.iterdir()) if (p / "final" / "dev_metrics.json").is_file()]
    return sorted(done, key=lambda p: "-s" in p.name)


def pack(out: Path, runs_dir: Path, summary: Path) -> list[str]:
    """Results of every finished run, weights while they fit; returns the runs with weights."""
    from road.training.compact import compact_checkpoint
    from road.training.config import load_config

    buffer, with_weights = io.BytesIO(), []
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(fileobj=buffer, mode="w") as tar:
        for run in finished_runs(runs_dir):
            for name in RESULT_FILES:
                if (run / name).is_file():
                    tar.add(run / name, f"{run.name}/{name}")
            compact = Path(tmp) / run.name
            compact_checkpoint(run / "final", compact, dtype="fp16")
            strip(compact, load_config(run / "final" / "train_config.yaml").init)
            size = sum(p.stat().st_size for p in compact.iterdir())
            if buffer.tell() + size <= RETURN_BYTES:
                tar.add(compact, f"{run.name}/compact")
                with_weights.append(run.name)
    blob = buffer.getvalue()
    for k in range(0, max(len(blob), 1), PIECE):
        (out / f"ablation.tar.part{k // PIECE:02d}").write_bytes(blob[k : k + PIECE])
    digest = hashlib.sha256(blob).hexdigest()
    (out / "SHA256SUMS").write_text(f"{digest}  ablation.tar\n")
    if summary.is_file():
        shutil.copy2(summary, out / "summary.json")
    return with_weights


def unpack(files_at: Path, runs_dir: Path) -> list[str]:
    """Verify and extract the device's results into runs_dir; merge its summary entries."""
    from bench.ablation import summary

    blob = b"".join(p.read_bytes() for p in sorted(files_at.glob("ablation.tar.part*")))
    digest = (files_at / "SHA256SUMS").read_text().split()[0]
    if hashlib.sha256(blob).hexdigest() != digest:
        raise ValueError("the pieces do not add up to the tar the device wrote")
    with tarfile.open(fileobj=io.BytesIO(blob)) as archive:
        archive.extractall(runs_dir, filter="data")
        names = sorted({Path(member).parts[0] for member in archive.getnames()})
    from road.training.config import load_config

    for name in names:
        compact = runs_dir / name / "compact"
        if (compact / STRIPPED).is_file():
            restore(compact, load_config(compact / "train_config.yaml").init)
    if (files_at / "summary.json").is_file():
        for entry in json.loads((files_at / "summary.json").read_text()):
            summary.upsert(entry, summary.SUMMARY)
    return names


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    staging = sub.add_parser("stage", help="write .device/ for the GPU ablation")
    staging.add_argument("--teachers", action="store_true", help="stage the teachers too")
    staging.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    packing = sub.add_parser("pack", help="on the device: results and weights into OUT")
    packing.add_argument("out", type=Path)
    unpacking = sub.add_parser("unpack", help="here: what the device returned")
    unpacking.add_argument("files_at", type=Path)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))  # bench/ is not installed: run from the checkout
    if args.verb == "stage":
        print(json.dumps(stage(args.teachers, args.data)))
    elif args.verb == "pack":
        done = pack(args.out, Path("runs/ablation"), Path("bench/results/ablation/summary.json"))
        print(json.dumps({"weights": done}))
    else:
        from bench.ablation import report, summary

        print("\n".join(unpack(args.files_at, Path("runs/ablation"))))
        entries = summary.load(summary.SUMMARY)
        report.replot(entries)
        report.write_doc(entries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
