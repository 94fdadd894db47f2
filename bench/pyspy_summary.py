"""Where road's own CPU goes: shares of a `py-spy record -f raw` profile by part of the server.

A sample counts for the first category whose frame it contains, in the order of CATEGORIES,
so a frame named earlier claims the sample (tokenization inside a worker thread counts as
tokenization, not as the worker). Profile the null-model server at road's rate:

    taskset -c 0 python -m bench.null_model road/default_bundle --port 8313 &
    python -m bench.loadgen --url http://127.0.0.1:8313 --mode open --levels 55 --duration 30 &
    py-spy record -p PID -d 20 -r 250 -f raw --nonblocking --threads -o prof.txt
    python -m bench.pyspy_summary prof.txt
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

# (label, frame name prefixes), matched against each frame's "function (file:line)" text.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Frame names of today's heads, and of the engine before tasks were data (older profiles).
    ("tokenization", ("QAEncoder.encode", "TextEncoder.encode", "NLIEncoder.encode")),
    (
        "span decoding and responses",
        ("SpanHead.decode", "ClassificationHead.decode", "Engine._decode_all", "nli_responses"),
    ),
    ("HTTP app (FastAPI, Starlette, middleware, routes)", ("RequestResponseCycle.run_asgi",)),
    ("batcher", ("Batcher.",)),
    ("HTTP parsing", ("HttpToolsProtocol.",)),
    ("worker threads, waking and waiting", ("_worker (concurrent/futures/thread.py",)),
)
OTHER = "event loop itself (uvloop, callbacks, futures) and the rest"


def categorize(stack: list[str]) -> str:
    for label, prefixes in CATEGORIES:
        if any(frame.startswith(prefix) for frame in stack for prefix in prefixes):
            return label
    return OTHER


def summarize(lines: list[str]) -> dict[str, float]:
    """Share of all samples per category, largest first."""
    counts: Counter[str] = Counter()
    for line in lines:
        stack, _, samples = line.rstrip().rpartition(" ")
        if stack:
            counts[categorize(stack.split(";")[1:])] += int(samples)
    total = sum(counts.values())
    return {label: n / total for label, n in counts.most_common()} if total else {}


def main(profile: Annotated[Path, typer.Argument(help="py-spy raw (collapsed) output")]) -> None:
    """Print each category's share of the samples."""
    for label, share in summarize(profile.read_text().splitlines()).items():
        typer.echo(f"{share * 100:5.1f}%  {label}")


if __name__ == "__main__":
    typer.run(main)
