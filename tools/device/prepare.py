"""Stage a teacher-training run for the lent GPU machine (the workplace's `device` tool).

The device copies the checkout (tracked + untracked-not-ignored files + carried paths) and
refuses more than 64 MiB. road's committed weights alone are ~170 MB, and the MiniLM init is
88 MB in fp32, so this script:

- writes `.device/` (git-ignored, carried): MiniLM in fp16 (45 MB), the shared data files, and
  wheels of the pydantic packages the device image lacks;
- with `--detach`, takes `checkpoints/` and `road/default_bundle/` out of the git index and
  hides them, so they stay on disk here but do not travel; `--restore` puts them back.

    python tools/device/prepare.py --detach
    # device run: command `bash tools/device/train.sh CONFIG...`, carry [".device"]
    python tools/device/prepare.py --restore
    python tools/device/unpack.py FILES_AT --out checkpoints
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGE = ROOT / ".device"
EXCLUDE = ROOT / ".git" / "info" / "exclude"
DETACHED = ("checkpoints", "road/default_bundle")
LIMIT_BYTES = 64 * 2**20
# Packages training needs that the device image does not hold (its package list, KINDS.md).
WHEELS = ("pydantic", "pydantic-core", "annotated-types", "typing-inspection")
MINILM_FILES = (
    "config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
    "vocab.txt",
)  # fmt: skip


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def stage_minilm(dest: Path) -> None:
    """MiniLM with fp16 weights: `init: .device/minilm` loads it into fp32 parameters."""
    from safetensors.torch import load_file, save_file

    from road.training.init import minilm_dir

    source = minilm_dir()
    dest.mkdir(parents=True, exist_ok=True)
    for name in MINILM_FILES:
        shutil.copy2(source / name, dest / name)
    state = load_file(str(source / "model.safetensors"))
    save_file({key: value.half().contiguous() for key, value in state.items()},
              str(dest / "model.safetensors"))  # fmt: skip


def stage_data(data: Path, dest: Path) -> None:
    for path in sorted(data.glob("*/*.gz")) + [data / "README.md"]:
        target = dest / path.relative_to(data)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def installed_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def stage_wheels(dest: Path) -> None:
    """cp312 manylinux wheels, pinned to the versions installed here (the device runs 3.12)."""
    pins = [f"{name}=={installed_version(name)}" for name in WHEELS]
    platforms = [f"--platform={tag}" for tag in (
        "manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
    )]  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
         "--python-version=3.12", "--implementation=cp", *platforms, "-d", str(dest), *pins],
        check=True,
    )  # fmt: skip


def set_excluded(patterns: tuple[str, ...], present: bool) -> None:
    lines = EXCLUDE.read_text().splitlines() if EXCLUDE.exists() else []
    lines = [line for line in lines if line not in patterns]
    if present:
        lines += list(patterns)
    EXCLUDE.parent.mkdir(parents=True, exist_ok=True)
    EXCLUDE.write_text("".join(f"{line}\n" for line in lines))


def detach() -> None:
    set_excluded(tuple(f"/{path}/" for path in DETACHED), present=True)
    git("rm", "-r", "-q", "--cached", *DETACHED)


def restore() -> None:
    git("reset", "-q", "HEAD", "--", *DETACHED)
    set_excluded(tuple(f"/{path}/" for path in DETACHED), present=False)


def travelling_bytes() -> int:
    """What the device would copy: tracked files, untracked-not-ignored files and `.device`."""
    names = git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    files = [ROOT / name for name in names if name and (ROOT / name).is_file()]
    files += [path for path in STAGE.rglob("*") if path.is_file()]
    return sum(path.stat().st_size for path in files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--detach", action="store_true", help="untrack the committed weights")
    mode.add_argument("--restore", action="store_true", help="track them again")
    args = parser.parse_args()
    if args.restore:
        restore()
        return 0
    if not (STAGE / "minilm" / "model.safetensors").exists():
        stage_minilm(STAGE / "minilm")
    stage_data(args.data, STAGE / "data")
    if not list((STAGE / "whl").glob("*.whl")):
        stage_wheels(STAGE / "whl")
    if args.detach:
        detach()
    size = travelling_bytes()
    print(json.dumps({"travelling_mib": round(size / 2**20, 1), "limit_mib": 64,
                      "fits": size < LIMIT_BYTES, "detached": bool(args.detach)}))  # fmt: skip
    return 0 if size < LIMIT_BYTES or not args.detach else 1


if __name__ == "__main__":
    raise SystemExit(main())
