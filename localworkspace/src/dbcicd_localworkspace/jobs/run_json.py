"""Runs and task runs as runs/get, runs/list and runs/get-output show them (field names from the Jobs API).

Three shapes: the multi-task Run of API 2.1/2.2 (`tasks[]`, each with its own run_id); the API 2.0 single-task
shape (`task`, `cluster_spec` at the top level, no `tasks`); and a task run answered as a run (runs/get with a
task's run_id, and the `metadata` of its get-output). Times are epoch milliseconds; a time not reached yet is 0,
as Databricks sends it. Callers hold the engine lock while rendering.
"""

from __future__ import annotations

from typing import Any

from ..services.compute import WORKSPACE_ID
from .job_spec import COMPUTE_FIELDS
from .run_model import STATUS_OF_PHASE, Outcome, Run, TaskRun


def run_page_url(host: str, job_id: int, run_id: int) -> str:
    """`?o=` is the workspace's id, as on Databricks' own run pages."""
    return f"{host}/?o={WORKSPACE_ID}#job/{job_id}/run/{run_id}"


def run_json(run: Run, host: str, tasks: list[TaskRun] | None = None) -> dict[str, Any]:
    """The multi-task Run; `tasks` is the page of tasks to include (None: leave `tasks` out, as runs/list does)."""
    out = _run_common(run, host)
    single = run.tasks[0] if len(run.tasks) == 1 else None
    # "setup_duration ... is set to 0 for multitask job runs"; a single-task run reports its task's.
    out.update(_durations(single) if single else {"setup_duration": 0, "execution_duration": 0, "cleanup_duration": 0})
    out["format"] = "MULTI_TASK"
    if tasks is not None:
        out["tasks"] = [task_json(run, t, host) for t in tasks]
    return out


def legacy_run_json(run: Run, host: str) -> dict[str, Any]:
    """API 2.0's single-task shape: the task's settings at the top level, no `tasks` array."""
    task = run.tasks[0]
    settings = task.spec.settings
    out = _run_common(run, host)
    out.update(_durations(task))
    out["task"] = {task.spec.kind: settings[task.spec.kind]}
    out["cluster_spec"] = {k: settings[k] for k in (*COMPUTE_FIELDS, "libraries") if k in settings}
    out.update(_cluster_instance(task))
    return out


def task_as_run_json(run: Run, task: TaskRun, host: str) -> dict[str, Any]:
    """A task run answered as a run of its own (runs/get and get-output `metadata` for a task's run_id)."""
    out = _run_common(run, host)
    out.update(_task_run_fields(run, task, host), job_run_id=run.run_id, tasks=[task_json(run, task, host)])
    for key in ("number_in_job", "original_attempt_run_id"):
        out[key] = task.run_id
    return out


def task_json(run: Run, task: TaskRun, host: str) -> dict[str, Any]:
    """One entry of a run's `tasks`: the task's settings as submitted plus its own run's state and times."""
    out = dict(task.spec.settings)
    out.update(_task_run_fields(run, task, host), attempt_number=task.attempt_number)
    out.update(_cluster_instance(task))
    return out


def repair_history_json(run: Run) -> list[dict[str, Any]]:
    """runs/get `repair_history` (with include_history): the original run, then each repair (RepairHistoryItem)."""
    out = []
    for item in run.repairs.history:
        phase = "RUNNING" if item.outcome is None else item.outcome.life_cycle_state
        entry: dict[str, Any] = {
            "type": "ORIGINAL" if item.repair_id is None else "REPAIR",
            "start_time": item.start_ms,
            "end_time": item.end_ms,
            "state": _state(phase, item.outcome),
            "status": _status(phase, item.outcome),
            "task_run_ids": list(item.task_run_ids),
        }
        if item.repair_id is not None:
            entry["id"] = item.repair_id
        out.append(entry)
    return out


def _task_run_fields(run: Run, task: TaskRun, host: str) -> dict[str, Any]:
    """What a task's own run reports of itself, in `tasks[]` and when asked for as a run."""
    return {
        "run_id": task.run_id,
        "state": _state(task.phase, task.outcome),
        "status": _status(task.phase, task.outcome),
        "start_time": task.ready_ms,
        "end_time": task.end_ms,
        "run_duration": task.end_ms - task.ready_ms if task.end_ms else 0,
        "queue_duration": 0,
        "run_page_url": run_page_url(host, run.job_id, task.run_id),
        **_durations(task),
    }


def _run_common(run: Run, host: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "job_id": run.job_id,
        "run_id": run.run_id,
        "number_in_job": run.run_id,  # "set to the same value as run_id"
        "original_attempt_run_id": run.run_id,
        "creator_user_name": run.creator,
        "run_name": run.spec.run_name,
        "run_type": run.run_type,
        "state": _state(run.phase, run.outcome),
        "status": _status(run.phase, run.outcome, run.max_concurrent_runs),
        "start_time": run.created_ms,
        "end_time": run.end_ms,
        "run_duration": run.end_ms - run.created_ms if run.end_ms else 0,
        "queue_duration": run.admitted_ms - run.created_ms if run.admitted_ms else 0,
        "run_page_url": run_page_url(host, run.job_id, run.run_id),
        "attempt_number": 0,
    }
    if run.spec.git_source is not None:
        out["git_source"] = run.spec.git_source
    if run.run_type == "JOB_RUN":
        out["trigger"] = "ONE_TIME"
    if run.job_parameters is not None:
        out["job_parameters"] = run.job_parameters
    if run.overriding_parameters:
        out["overriding_parameters"] = run.overriding_parameters
    if run.spec.job_clusters:
        out["job_clusters"] = list(run.spec.job_clusters)
    return out


def _state(phase: str, outcome: Outcome | None) -> dict[str, Any]:
    if outcome is None:
        return {"life_cycle_state": phase, "state_message": "", "user_cancelled_or_timedout": False}
    return {
        "life_cycle_state": outcome.life_cycle_state,
        "result_state": outcome.result_state,
        "state_message": outcome.message,
        "user_cancelled_or_timedout": outcome.user_cancelled_or_timedout,
    }


def _status(phase: str, outcome: Outcome | None, queue_limit: int | None = None) -> dict[str, Any]:
    if outcome is not None:
        details = {"code": outcome.code, "type": outcome.type, "message": outcome.message}
        return {"state": "TERMINATED", "termination_details": details}
    status: dict[str, Any] = {"state": STATUS_OF_PHASE[phase]}
    if phase == "QUEUED":
        message = f"The job has reached its limit of {queue_limit} concurrent runs"
        status["queue_details"] = {"code": "MAX_CONCURRENT_RUNS_REACHED", "message": message}
    return status


def _durations(task: TaskRun) -> dict[str, int]:
    """Setup (waiting for a slot, preparing), execution (the process), cleanup (collecting its result)."""
    if not task.running_ms:
        setup = task.end_ms - task.ready_ms if task.end_ms and task.ready_ms else 0
        return {"setup_duration": setup, "execution_duration": 0, "cleanup_duration": 0}
    return {
        "setup_duration": task.running_ms - task.ready_ms,
        "execution_duration": task.exited_ms - task.running_ms if task.exited_ms else 0,
        "cleanup_duration": task.end_ms - task.exited_ms if task.end_ms and task.exited_ms else 0,
    }


def _cluster_instance(task: TaskRun) -> dict[str, Any]:
    cluster_id = task.spec.settings.get("existing_cluster_id")
    if cluster_id is None or not task.running_ms:
        return {}
    return {"cluster_instance": {"cluster_id": cluster_id}}
