"""runs/repair: re-run some tasks of an ended run as part of that run, and the `repair_history` runs/get shows.

What Databricks documents (Jobs API `POST /api/2.2/jobs/runs/repair`, docs.databricks.com/api/workspace/jobs/repairrun,
and databricks-sdk's `JobsAPI.repair_run` / `RepairHistoryItem`):
- "Tasks are re-run as part of the original job run": the run keeps its run_id; each re-run task gets a new task run
  (a new `run_id` in `tasks[]`), and the run's state goes back to active until the re-run tasks end;
- "The run must not be in progress";
- `rerun_tasks` names task keys; `rerun_all_failed_tasks` takes every unsuccessful one; "Only one of rerun_tasks or
  rerun_all_failed_tasks can be used"; `rerun_dependent_tasks` adds "all tasks that depend on the tasks in
  rerun_tasks, even if they were previously successful";
- `latest_repair_id` "is not required when repairing a run for the first time, but must be provided on subsequent
  requests"; leaving it out then fails with "The latest repair ID needs to be provided in order to create a new
  repair" (databricks/databricks-sdk-py#157 and discussion #158, where users hit it). The answer is `{repair_id}`;
- `runs/get?include_history=true` lists `repair_history`: the ORIGINAL item (no `id`) and one REPAIR item per repair,
  each with start/end time, state, status and the `task_run_ids` that ran in it.

What no public source settles, chosen here and said so: the error code and HTTP status of the refusals (these sources
show the messages through the SDK without them; 400 INVALID_PARAMETER_VALUE, and INVALID_STATE for an active run,
as the Jobs API uses for a run in the wrong state), the wording of every refusal except the latest-repair-id one, the
`attempt_number` of a repaired task (documented only for retries, "an incrementing attempt_number"; the model counts
repairs the same way), and whether one-time runs (runs/submit) can be repaired at all: the reference says "the job
run ID of the run to repair" and "they use the current job and task settings", which a one-time run does not have,
but nothing says they are refused. The model accepts both; dbcicd itself does not repair one-time runs.
"""

from __future__ import annotations

from typing import Any

from ..http.errors import invalid_parameter, invalid_state
from .run_model import RepairLog, RepairRecord, Run, TaskRun

LATEST_REPAIR_REQUIRED = "The latest repair ID needs to be provided in order to create a new repair"
_SUCCESSFUL = frozenset({"SUCCESS", "EXCLUDED"})


def tasks_to_rerun(run: Run, body: dict[str, Any]) -> list[str]:
    """Check a repair request against the run; the keys of the tasks it re-runs, in the run's order."""
    if not run.done:
        raise invalid_state(
            f"Run {run.run_id} is still in progress: it can be repaired once it has ended (cancel it first)"
        )
    log: RepairLog = run.repairs
    latest = body.get("latest_repair_id")
    if log.latest_id is not None:
        if latest is None:
            raise invalid_parameter(LATEST_REPAIR_REQUIRED)
        if not isinstance(latest, int) or latest != log.latest_id:
            raise invalid_parameter(
                f"Invalid latest_repair_id {latest}: the latest repair of run {run.run_id} is {log.latest_id}"
            )
    elif latest is not None:
        raise invalid_parameter(f"Invalid latest_repair_id {latest}: run {run.run_id} has not been repaired")
    named = body.get("rerun_tasks")
    all_failed = body.get("rerun_all_failed_tasks") is True
    if named and all_failed:
        raise invalid_parameter("Only one of rerun_tasks or rerun_all_failed_tasks can be used")
    if named is not None and (not isinstance(named, list) or not all(isinstance(k, str) for k in named)):
        raise invalid_parameter("Invalid rerun_tasks: expected a list of task keys")
    keys = {t.key for t in run.tasks}
    if named:
        unknown = [k for k in named if k not in keys]
        if unknown:
            raise invalid_parameter(f"Invalid rerun_tasks: {', '.join(unknown)} is not a task of run {run.run_id}")
        chosen = set(named)
    elif all_failed:
        chosen = {t.key for t in run.tasks if t.outcome and t.outcome.result_state not in _SUCCESSFUL}
    else:
        raise invalid_parameter("Give rerun_tasks or rerun_all_failed_tasks to say which tasks to repair")
    if body.get("rerun_dependent_tasks") is True:
        chosen |= _dependents(run, chosen)
    if not chosen:
        raise invalid_parameter(f"Run {run.run_id} has no failed tasks to repair")
    return [t.key for t in run.tasks if t.key in chosen]


def _dependents(run: Run, keys: set[str]) -> set[str]:
    """Every task downstream of `keys`, however far."""
    found: set[str] = set()
    frontier = set(keys)
    while frontier:
        frontier = {t.key for t in run.tasks if set(t.spec.depends_on) & frontier} - found - keys
        found |= frontier
    return found


def begin(run: Run, repair_id: int, fresh: list[TaskRun], now: int) -> None:
    """Put the new task runs in place of the old ones and make the run active again (the caller starts it)."""
    log: RepairLog = run.repairs
    if not log.history:
        log.history.append(RepairRecord(None, run.created_ms, [t.run_id for t in run.tasks], run.end_ms, run.outcome))
    log.history.append(RepairRecord(repair_id, now, [t.run_id for t in fresh]))
    by_key = {t.key: t for t in fresh}
    run.replace_tasks([by_key.get(t.key, t) for t in run.tasks])
    run.outcome = run.stop = None
    run.phase = "PENDING"
    run.admitted_ms = run.end_ms = 0


def ended(run: Run) -> None:
    """The run has ended again: its latest repair ends with it."""
    log: RepairLog = run.repairs
    if len(log.history) > 1 and log.history[-1].outcome is None:
        log.history[-1].end_ms, log.history[-1].outcome = run.end_ms, run.outcome
