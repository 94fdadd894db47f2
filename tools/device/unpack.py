"""Reassemble what tools/device/train.sh returned into compact checkpoints, verified.

    python tools/device/unpack.py FILES_AT --out checkpoints
gives checkpoints/NAME/ (NAME = the config's file name) for every NAME.tar.partNN group.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import shutil
import sys
import tarfile
from pathlib import Path

SUFFIX = "-compact"


def expected_digests(folder: Path) -> dict[str, str]:
    """NAME -> sha256 of NAME.tar, from the SHA256SUMS that train.sh wrote."""
    digests = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, _, path = line.partition("  ")
        digests[Path(path).name.removesuffix(".tar")] = digest
    return digests


def assemble(folder: Path, name: str) -> bytes:
    parts = sorted(folder.glob(f"{name}.tar.part*"))
    if not parts:
        raise FileNotFoundError(f"no {name}.tar.part* in {folder}")
    return b"".join(part.read_bytes() for part in parts)


def unpack(folder: Path, out: Path) -> list[Path]:
    """Verify each tar's sha256, extract it to out/NAME, and check the compact fingerprint."""
    from road.training.compact import read_compact

    written = []
    for name, digest in expected_digests(folder).items():
        blob = assemble(folder, name)
        if hashlib.sha256(blob).hexdigest() != digest:
            raise ValueError(f"{name}: pieces do not add up to the tar the device wrote")
        dest = out / name
        if dest.exists():
            shutil.rmtree(dest)
        with tarfile.open(fileobj=io.BytesIO(blob)) as archive:
            archive.extractall(out, filter="data")
        (out / f"{name}{SUFFIX}").rename(dest)
        read_compact(dest)
        written.append(dest)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files_at", type=Path)
    parser.add_argument("--out", type=Path, default=Path("checkpoints"))
    args = parser.parse_args()
    for path in unpack(args.files_at, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
