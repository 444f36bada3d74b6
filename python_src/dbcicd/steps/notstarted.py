"""A run that Databricks refused to start, as the evidence of the step: what the run would have been.

runs/submit and run-now answer an error, and start nothing, when the run's settings are wrong or a limit is reached:
compute the workspace cannot give (a new_cluster naming an instance pool, node type or Spark version it does not
have), parameters the job does not declare, a job that no longer exists, too many runs (Jobs API: "Create and
trigger a one-time run", "Trigger a new job run"; the 400/429 answers of reference/databricks-api.md). There is no
run id then, no run page and no state of Databricks', so the step publishes the run it asked for: a test case per
task, each not started with Databricks' answer as the reason (untrusted text, escaped with the rest by
results/cases.py), the summary, and `resultState` NOT_STARTED, dbcicd's own word (output.py). No `runId` and no
`runPageUrl`: nothing has one.

A run Databricks did start but ended before its tasks ran (its life cycle SKIPPED, a task UPSTREAM_FAILED or
skipped with it) is a run like any other: it is collected, and results/cases.py says which of its tasks never
started.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from databricks.sdk.service import jobs

from ..output import NOT_STARTED


def not_started_run(run_name: str, tasks: Sequence[jobs.SubmitTask | jobs.Task], reason: str) -> jobs.Run:
    """The run Databricks refused to start: `tasks` as runs/get would list them, with neither run id nor state, and
    `reason` as every one's state message."""
    state = jobs.RunState(state_message=reason)
    return jobs.Run(run_name=run_name, state=state, tasks=[_planned(task, state) for task in tasks])


def _planned(task: jobs.SubmitTask | jobs.Task, state: jobs.RunState) -> jobs.RunTask:
    """A task as it was asked for: what it runs, on what, after which tasks (runs/get's RunTask has the same fields as
    the SubmitTask or Task it ran)."""
    return dataclasses.replace(jobs.RunTask.from_dict(task.as_dict()), state=state)


def not_started_outputs() -> dict[str, str]:
    """The output variables of a run that did not start: its state alone, since it has no id and no page."""
    return {"resultState": NOT_STARTED}
