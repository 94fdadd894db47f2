"""Test doubles for the service: a fake session that records every batch it runs."""

from __future__ import annotations

import threading
import time

import numpy as np


class RecordingSession:
    """Stands in for `Runtime.run`: echoes each row's ids as logits and records batch shapes.

    start/end logits are the input ids (as float), nli logits are [row sum, 0, 0], so a test can
    tell from an output which row it came from.
    """

    def __init__(self, delay_s: float = 0.0, fail_on_call: int | None = None) -> None:
        self.batches: list[tuple[int, int]] = []
        self.delay_s = delay_s
        self.fail_on_call = fail_on_call
        self._lock = threading.Lock()

    def __call__(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with self._lock:
            self.batches.append(inputs["input_ids"].shape)
            call = len(self.batches)
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail_on_call == call:
            raise RuntimeError("injected inference failure")
        ids = inputs["input_ids"].astype(np.float32)
        sums = (ids * inputs["attention_mask"]).sum(axis=1)
        nli = np.stack([sums, np.zeros_like(sums), np.zeros_like(sums)], axis=1)
        return {"start_logits": ids, "end_logits": -ids, "nli_logits": nli}
