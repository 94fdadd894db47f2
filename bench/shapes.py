"""What one token costs the bundle's session at each batch shape (rows × padded length).

Explains the batching results in docs/performance.md: on a CPU whose caches are small next to
a batch's activations, a token in a big batch can cost more than a token run alone.

    taskset -c 0 python -m bench.shapes --bundle road/default_bundle --out bench/results/shapes.json
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from bench.ideal_ort import open_session

SHAPES = ((1, 64), (1, 128), (1, 256), (4, 64), (4, 128), (8, 128), (32, 128), (8, 256), (32, 256))


def cost(bundle: Path, threads: int, tokens_per_shape: int = 8192) -> list[dict[str, Any]]:
    """CPU and wall microseconds per token for each shape, over ~`tokens_per_shape` tokens."""
    session = open_session(bundle, threads)
    rng = np.random.default_rng(0)
    results = []
    for rows, length in SHAPES:
        inputs = {
            "input_ids": rng.integers(1000, 2000, (rows, length)).astype(np.int64),
            "attention_mask": np.ones((rows, length), np.int64),
            "token_type_ids": np.zeros((rows, length), np.int64),
        }
        session.run(None, inputs)
        runs = max(1, tokens_per_shape // (rows * length))
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(runs):
            session.run(None, inputs)
        tokens = runs * rows * length
        results.append(
            {
                "rows": rows,
                "length": length,
                "cpu_us_per_token": (time.process_time() - cpu) * 1e6 / tokens,
                "wall_us_per_token": (time.perf_counter() - wall) * 1e6 / tokens,
            }
        )
    return results


def main(
    bundle: Annotated[Path, typer.Option(help="Bundle directory")],
    threads: Annotated[int, typer.Option(help="ORT intra-op threads")] = 1,
    out: Annotated[Path | None, typer.Option(help="Write JSON here")] = None,
) -> None:
    """Print µs per token by batch shape."""
    results = cost(bundle, threads)
    for r in results:
        typer.echo(
            f"{r['rows']:>3} × {r['length']:>3}: {r['cpu_us_per_token']:7.1f} µs CPU/token  "
            f"{r['wall_us_per_token']:7.1f} µs wall/token"
        )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"bundle": str(bundle), "threads": threads, "shapes": results}))


if __name__ == "__main__":
    typer.run(main)
