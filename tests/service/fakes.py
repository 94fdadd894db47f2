"""Test doubles for the service: fake sessions that record every batch, and a fake runtime."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from road.core.bundle import Tasks, load_manifest
from road.core.classification import TextEncoder
from road.core.qa import QAEncoder
from road.runtime.heads import Head, load_heads
from road.runtime.settings import default_bundle


class RecordingSession:
    """Stands in for `Runtime.run`: echoes each row's ids as logits and records batch shapes.

    start/end logits are the input ids (as float), nli logits are [row sum, 0, 0], so a test can
    tell from an output which row it came from. It also records the rows' first ids per batch
    and the most runs that ever overlapped.
    """

    def __init__(self, delay_s: float = 0.0, fail_on_call: int | None = None) -> None:
        self.batches: list[tuple[int, int]] = []
        self.first_ids: list[list[int]] = []
        self.delay_s = delay_s
        self.fail_on_call = fail_on_call
        self.max_overlap = 0
        self._running = 0
        self._lock = threading.Lock()

    def __call__(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with self._lock:
            self.batches.append(inputs["input_ids"].shape)
            self.first_ids.append([int(i) for i in inputs["input_ids"][:, 0]])
            call = len(self.batches)
            self._running += 1
            self.max_overlap = max(self.max_overlap, self._running)
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            if self.fail_on_call == call:
                raise RuntimeError("injected inference failure")
            return self.outputs(inputs)
        finally:
            with self._lock:
                self._running -= 1

    def outputs(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ids = inputs["input_ids"].astype(np.float32)
        sums = (ids * inputs["attention_mask"]).sum(axis=1)
        nli = np.stack([sums, np.zeros_like(sums), np.zeros_like(sums)], axis=1)
        return {"start_logits": ids, "end_logits": -ids, "nli_logits": nli}

    @property
    def rows_run(self) -> int:
        return sum(shape[0] for shape in self.batches)


class KeywordSession(RecordingSession):
    """A 'model' that answers QA with the token `keyword` and NLI by the pair's length parity.

    Span logits peak at every occurrence of the keyword's id, so the decoded answer is the
    keyword wherever it is; NLI says entailment for even real lengths, contradiction for odd.
    """

    def __init__(self, keyword_id: int, **kwargs: float) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.keyword_id = keyword_id

    def outputs(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        hit = (inputs["input_ids"] == self.keyword_id).astype(np.float32)
        logits = 10.0 * hit - 5.0
        lengths = inputs["attention_mask"].sum(axis=1)
        even = (lengths % 2 == 0).astype(np.float32)
        nli = np.stack([5 * even, np.zeros_like(even), 5 * (1 - even)], axis=1)
        return {"start_logits": logits, "end_logits": logits.copy(), "nli_logits": nli}


@dataclass
class FakeRuntime:
    """The real default bundle's tokenizer and task heads, with a fake session."""

    heads: dict[str, Head]
    session: RecordingSession

    @classmethod
    def create(cls, session: RecordingSession, max_seq_len: int | None = None) -> FakeRuntime:
        bundle = default_bundle()
        manifest = load_manifest(bundle, verify=False)
        qa = manifest.tasks.qa
        assert qa is not None and manifest.tasks.nli is not None
        if max_seq_len is not None:
            qa = qa.model_copy(update={"max_seq_len": max_seq_len, "doc_stride": max_seq_len // 4})
            tasks = Tasks({**manifest.tasks.root, "qa": qa})
            manifest = manifest.model_copy(update={"tasks": tasks})
        return cls(load_heads(bundle, manifest), session)

    @property
    def qa_encoder(self) -> QAEncoder:
        return self.heads["qa"].encoder  # type: ignore[attr-defined, no-any-return]

    @property
    def nli_encoder(self) -> TextEncoder:
        return self.heads["nli"].encoder  # type: ignore[attr-defined, no-any-return]

    def run(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self.session(inputs)


class EvidenceSession(RecordingSession):
    """NLI 'model' for long pairs: a row holding `keyword_id` entails, any other is neutral."""

    def __init__(self, keyword_id: int, **kwargs: float) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.keyword_id = keyword_id

    def outputs(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = super().outputs(inputs)
        hit = (inputs["input_ids"] == self.keyword_id).any(axis=1).astype(np.float32)
        out["nli_logits"] = np.stack([4 * hit, 2 * (1 - hit) + 1, np.zeros_like(hit)], axis=1)
        return out
