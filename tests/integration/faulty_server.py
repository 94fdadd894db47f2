"""Test-only entry point: `road serve` with a session wrapper that injects faults and records runs.

    python -m tests.integration.faulty_server [road serve args]

It uses the documented hook `road.service.main.serve(settings, wrap_run=...)`; nothing of it
ships in the package. The wrapper is configured by environment variables:

- ROAD_TEST_FAIL_TOKEN: a token id; a batch holding it raises instead of running.
- ROAD_TEST_DELAY_S: seconds each run sleeps first (a slow model).
- ROAD_TEST_RECORD: a file that gets one JSON line per run: the fingerprints of its rows and
  whether it failed.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

from road.service.batcher import RunBatch
from road.service.main import main


def fingerprint(input_ids: np.ndarray) -> str:
    """Identifies one unpadded row; tests compute the same from their own tokenization."""
    return hashlib.sha1(np.ascontiguousarray(input_ids, dtype=np.int64).tobytes()).hexdigest()


def faulty(run: RunBatch) -> RunBatch:
    fail_token = int(os.environ.get("ROAD_TEST_FAIL_TOKEN", "-1"))
    delay_s = float(os.environ.get("ROAD_TEST_DELAY_S", "0"))
    record = os.environ.get("ROAD_TEST_RECORD")
    lock = threading.Lock()

    def wrapped(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        lengths = inputs["attention_mask"].sum(axis=1)
        rows = [fingerprint(ids[:n]) for ids, n in zip(inputs["input_ids"], lengths)]
        failed = bool((inputs["input_ids"] == fail_token).any())
        if record:
            with lock, Path(record).open("a") as handle:
                handle.write(json.dumps({"rows": rows, "failed": failed}) + "\n")
        if delay_s:
            time.sleep(delay_s)
        if failed:
            raise RuntimeError("injected inference failure")
        return run(inputs)

    return wrapped


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], wrap_run=faulty))
