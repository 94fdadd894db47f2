"""Road's own cost: `road serve` with the encoder replaced by zero outputs of the right shapes.

Everything else is the real server: HTTP, validation, tokenization, the batcher's queue and
packing, padding, span decoding, metrics and logs. Loaded to saturation on one core, its
requests per CPU-second give what road spends per request outside the model: the part of (a)'s
gap that neither the model nor padding explains. It uses the documented test hook
`road.service.main.serve(settings, wrap_run=...)`; nothing of it ships in the package.

    taskset -c 0 python -m bench.null_model road/default_bundle --port 8312
"""

from __future__ import annotations

import sys

import numpy as np

from road.core.bundle import load_manifest
from road.service.batcher import RunBatch
from road.service.main import serve
from road.service.settings import settings_from_cli


def zero_outputs(labels: int) -> RunBatch:
    """A run that returns zero logits for every head, shaped as the bundle's graph would."""

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rows, width = inputs["input_ids"].shape
        return {
            "start_logits": np.zeros((rows, width), np.float32),
            "end_logits": np.zeros((rows, width), np.float32),
            "nli_logits": np.zeros((rows, labels), np.float32),
        }

    return run


def main(argv: list[str]) -> None:
    settings = settings_from_cli(argv)
    nli = load_manifest(settings.bundle, verify=False).tasks.nli
    labels = len(nli.labels) if nli is not None else 0
    serve(settings, wrap_run=lambda _real: zero_outputs(labels))


if __name__ == "__main__":
    main(sys.argv[1:])
