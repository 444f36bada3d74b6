"""Is this run ours? Every run the product waits for, reports or cancels is first checked to be one this invocation
started, so that a run Databricks answers with for any other reason is never reported as this command's result.

A one-time run (runs/submit) carries the invocation's tag in its run name, which runs/get shows back. run-now takes
no name or tag of ours (Jobs API 2.2 `run-now` request fields; runs/get answers with the job's own name), so there
the run must belong to the job and have started after this invocation did, allowing for the agent's and the
workspace's clocks to differ. No public source says how far apart they may be: the allowance is a choice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

from databricks.sdk.service.jobs import Run

from ..errors import RunFailed

CLOCK_ALLOWANCE_MS = 10 * 60 * 1000


@dataclass(frozen=True)
class RunOwner:
    """What this invocation knows of the run it started: its unique name, or its job and when it was started."""

    description: str  # for messages: "'dbcicd project build 12 [a1b2c3d4e5]'" or "job 42"
    run_name: str = ""
    job_id: int | None = None
    not_before_ms: int = 0

    @classmethod
    def named(cls, run_name: str) -> RunOwner:
        return cls(f"'{run_name}'", run_name=run_name)

    @classmethod
    def of_job(cls, job_id: int) -> RunOwner:
        started = int(time.time() * 1000)
        return cls(f"job {job_id}", job_id=job_id, not_before_ms=started - CLOCK_ALLOWANCE_MS)

    def owns(self, run: Run) -> bool:
        if self.run_name:
            return run.run_name == self.run_name
        return run.job_id == self.job_id and (run.start_time or 0) >= self.not_before_ms

    def check(self, run: Run) -> None:
        """Raise RunFailed naming both runs when `run` is not the one this invocation started."""
        if self.owns(run):
            return
        started = (
            datetime.fromtimestamp(run.start_time / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            if run.start_time
            else "at an unknown time"
        )
        raise RunFailed(
            f"Databricks answered with run {run.run_id} ('{run.run_name or ''}' of job {run.job_id}, started "
            f"{started}), which is not the run this command started ({self.description}). Nothing of run "
            f"{run.run_id} is reported, and it is left as it is. This is a bug: please report it with this message."
        )
