"""Batch scoring throughput: `road score` against the server on the same rows; Ray 1 vs 2 actors.

    python -m bench.score_bench --nli 480 --qa 96 --ray --out /tmp/score-bench.json

Rows are real (../shared/data dev files); NLI pairs longer than the bundle's limit are left out so
the server's batch requests never fail. Every rate is rows / wall seconds of the whole job (bundle
load, Ray actor start-up and writing included) or, for the server, of the whole request stream.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from bench.host import free_port, machine, server_process
from road.core.data import read_nli, read_squad
from road.runtime.session import Runtime
from road.runtime.settings import BatchSettings, default_bundle
from road.score.config import JobConfig
from road.score.job import run_job

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
Rows = list[dict[str, Any]]


def nli_rows(count: int) -> Rows:
    encoder = Runtime.load(default_bundle()).heads["nli"].encoder  # type: ignore[attr-defined]
    rows = []
    for e in read_nli(DATA / "nli" / "vitaminc-dev.jsonl.gz"):
        ids = encoder.tokenizer.encode(e.premise, e.hypothesis).ids
        if len(ids) <= encoder.max_seq_len:
            rows.append({"id": e.id, "premise": e.premise, "hypothesis": e.hypothesis})
        if len(rows) == count:
            return rows
    return rows


def qa_rows(count: int) -> Rows:
    examples = read_squad(DATA / "qa" / "squadshifts-dev.json.gz")[:count]
    return [{"id": e.id, "question": e.question, "context": e.context} for e in examples]


def job(path: Path, out: Path, **overrides: Any) -> dict[str, Any]:
    config = JobConfig(
        bundle=default_bundle(),
        inputs=(str(path),),
        output=out,
        progress=False,
        overwrite=True,
        batch=BatchSettings(),
    )
    summary = run_job(dataclasses.replace(config, **overrides))
    return {"rows": summary.rows, "seconds": summary.seconds, "rows_per_s": summary.rows_per_s}


def served(rows: Rows, task: str, batch_items: int, clients: int) -> dict[str, Any]:
    """The same rows as /<task>/batch requests from `clients` closed-loop client threads."""
    port = free_port()
    command = [sys.executable, "-m", "road", "serve", "--port", str(port)]
    bodies = [
        {"items": [{k: v for k, v in r.items() if k != "id"} for r in rows[i : i + batch_items]]}
        for i in range(0, len(rows), batch_items)
    ]
    env = {"ROAD_LOG_LEVEL": "warning"}
    with server_process(command, port, env=env) as server, httpx.Client(timeout=600) as client:

        def post(body: dict[str, Any]) -> int:
            response = client.post(f"{server.url}/{task}/batch", json=body)
            response.raise_for_status()
            return len(response.json()["results"])

        started = time.monotonic()
        with ThreadPoolExecutor(clients) as pool:
            done = sum(pool.map(post, bodies))
        seconds = time.monotonic() - started
    return {"rows": done, "seconds": round(seconds, 3), "rows_per_s": round(done / seconds, 2)}


def on_ray(path: Path, root: Path) -> dict[str, Any]:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    try:
        return {
            f"{actors}x{cpus}cpu": job(
                path,
                root / f"ray-{actors}-{cpus}",
                engine="ray",
                ray_actors=actors,
                ray_cpus_per_actor=float(cpus),
                chunk_rows=64,
            )
            for actors, cpus in ((1, 1), (2, 1), (1, 2))
        }
    finally:
        ray.shutdown()


def write_jsonl(path: Path, rows: Rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nli", type=int, default=480, help="NLI rows")
    parser.add_argument("--qa", type=int, default=96, help="QA rows")
    parser.add_argument("--clients", type=int, default=4, help="Concurrent server clients")
    parser.add_argument("--ray", action="store_true", help="Also Ray with 1 and 2 actors (NLI)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/score-bench.json"))
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine(), "command": " ".join(sys.argv)}
    with tempfile.TemporaryDirectory(prefix="score-bench-") as tmp:
        root = Path(tmp)
        for task, rows in (("nli", nli_rows(args.nli)), ("qa", qa_rows(args.qa))):
            path = write_jsonl(root / f"{task}.jsonl", rows)
            results[task] = {
                "local": job(path, root / f"local-{task}", chunk_rows=256),
                "server": served(rows, task, batch_items=32, clients=args.clients),
            }
            print(task, json.dumps(results[task]), flush=True)
        if args.ray:
            results["nli"]["ray"] = on_ray(root / "nli.jsonl", root)
            print("ray", json.dumps(results["nli"]["ray"]), flush=True)
    results["machine"]["load_average_after"] = machine()["load_average"]
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
