"""The GPU path of the ablation (tools/device/ablation.sh + ablation.py) end to end on CPU:
tiny runs through the same runner, results and stripped weights packed, unpacked, verified."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from bench.ablation import runs
from bench.ablation.report import BEGIN, END
from road.training.compact import read_compact
from road.training.model import RoadStudent

ROOT = Path(__file__).resolve().parents[3]
LINKED = ("road", "core", "training", "export", "runtime", "service", "score", "tools")


def load_ablation_tool() -> ModuleType:
    path = ROOT / "tools" / "device" / "ablation.py"
    spec = importlib.util.spec_from_file_location("device_ablation", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def checkout(root: Path, tiny_checkpoint: Path) -> Path:
    """A copied checkout as the device sees it: code linked, results and docs its own, the
    teachers staged under .device/teachers."""
    root.mkdir()
    for part in LINKED:
        (root / part).symlink_to(ROOT / part)
    (root / "bench" / "results").mkdir(parents=True)
    for name in ("__init__.py", "host.py", "ablation"):
        (root / "bench" / name).symlink_to(ROOT / "bench" / name)
    (root / "docs").mkdir()
    (root / "docs" / "distillation.md").write_text(f"# D\n\n{BEGIN}\n{END}\n")
    for source in runs.teacher_tasks():
        shutil.copytree(tiny_checkpoint, root / ".device" / "teachers" / Path(source).name)
    return root


@pytest.mark.slow
def test_ablation_sh_returns_results_and_weights_that_unpack_and_verify(
    tmp_path: Path,
    tiny_checkpoint: Path,
    tiny_data: dict[str, Path],
    tiny_init: Path,
    train_overrides: Callable[..., list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    device, out = checkout(tmp_path / "device", tiny_checkpoint), tmp_path / "out"
    out.mkdir()
    tiny = [o for o in train_overrides(tiny_data, tiny_init, "x") if "output_dir" not in o]
    tiny += [
        "steps=4",
        "save_every=2",
        "layers=[0,1]",
        "eval_every=0",
        "distill.cache_batch_size=4",
    ]
    env = {
        **os.environ, "OUT": str(out), "ROAD_DEVICE_WORK": str(tmp_path / "work"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "OMP_NUM_THREADS": "1",
        "ABLATION_SET": " ".join(tiny),
    }  # fmt: skip
    command = ["bash", "tools/device/ablation.sh", "2-kd-average", "1-multitask"]
    done = subprocess.run(command, cwd=device, env=env, capture_output=True, text=True,
                          timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    log = (out / "ablation.log").read_text()
    assert "failed" not in log, log[-3000:]
    returned = sorted(p.name for p in out.iterdir())
    assert len(returned) <= 8 and all((out / n).stat().st_size <= 16 * 2**20 for n in returned)
    assert {"SHA256SUMS", "summary.json", "ablation.log"} <= set(returned)
    names = {e["name"] for e in json.loads((out / "summary.json").read_text())}
    assert {"1-multitask", "2-kd-average"} <= names and any("teacher" in n for n in names)

    here = tmp_path / "here"
    (here / "docs").mkdir(parents=True)
    (here / "docs" / "distillation.md").write_text(f"# D\n\n{BEGIN}\n{END}\n")
    monkeypatch.chdir(here)
    tool = load_ablation_tool()
    unpacked = tool.unpack(out, Path("runs/ablation"))
    assert unpacked == ["1-multitask", "2-kd-average"]
    for name in unpacked:
        run = here / "runs" / "ablation" / name
        assert (run / "final" / "dev_metrics.json").is_file() and (run / "log.jsonl").is_file()
        assert read_compact(run / "compact")["dtype"] == "fp16"  # word embeddings put back
        assert not (run / "compact" / tool.STRIPPED).exists()
        RoadStudent.from_pretrained(run / "compact")
    merged = json.loads((here / "bench/results/ablation/summary.json").read_text())
    assert {e["name"] for e in merged} == names


@pytest.mark.slow
def test_pack_leaves_out_weights_beyond_what_the_device_returns(
    tmp_path: Path,
    tiny_data: dict[str, Path],
    tiny_init: Path,
    train_overrides: Callable[..., list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from road.training.config import load_config
    from road.training.loop import train

    runs_dir = tmp_path / "runs"
    for name in ("1-multitask", "1-multitask-s29"):
        overrides = train_overrides(tiny_data, tiny_init, runs_dir / name, steps=2)
        train(load_config(None, [*overrides, "freeze_word_embeddings=true"]))
    tool = load_ablation_tool()
    monkeypatch.setattr(tool, "RETURN_BYTES", 1)
    out = tmp_path / "out"
    out.mkdir()
    assert tool.pack(out, runs_dir, tmp_path / "absent.json") == []
    monkeypatch.setattr(tool, "RETURN_BYTES", 56 * 2**20)
    assert tool.pack(out, runs_dir, tmp_path / "absent.json") == ["1-multitask", "1-multitask-s29"]
    monkeypatch.chdir(tmp_path)
    assert tool.unpack(out, tmp_path / "back") == ["1-multitask", "1-multitask-s29"]
    assert read_compact(tmp_path / "back" / "1-multitask-s29" / "compact")["step"] == 2
