"""The GPU staging scripts (tools/device): train.sh end to end on CPU, unpack, detach/restore."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from road.training.compact import read_compact
from road.training.model import RoadStudent

ROOT = Path(__file__).resolve().parents[2]
CODE = ("road", "core", "training", "export", "runtime", "service", "score", "tools")


def load_tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / "device" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nested(overrides: list[str]) -> dict:
    config: dict = {}
    for item in overrides:
        key, _, value = item.partition("=")
        *parents, leaf = key.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    return config


@pytest.mark.slow
def test_train_sh_returns_pieces_that_unpack_to_a_verified_checkpoint(
    tmp_path: Path,
    tiny_data: dict[str, Path],
    tiny_init: Path,
    train_overrides: Callable[..., list[str]],
) -> None:
    repo, out = tmp_path / "repo", tmp_path / "out"
    repo.mkdir()
    out.mkdir()
    for part in CODE:
        (repo / part).symlink_to(ROOT / part)
    config = nested(train_overrides(tiny_data, tiny_init, tmp_path / "unused"))
    (repo / "tiny-teacher.yaml").write_text(yaml.safe_dump(config))
    env = {
        **os.environ,
        "OUT": str(out),
        "ROAD_DEVICE_WORK": str(tmp_path / "work"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "OMP_NUM_THREADS": "1",
    }
    result = subprocess.run(["bash", "tools/device/train.sh", "tiny-teacher.yaml"], cwd=repo,
                            env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    pieces = sorted(out.glob("tiny-teacher.tar.part*"))
    assert pieces and all(piece.stat().st_size <= 16 * 2**20 for piece in pieces)
    assert len(list(out.iterdir())) <= 8

    written = load_tool("unpack").unpack(out, tmp_path / "checkpoints")
    assert written == [tmp_path / "checkpoints" / "tiny-teacher"]
    record = read_compact(written[0])
    assert record["dtype"] == "fp16" and record["step"] == config["steps"]
    assert (written[0] / "dev_metrics.json").is_file() and (written[0] / "log.jsonl").is_file()
    RoadStudent.from_pretrained(written[0])


def test_unpack_refuses_pieces_that_do_not_add_up(tmp_path: Path) -> None:
    unpack = load_tool("unpack")
    (tmp_path / "t.tar.part00").write_bytes(b"abc")
    (tmp_path / "t.tar.part01").write_bytes(b"def")
    (tmp_path / "SHA256SUMS").write_text(f"{'0' * 64}  t.tar\n")
    with pytest.raises(ValueError, match="do not add up"):
        unpack.unpack(tmp_path, tmp_path / "out")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout  # fmt: skip


def test_detach_hides_committed_weights_from_what_travels_and_restore_undoes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    (repo / "checkpoints" / "t").mkdir(parents=True)
    (repo / "road" / "default_bundle").mkdir(parents=True)
    (repo / "checkpoints" / "t" / "model.safetensors").write_bytes(b"w" * 50_000)
    (repo / "road" / "default_bundle" / "model.onnx").write_bytes(b"g" * 30_000)
    (repo / "code.py").write_text("x = 1\n")
    git(repo.parent, "init", "-q", str(repo))
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    prepare = load_tool("prepare")
    monkeypatch.setattr(prepare, "ROOT", repo)
    monkeypatch.setattr(prepare, "STAGE", repo / ".device")
    monkeypatch.setattr(prepare, "EXCLUDE", repo / ".git" / "info" / "exclude")

    before = prepare.travelling_bytes()
    prepare.detach()
    assert prepare.travelling_bytes() == before - 80_000
    assert (repo / "checkpoints" / "t" / "model.safetensors").is_file()
    prepare.restore()
    assert prepare.travelling_bytes() == before
    assert git(repo, "status", "--porcelain") == ""
