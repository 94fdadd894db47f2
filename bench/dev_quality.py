"""Dev quality through a server's HTTP API: what its users get back, scored as the dev metrics are.

The full dev files go to `/qa` and `/nli` of any server that speaks road's request format (road,
or bench/naive_server.py): every SQuAD-shifts dev question plus the dev set's unanswerable pairs
(the shares and seed of road's own evaluation, core/negatives.py), and every VitaminC dev pair.
The replies are scored with road's metrics (core/metrics.py): HasAns F1/EM, NoAns accuracy with
the same-article pairs apart, NLI accuracy with per-class recall. A request that fails counts as
wrong, and the failures are counted.

    python -m bench.dev_quality --url http://127.0.0.1:8000 --out /tmp/road-dev.json
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import aiohttp
import typer

from bench import host
from bench.workload import DATA_DIR
from road.core.data import read_nli, read_squad
from road.core.evaluation import negative_accuracy
from road.core.metrics import accuracy, class_report, squad_scores
from road.core.negatives import DEV_NEGATIVE_SEED, with_negatives
from road.core.tasks import NLI

QA_DEV = DATA_DIR / "qa" / "squadshifts-dev.json.gz"
NLI_DEV = DATA_DIR / "nli" / "vitaminc-dev.jsonl.gz"
# Never equal to a normalised gold answer, and not "" (which would score as a right NoAns).
FAILED = "\x00request failed"


@dataclass(frozen=True)
class Reply:
    """One request's outcome: the field the metric reads, or FAILED."""

    value: str
    ok: bool


async def _post_all(
    url: str, path: str, bodies: Sequence[dict[str, Any]], field: str, concurrency: int
) -> tuple[list[Reply], float]:
    """POST every body with at most `concurrency` in flight; the replies in order and the wall."""
    limit = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=600)

    async def one(session: aiohttp.ClientSession, body: dict[str, Any]) -> Reply:
        async with limit:
            try:
                async with session.post(url + path, json=body) as response:
                    if response.status != 200:
                        return Reply(FAILED, False)
                    value = (await response.json()).get(field)
            except (aiohttp.ClientError, asyncio.TimeoutError):
                return Reply(FAILED, False)
        # An abstention (road's min_score) is no label: wrong, but not a failure.
        return Reply(value if isinstance(value, str) else FAILED, True)

    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        replies = await asyncio.gather(*(one(session, body) for body in bodies))
    return list(replies), time.perf_counter() - started


def score_qa(
    url: str, dev: Path, cross: float, same: float, concurrency: int, limit: int | None
) -> dict[str, Any]:
    """HasAns / NoAns scores of the server's `/qa` answers on the dev questions and negatives."""
    examples = with_negatives(read_squad(dev)[:limit], cross, same, DEV_NEGATIVE_SEED)
    bodies = [{"question": e.question, "context": e.context} for e in examples]
    replies, wall = asyncio.run(_post_all(url, "/qa", bodies, "answer", concurrency))
    golds = {e.id: list(e.answers) for e in examples}
    preds = {e.id: reply.value for e, reply in zip(examples, replies, strict=True)}
    return {
        **squad_scores(golds, preds),
        **negative_accuracy(golds, preds),
        "failed": sum(not r.ok for r in replies),
        "requests": len(bodies),
        "wall_s": round(wall, 1),
    }


def score_nli(url: str, dev: Path, concurrency: int, limit: int | None) -> dict[str, Any]:
    """Accuracy and per-class recall of the server's `/nli` labels on the dev pairs."""
    examples = read_nli(dev)[:limit]
    bodies = [{"premise": e.premise, "hypothesis": e.hypothesis} for e in examples]
    replies, wall = asyncio.run(_post_all(url, "/nli", bodies, "label", concurrency))
    golds = [e.label for e in examples]
    preds = [reply.value for reply in replies]
    labels = list(NLI.labels)
    # class_report needs a known label for every prediction; a failure or abstention is wrong.
    known = [p if p in labels else _wrong(g, labels) for g, p in zip(golds, preds, strict=True)]
    return {
        "accuracy": accuracy(golds, preds),
        "total": float(len(examples)),
        **class_report(golds, known, labels),
        "failed": sum(not r.ok for r in replies),
        "unlabelled": sum(p not in labels for p in preds),
        "requests": len(bodies),
        "wall_s": round(wall, 1),
    }


def _wrong(gold: str, labels: Sequence[str]) -> str:
    return next(label for label in labels if label != gold)


def score(
    url: str,
    tasks: Sequence[str] = ("qa", "nli"),
    concurrency: int = 8,
    limit: int | None = None,
    negatives: tuple[float, float] = (0.1, 0.2),
) -> dict[str, Any]:
    """Both tasks' dev scores through the server at `url` (the API module entry point)."""
    result: dict[str, Any] = {"url": url, "concurrency": concurrency, "limit": limit}
    if "qa" in tasks:
        result["qa"] = score_qa(url, QA_DEV, *negatives, concurrency, limit)
    if "nli" in tasks:
        result["nli"] = score_nli(url, NLI_DEV, concurrency, limit)
    return result


def main(
    url: Annotated[str, typer.Option(help="Server base URL")] = "http://127.0.0.1:8000",
    out: Annotated[Path | None, typer.Option(help="JSON file for the scores")] = None,
    tasks: Annotated[str, typer.Option(help="qa,nli or one of them")] = "qa,nli",
    concurrency: Annotated[int, typer.Option(help="Requests in flight")] = 8,
    limit: Annotated[int | None, typer.Option(help="First N dev examples (a smoke run)")] = None,
) -> None:
    """Score a running server on the full dev files through its HTTP API."""
    result = score(url, tasks.split(","), concurrency, limit)
    result["machine"] = host.machine()
    text = json.dumps(result, indent=2)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
    typer.echo(text)


if __name__ == "__main__":
    typer.run(main)
