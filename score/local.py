"""The local engine: one process, one runtime, chunk after chunk, resumable."""

from __future__ import annotations

import time

from road.runtime.session import Runtime
from road.score.config import JobConfig
from road.score.inputs import count_rows
from road.score.plan import Plan
from road.score.progress import RowProgress
from road.score.readers import iter_chunks
from road.score.resume import ChunkDone, JobLog, fingerprint
from road.score.scorer import Scorer
from road.score.shards import merge_errors, write_bad_rows, write_results
from road.score.summary import Summary, summary


def run_local(config: JobConfig, plan: Plan) -> Summary:
    """Score every chunk not yet in the output's manifest, then merge the bad rows."""
    started = time.monotonic()
    runtime = Runtime.load(config.bundle, config.session)
    options = config.fingerprint_options(plan.task, plan.ids.name)
    job = JobLog.open(
        config.output, fingerprint(config.bundle, plan.paths, options), config.overwrite
    )
    try:
        resumed = job.rows_done
        if not job.complete:
            _score_missing_chunks(config, plan, runtime, job)
            merge_errors(config.output)
            job.finish()
        counts = (job.rows_done, job.scored, job.bad)
        return summary(config, plan, counts, resumed, started)
    finally:
        job.close()


def _score_missing_chunks(config: JobConfig, plan: Plan, runtime: Runtime, job: JobLog) -> None:
    if job.rows_total is None:
        job.rows_total = count_rows(plan.paths, plan.ids.name)
        job.save()
    scorer = Scorer(runtime, plan.task, plan.ids, config.limits, config.batch)
    label = f"road score {plan.task}"
    with RowProgress(job.rows_total, job.rows_done, config.progress, label) as progress:
        for chunk in iter_chunks(plan.paths, plan.columns, plan.ids.name, config.chunk_rows):
            if chunk.index in job.chunks:
                continue
            scored = scorer.score(chunk.rows, chunk.first_row)
            write_results(
                config.output, chunk.index, scored.results, plan.schema, config.output_format
            )
            write_bad_rows(config.output, chunk.index, [b.record() for b in scored.bad])
            rows = (chunk.first_row, chunk.first_row + len(chunk.rows))
            job.record(ChunkDone(chunk.index, rows, len(scored.results), len(scored.bad)))
            progress.advance(len(chunk.rows))
