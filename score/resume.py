"""The job manifest: what a job is (its fingerprint) and which input ranges are done.

`_manifest.json` is rewritten atomically after each shard lands, so after a kill at any point it
names only chunks whose shards are complete. A chunk done but not yet recorded is simply scored
again and its shard replaced with the same rows, so no row is lost or written twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from road.score.config import JobError
from road.score.shards import ERRORS_DIR, ERRORS_FILE, atomic_write, result_files

MANIFEST = "_manifest.json"
LOCK = ".lock"
VERSION = 1


def fingerprint(bundle: Path, inputs: list[Path], options: dict[str, Any]) -> dict[str, Any]:
    """The bundle's manifest hash (it hashes every bundle file), the inputs' stat, the options."""
    bundle_hash = hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest()
    files = [
        {"path": str(p), "size": p.stat().st_size, "mtime_ns": p.stat().st_mtime_ns} for p in inputs
    ]
    return {"bundle": bundle_hash, "inputs": files, "options": options}


@dataclass(frozen=True)
class ChunkDone:
    chunk: int
    rows: tuple[int, int]
    scored: int
    bad: int


@dataclass
class JobLog:
    """The manifest of one output directory, held under an exclusive lock while the job runs."""

    out_dir: Path
    fingerprint: dict[str, Any]
    chunks: dict[int, ChunkDone] = field(default_factory=dict)
    rows_total: int | None = None
    complete: bool = False
    _lock: IO[str] | None = None

    @classmethod
    def open(cls, out_dir: Path, print_: dict[str, Any], overwrite: bool) -> JobLog:
        """Resume the job recorded in `out_dir`, or start one; refuse a different job's output."""
        out_dir.mkdir(parents=True, exist_ok=True)
        lock = _lock(out_dir)
        for tmp in [*out_dir.glob(".*.tmp"), *out_dir.glob(f"{ERRORS_DIR}/.*.tmp")]:
            tmp.unlink()
        manifest = out_dir / MANIFEST
        try:
            if manifest.exists() and not overwrite:
                log = cls._load(out_dir, manifest)
                if log.fingerprint != print_:
                    raise JobError(_mismatch(out_dir, log.fingerprint, print_))
            else:
                _clear(out_dir, overwrite)
                log = cls(out_dir, print_)
            log.save()
        except BaseException:
            lock.close()
            raise
        log._lock = lock
        return log

    @classmethod
    def _load(cls, out_dir: Path, manifest: Path) -> JobLog:
        data = json.loads(manifest.read_text())
        if data.get("version") != VERSION:
            raise JobError(f"{manifest}: written by another version of road score")
        chunks = {
            c["chunk"]: ChunkDone(c["chunk"], tuple(c["rows"]), c["scored"], c["bad"])
            for c in data["chunks"]
        }
        return cls(out_dir, data["fingerprint"], chunks, data["rows_total"], data["complete"])

    def save(self) -> None:
        body = {
            "version": VERSION,
            "complete": self.complete,
            "rows_total": self.rows_total,
            "fingerprint": self.fingerprint,
            "chunks": [asdict(self.chunks[k]) for k in sorted(self.chunks)],
        }
        text = json.dumps(body, indent=1)
        atomic_write(self.out_dir / MANIFEST, lambda tmp: tmp.write_text(text))

    def restart(self) -> None:
        """Forget every shard and delete it: for runs that cannot resume part-way (Ray)."""
        _clear(self.out_dir, overwrite=True)
        self.chunks, self.complete = {}, False
        self.save()

    def record(self, done: ChunkDone) -> None:
        self.chunks[done.chunk] = done
        self.save()

    def finish(self) -> None:
        self.complete = True
        self.save()

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    @property
    def rows_done(self) -> int:
        return sum(c.rows[1] - c.rows[0] for c in self.chunks.values())

    @property
    def scored(self) -> int:
        return sum(c.scored for c in self.chunks.values())

    @property
    def bad(self) -> int:
        return sum(c.bad for c in self.chunks.values())


def _lock(out_dir: Path) -> IO[str]:
    """An exclusive lock on the directory; the kernel drops it when the holder dies."""
    handle = (out_dir / LOCK).open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise JobError(f"{out_dir}: another road score job is writing there") from exc
    return handle


def _clear(out_dir: Path, overwrite: bool) -> None:
    """Remove an earlier job's files (with --overwrite); refuse a directory holding others."""
    ours = [*result_files(out_dir), out_dir / ERRORS_FILE, out_dir / MANIFEST]
    others = [p for p in out_dir.iterdir() if p not in ours and p.name not in (LOCK, ERRORS_DIR)]
    if others:
        raise JobError(f"{out_dir}: holds files road score did not write ({others[0].name}, ...)")
    if (ours and any(p.exists() for p in ours)) and not overwrite:
        raise JobError(f"{out_dir}: holds another job's output; pass --overwrite to replace it")
    for path in ours:
        path.unlink(missing_ok=True)
    shutil.rmtree(out_dir / ERRORS_DIR, ignore_errors=True)


def _mismatch(out_dir: Path, old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = [k for k in ("bundle", "inputs") if old.get(k) != new.get(k)]
    old_options, new_options = old.get("options", {}), new.get("options", {})
    keys += [k for k in new_options if old_options.get(k) != new_options.get(k)]
    return (
        f"{out_dir} holds a job with a different {', '.join(keys) or 'setup'}; rerun the same "
        "command to resume it, pass --overwrite to start over, or choose another --output"
    )
