"""The Ray engine: Ray Data reads the inputs, an actor pool scores them, a datasink writes shards.

Each actor loads the bundle once and scores batches of `chunk_rows` rows with the same `Scorer`
as the local engine; the datasink writes them with the same shard writers. Only the
orchestration differs. The bundle, the inputs and the output directory must be reachable at
the same paths from every Ray node (a shared filesystem).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from road.runtime.session import SessionOptions
from road.runtime.settings import BatchSettings
from road.score.config import JobConfig, JobError, Limits, Task
from road.score.inputs import IdColumn, csv_options, input_format, peek_schema
from road.score.plan import Plan
from road.score.readers import RawRow, parse_json_line
from road.score.resume import ChunkDone, JobLog, fingerprint
from road.score.scorer import Scorer
from road.score.shards import merge_errors, result_schema, write_bad_rows, write_results
from road.score.summary import Summary, summary

# Bad rows travel beside the results as JSON in this column, then go to the errors shards.
BAD = "_bad"
TEXT = "text"
# Reading and writing Arrow blocks is light next to scoring; asking no CPU for them means an
# actor pool that takes every CPU cannot starve its own input and output.
IO_CPUS = 0


class ScoreActor:
    """One loaded bundle per actor; called with Arrow batches of input rows."""

    def __init__(
        self,
        bundle: str,
        task: Task,
        ids: IdColumn,
        limits: Limits,
        batch: BatchSettings,
        session: SessionOptions,
        json_lines: bool,
    ) -> None:
        from road.runtime.session import Runtime

        runtime = Runtime.load(bundle, session)
        self.scorer = Scorer(runtime, task, ids, limits, batch)
        self.schema = _with_bad(result_schema(runtime.heads[task].spec, ids))
        self.json_lines = json_lines

    def __call__(self, table: pa.Table) -> pa.Table:
        rows: list[RawRow]
        if self.json_lines:
            lines = table.column(TEXT).to_pylist()
            rows = [parse_json_line(line) for line in lines if line.strip()]
        else:
            rows = table.to_pylist()
        scored = self.scorer.score(rows, first_row=None)
        bad = [{BAD: json.dumps(b.record(), default=str)} for b in scored.bad]
        return pa.Table.from_pylist([*scored.results, *bad], schema=self.schema)


def _with_bad(schema: pa.Schema) -> pa.Schema:
    return schema.append(pa.field(BAD, pa.string()))


def _datasink(out_dir: Path, schema: pa.Schema, fmt: Any) -> Any:
    from ray.data import Datasink
    from ray.data.block import BlockAccessor

    class ScoreDatasink(Datasink[tuple[int, int]]):
        """Writes each write task's rows as `part-<task>` and its bad rows, as local does."""

        def __init__(self) -> None:
            self.counts = (0, 0)

        def write(self, blocks: Iterable[Any], ctx: Any) -> tuple[int, int]:
            tables = [BlockAccessor.for_block(b).to_arrow() for b in blocks]
            table = pa.concat_tables(tables) if tables else _with_bad(schema).empty_table()
            is_bad = table.column(BAD).is_valid()
            bad = [json.loads(x) for x in table.filter(is_bad).column(BAD).to_pylist()]
            results = table.filter(pc.invert(is_bad)).drop_columns([BAD])
            write_results(out_dir, ctx.task_idx, results, schema, fmt)
            write_bad_rows(out_dir, ctx.task_idx, bad)
            return results.num_rows, len(bad)

        def on_write_complete(self, write_result: Any) -> None:
            returns = write_result.write_returns
            self.counts = (sum(r[0] for r in returns), sum(r[1] for r in returns))

    return ScoreDatasink()


def _read(plan: Plan) -> Any:
    import ray.data

    paths = [str(p) for p in plan.paths]
    fmt = input_format(plan.paths[0])
    if fmt == "parquet":
        present = set(peek_schema(plan.paths[0], plan.ids.name).names)
        columns = [c for c in plan.columns if c in present]
        # Ray's newer Parquet reader lists files in a task that takes a whole CPU, which an
        # actor pool holding every CPU starves; the classic reader lists them on the driver.
        ray.data.DataContext.get_current().use_datasource_v2 = False
        return ray.data.read_parquet(paths, columns=columns, num_cpus=IO_CPUS)
    if fmt == "csv":
        options = csv_options(plan.ids.name, plan.columns)
        return ray.data.read_csv(paths, convert_options=options, num_cpus=IO_CPUS)
    return ray.data.read_text(paths, num_cpus=IO_CPUS)


def run_ray(config: JobConfig, plan: Plan) -> Summary:
    """Score on a Ray cluster: the one at RAY_ADDRESS, else a new local one."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise JobError("--engine ray needs Ray: pip install 'road[ray]'") from exc
    if not plan.ids.from_column:
        raise JobError("--engine ray needs an id column (--id-column): rows have no global number")
    started = time.monotonic()
    from road.core.bundle import load_manifest

    load_manifest(config.bundle, verify=True)  # refuse a broken bundle before starting actors
    options = {**config.fingerprint_options(plan.task, plan.ids.name), "engine": "ray"}
    job = JobLog.open(
        config.output, fingerprint(config.bundle, plan.paths, options), config.overwrite
    )
    try:
        if not job.complete:
            job.restart()  # Ray's blocks are not the same on every run: no partial resume
            if not ray.is_initialized():
                ray.init(logging_level=logging.WARNING)
            scored, bad = _execute(config, plan)
            merge_errors(config.output)
            job.rows_total = scored + bad
            job.record(ChunkDone(0, (0, scored + bad), scored, bad))
            job.finish()
        return summary(config, plan, (job.rows_done, job.scored, job.bad), 0, started)
    finally:
        job.close()


def _execute(config: JobConfig, plan: Plan) -> tuple[int, int]:
    import ray.data

    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # shards in input order, like local
    context.enable_progress_bars = config.progress
    # An actor runs ORT on the CPUs Ray gave it, unless --threads says otherwise.
    threads = config.session.intra_op_threads or max(1, round(config.ray_cpus_per_actor))
    actor_args = {
        "bundle": str(config.bundle),
        "task": plan.task,
        "ids": plan.ids,
        "limits": config.limits,
        "batch": config.batch,
        "session": replace(config.session, intra_op_threads=threads),
        "json_lines": input_format(plan.paths[0]) == "jsonl",
    }
    scored = _read(plan).map_batches(
        ScoreActor,
        fn_constructor_kwargs=actor_args,
        batch_size=config.chunk_rows,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=config.ray_actors),
        num_cpus=config.ray_cpus_per_actor,
    )
    sink = _datasink(config.output, plan.schema, config.output_format)
    scored.write_datasink(sink, ray_remote_args={"num_cpus": IO_CPUS})
    counts: tuple[int, int] = sink.counts
    return counts
