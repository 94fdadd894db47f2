"""Real requests for the load generator: SQuADShifts QA and VitaminC NLI pairs from shared/data.

Requests are drawn uniformly from the dev files, so their lengths (context sizes, hence QA windows
per request, and NLI pair lengths) follow the real data rather than a synthetic distribution.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from road.core.data import read_nli, read_squad

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data"
QA_FILE = "qa/squadshifts-dev.json.gz"
NLI_FILE = "nli/vitaminc-dev.jsonl.gz"
# Share of QA requests in each traffic mix.
MIXES: dict[str, float] = {"mixed": 0.5, "qa": 1.0, "nli": 0.0}


@dataclass(frozen=True)
class Request:
    """One HTTP request: its task, route and JSON body (serialised once, not per send)."""

    task: str
    payload: dict[str, str]
    body: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "body", json.dumps(self.payload).encode())

    @property
    def path(self) -> str:
        return f"/{self.task}"


@dataclass(frozen=True)
class Pools:
    """Every usable QA and NLI request of the data, before sampling."""

    qa: list[Request]
    nli: list[Request]
    nli_rejected: int = 0


def load_pools(
    data_dir: Path = DATA_DIR, bundle: Path | None = None, nli_max_tokens: int | None = None
) -> Pools:
    """Read the dev files; with a bundle, drop NLI pairs longer than it accepts (it answers 422)."""
    qa = [
        Request("qa", {"question": e.question, "context": e.context})
        for e in read_squad(data_dir / QA_FILE)
    ]
    nli = [
        Request("nli", {"premise": e.premise, "hypothesis": e.hypothesis})
        for e in read_nli(data_dir / NLI_FILE)
    ]
    if bundle is None:
        return Pools(qa, nli)
    kept = _fitting_nli(nli, bundle, nli_max_tokens)
    return Pools(qa, kept, nli_rejected=len(nli) - len(kept))


def _fitting_nli(nli: list[Request], bundle: Path, max_tokens: int | None) -> list[Request]:
    from road.core.bundle import load_manifest
    from road.core.tokenizer import load_tokenizer

    if max_tokens is None:
        task = load_manifest(bundle, verify=False).tasks.nli
        if task is None:
            return nli
        max_tokens = task.max_seq_len
    tokenizer = load_tokenizer(bundle)
    pairs = [(r.payload["premise"], r.payload["hypothesis"]) for r in nli]
    lengths = [len(e.ids) for e in tokenizer.encode_batch(pairs)]
    return [r for r, n in zip(nli, lengths) if n <= max_tokens]


def build_workload(pools: Pools, mix: str, count: int, seed: int = 0) -> list[Request]:
    """`count` requests in a seeded random order; exactly round(count × QA share) are QA."""
    if mix not in MIXES:
        raise ValueError(f"unknown mix {mix!r}; choose from {sorted(MIXES)}")
    rng = random.Random(seed)
    n_qa = round(count * MIXES[mix])
    requests = _sample(pools.qa, n_qa, rng) + _sample(pools.nli, count - n_qa, rng)
    rng.shuffle(requests)
    return requests


def _sample(pool: Sequence[Request], count: int, rng: random.Random) -> list[Request]:
    """Without replacement while the pool lasts, then again from a fresh permutation."""
    if count and not pool:
        raise ValueError("no requests of this task to sample from")
    out: list[Request] = []
    while len(out) < count:
        out.extend(rng.sample(list(pool), min(len(pool), count - len(out))))
    return out


def save_workload(requests: Sequence[Request], path: Path) -> None:
    """JSON lines of {task, payload}: the exact inputs a run sent, for replaying them elsewhere."""
    with path.open("w", encoding="utf-8") as handle:
        for r in requests:
            handle.write(json.dumps({"task": r.task, "payload": r.payload}) + "\n")


def load_workload(path: Path) -> list[Request]:
    with path.open(encoding="utf-8") as handle:
        return [Request(**json.loads(line)) for line in handle if line.strip()]
