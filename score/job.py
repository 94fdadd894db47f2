"""`run_job`: plan the job from its inputs, run it on an engine, summarise it.

The engines import the plan and the summary from their own modules, never this one: this
module is the only one that knows both engines.
"""

from __future__ import annotations

from road.score.config import JobConfig, JobError
from road.score.local import run_local
from road.score.plan import Plan, plan_job
from road.score.summary import Summary

__all__ = ["Plan", "Summary", "plan_job", "run_job"]


def run_job(config: JobConfig) -> Summary:
    """Score the inputs into `config.output` on the configured engine."""
    if config.chunk_rows < 1:
        raise JobError("--chunk-rows must be at least 1")
    plan = plan_job(config)
    if config.engine == "ray":
        # Ray is the `ray` extra: imported only for a Ray job.
        from road.score.ray_engine import run_ray

        return run_ray(config, plan)
    return run_local(config, plan)
