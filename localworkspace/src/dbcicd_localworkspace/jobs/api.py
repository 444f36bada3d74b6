"""The Jobs API (served under /api/2.0, /api/2.1 and /api/2.2): jobs, one-time and job runs, their output.

This module is the HTTP face: it validates requests (job_spec), keeps the registry of jobs and runs, and renders
answers (run_json); the runs themselves execute in the background (runner). Version differences follow
Databricks: 2.2 pages a run's or job's `tasks` at 100 with `next_page_token`, 2.1 returns them all, and 2.0 shows
a single-task run without `tasks` and accepts a task's fields at the top level of runs/submit.

Jobs are kept on disk (job_registry.py) and survive a restart. Runs live in memory for the life of the server; their
logs, results and cell records live under `runs/<run_id>/` until the run is deleted. runs/export and the run pages
of browsers are rendered from copies of the records (render/).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..http.errors import invalid_parameter, invalid_state
from ..http.paging import decode_token, encode_token
from ..http.request import Request
from ..render.run_page import RunView, export_views
from ..services.compute import WORKSPACE_ID
from . import permissions
from .job_registry import JOBS_FILE, JobRecord, load_jobs, save_jobs
from .job_spec import (
    ComputeRules,
    RunSpec,
    check_job_compute,
    parse_idempotency_token,
    parse_job_settings,
    parse_submit,
    run_spec_of_job,
    string_list,
    string_map,
)
from .repair import begin, tasks_to_rerun
from .run_json import legacy_run_json, repair_history_json, run_json, task_as_run_json
from .run_model import Run, TaskRun
from .run_params import Overrides, references, resolve_job_parameters, task_inputs
from .runner import DEFAULT_MAX_PARALLEL_TASKS, RunEngine, now_ms, remove_tree
from .task_process import TaskPlaces, logs, truncate

T = TypeVar("T")
PAGE_SIZE_2_2 = 100  # tasks per runs/get and jobs/get response in API 2.2
MAX_JOBS_PAGE = 100
MAX_RUNS_PAGE = 25
DEFAULT_PAGE = 20
RUN_TYPES = ("JOB_RUN", "SUBMIT_RUN", "WORKFLOW_RUN")
# Parameters runs/repair may override; not modelled, so refused rather than ignored.
_REPAIR_OVERRIDES = ("job_parameters", "notebook_params", "python_params", "jar_params", "python_named_params")
MULTI_TASK_OUTPUT = (
    "Retrieving the output of runs with multiple tasks is not supported. Please retrieve the output of each "
    "individual task run instead."
)


@dataclass(frozen=True)
class JobsContext:
    """What the Jobs service needs of its workspace, and nothing more: the host run page URLs name, the user who
    creates jobs and runs, the checks of the compute tasks ask for, where runs keep their files, and what tasks need."""

    host: str
    user_name: str
    compute: ComputeRules
    runs_root: Path
    places: TaskPlaces
    state_root: Path | None = None  # where the job registry is kept across restarts (None: jobs live in memory)


class Jobs:
    """Jobs and runs of the local workspace; `shutdown()` kills every active run's processes."""

    def __init__(self, context: JobsContext, max_parallel_tasks: int = DEFAULT_MAX_PARALLEL_TASKS) -> None:
        self.context = context
        self.engine = RunEngine(context.places, max_parallel_tasks)
        self._lock = self.engine.lock
        # Ids look like Databricks' (large, increasing, unique across jobs, runs and task runs and restarts).
        self._jobs_file = context.state_root / JOBS_FILE if context.state_root else None
        self._jobs: dict[int, JobRecord] = load_jobs(self._jobs_file) if self._jobs_file else {}
        self._ids = itertools.count(max([time.time_ns() // 1000, *(j + 1 for j in self._jobs)]))
        self._runs: dict[int, Run] = {}
        self._task_runs: dict[int, tuple[Run, TaskRun]] = {}
        self._tokens: dict[str, int | None] = {}  # idempotency token -> run id (None once that run is deleted)

    def shutdown(self) -> None:
        self.engine.shutdown()

    # --- jobs ---------------------------------------------------------------------------------------------
    def create(self, req: Request) -> dict[str, Any]:
        settings = parse_job_settings(req.json(), req.api_version, self.context.compute)
        settings.pop("access_control_list", None)  # permissions, not settings: jobs/get does not show them
        with self._lock:
            job_id = next(self._ids)
            self._jobs[job_id] = JobRecord(job_id, self.context.user_name, now_ms(), settings)
            self._save_jobs()
        return {"job_id": job_id}

    def reset(self, req: Request) -> dict[str, Any]:
        """jobs/reset, what `databricks bundle deploy` calls for a job it deployed before: "Overwrite all settings for
        the given job"; `new_settings` "completely replace the old settings" (Jobs API jobs/reset,
        docs.databricks.com/api/workspace/jobs/reset; databricks-sdk JobsAPI.reset). Settings are checked as jobs/create
        checks them. The answer is an empty object (JobsAPI.reset returns nothing). "Changes to the field
        timeout_seconds are applied to active runs": not modelled, an active run keeps the timeout it started with."""
        body = req.json()
        job_id = req.field("job_id", int)
        new_settings = body.get("new_settings")
        if not isinstance(new_settings, dict):
            raise invalid_parameter("Invalid new_settings: expected the job's settings as an object")
        settings = parse_job_settings(new_settings, req.api_version, self.context.compute)
        settings.pop("access_control_list", None)  # permissions, not settings, as in jobs/create
        with self._lock:
            job = self._job(job_id)
            job.settings = settings
            self._save_jobs()
        return {}

    def get(self, req: Request) -> dict[str, Any]:
        job_id = req.arg("job_id", int)
        with self._lock:
            job = self._job(job_id)
            out = self._job_json(job, expand_tasks=True)
        if req.api_version == "2.2":
            out["settings"]["tasks"], start, next_token = _tasks_page(out["settings"]["tasks"], req)
            if start:  # the other arrays came whole with the first page
                for key in ("job_clusters", "parameters", "environments"):
                    out["settings"].pop(key, None)
            if next_token:
                out["next_page_token"] = next_token
        return out

    def list(self, req: Request) -> dict[str, Any]:
        name = req.arg("name", str, "")
        expand = req.arg("expand_tasks", bool, False)
        limit = req.arg("limit", int, DEFAULT_PAGE)
        if not 1 <= limit <= MAX_JOBS_PAGE:
            raise invalid_parameter(f"Invalid limit {limit}: it must be between 1 and {MAX_JOBS_PAGE}")
        start = _start(req)
        with self._lock:
            jobs = sorted(self._jobs.values(), key=lambda j: (j.created_ms, j.job_id), reverse=True)
            # "A filter on the list based on the exact (case insensitive) job name" (databricks-sdk JobsAPI.list)
            if name:
                jobs = [j for j in jobs if j.settings["name"].lower() == name.lower()]
            page = [self._job_json(j, expand, req.api_version == "2.2") for j in jobs[start : start + limit]]
        return _page(page, "jobs", start, limit, len(jobs))

    def delete(self, req: Request) -> dict[str, Any]:
        job_id = req.field("job_id", int)
        with self._lock:
            self._job(job_id)
            del self._jobs[job_id]
            self._save_jobs()
            active = [r for r in self._runs.values() if r.job_id == job_id and not r.done]
        for run in active:
            self.engine.cancel(run)
        return {}

    # --- permissions (permissions.py) ------------------------------------------------------------------------
    def get_permissions(self, req: Request) -> dict[str, Any]:
        job_id = _job_id_in_path(req)
        with self._lock:
            return permissions.as_json(job_id, self._job(job_id).acl)

    def set_permissions(self, req: Request) -> dict[str, Any]:
        return self._change_permissions(req, permissions.replaced)

    def update_permissions(self, req: Request) -> dict[str, Any]:
        return self._change_permissions(req, permissions.updated)

    def _change_permissions(self, req: Request, change: permissions.Change) -> dict[str, Any]:
        job_id, given = _job_id_in_path(req), permissions.parse_acl(req.json())
        with self._lock:
            job = self._job(job_id)
            job.acl = change(job.acl, given)
            self._save_jobs()
            return permissions.as_json(job_id, job.acl)

    def _save_jobs(self) -> None:
        """Keep the registry on disk after a change (callers hold the lock)."""
        if self._jobs_file is not None:
            save_jobs(self._jobs_file, self._jobs)

    def _job(self, job_id: int) -> JobRecord:
        job = self._jobs.get(job_id)
        if job is None:
            raise invalid_parameter(f"Job {job_id} does not exist.")
        return job

    def _job_json(self, job: JobRecord, expand_tasks: bool, limit_tasks: bool = False) -> dict[str, Any]:
        settings = dict(job.settings)
        out: dict[str, Any] = {
            "job_id": job.job_id,
            "creator_user_name": job.creator,
            "run_as_user_name": job.creator,
            "created_time": job.created_ms,
            "settings": settings,
        }
        if not expand_tasks:
            settings.pop("tasks", None)
            settings.pop("job_clusters", None)
        elif limit_tasks and len(settings["tasks"]) > PAGE_SIZE_2_2:
            settings["tasks"] = settings["tasks"][:PAGE_SIZE_2_2]
            out["has_more"] = True
        return out

    # --- starting runs --------------------------------------------------------------------------------------
    def submit(self, req: Request) -> dict[str, Any]:
        body = req.json()
        spec = parse_submit(body, req.api_version, self.context.compute)
        token = parse_idempotency_token(body)
        with self._lock:
            existing = self._run_of_token(token)
            if existing is not None:
                return {"run_id": existing}
            # A one-time run belongs to a job of its own that jobs/list does not show (its id is in the run page URL).
            run = self._new_run(spec, next(self._ids), "SUBMIT_RUN")
            self._register(run, token)
        self.engine.start(run)
        return {"run_id": run.run_id}

    def run_now(self, req: Request) -> dict[str, Any]:
        body = req.json()
        job_id = req.field("job_id", int)
        token = parse_idempotency_token(body)
        overrides = Overrides(
            notebook_params=string_map(body, "notebook_params"),
            python_params=string_list(body, "python_params"),
            job_parameters=string_map(body, "job_parameters"),
        )
        if overrides.job_parameters is not None and (overrides.notebook_params or overrides.python_params):
            raise invalid_parameter(
                "Invalid run-now request: job_parameters cannot be combined with notebook_params or python_params"
            )
        only = string_list(body, "only")
        with self._lock:
            job = self._job(job_id)
            existing = self._run_of_token(token)
            if existing is not None:
                return {"run_id": existing, "number_in_job": existing}
            if not job.settings["tasks"]:
                raise invalid_parameter(f"Job {job_id} has no tasks to run; add tasks with jobs/update or jobs/reset")
            check_job_compute(job.settings, self.context.compute)
            job_parameters = resolve_job_parameters(job.settings.get("parameters"), overrides.job_parameters)
            run = self._new_run(run_spec_of_job(job.settings, only), job_id, "JOB_RUN", overrides, job_parameters)
            queue = body.get("queue") or job.settings.get("queue") or {}
            run.max_concurrent_runs = job.settings["max_concurrent_runs"]
            run.queue_enabled = bool(queue.get("enabled"))
            self._register(run, token)
        self.engine.start(run)
        return {"run_id": run.run_id, "number_in_job": run.run_id}

    def repair_run(self, req: Request) -> dict[str, Any]:
        """Re-run some tasks of an ended run inside it (jobs/repair.py says what follows Databricks and what not)."""
        body = req.json()
        run_id = req.field("run_id", int)
        given = [k for k in _REPAIR_OVERRIDES if body.get(k)]
        if given:
            raise invalid_parameter(
                f"The local workspace does not take {', '.join(given)} in runs/repair: repaired tasks run with the "
                "parameters of their first run"
            )
        with self._lock:
            run, task = self._find(run_id)
            if task is not None:
                raise invalid_parameter(f"Run {run_id} is a task run of run {run.run_id}; repair run {run.run_id}")
            keys = tasks_to_rerun(run, body)
            repair_id = next(self._ids)
            fresh = []
            for old in (run.task(k) for k in keys):
                new_id = next(self._ids)
                widgets, argv = dict(old.widgets), list(old.argv)
                fresh.append(TaskRun(new_id, old.spec, run.folder / str(new_id), widgets, argv))
                fresh[-1].attempt_number = old.attempt_number + 1
                self._task_runs[new_id] = (run, fresh[-1])
            begin(run, repair_id, fresh, now_ms())
        self.engine.start(run)
        return {"repair_id": repair_id}

    def _new_run(
        self,
        spec: RunSpec,
        job_id: int,
        run_type: str,
        overrides: Overrides | None = None,
        job_parameters: list[dict[str, Any]] | None = None,
    ) -> Run:
        overrides = overrides or Overrides()
        run_id = next(self._ids)
        folder = self.context.runs_root / str(run_id)
        job_values = {p["name"]: p["value"] for p in job_parameters or []}
        tasks = []
        for task_spec in spec.tasks:
            task_run_id = next(self._ids)
            refs = references(
                job_id=job_id,
                job_name=spec.run_name,
                run_id=run_id,
                task_run_id=task_run_id,
                task_key=task_spec.key,
                job_values=job_values,
                workspace_id=WORKSPACE_ID,
                host=self.context.host,
            )
            widgets, argv = task_inputs(task_spec, overrides, job_values, refs)
            tasks.append(TaskRun(task_run_id, task_spec, folder / str(task_run_id), widgets, argv))
        given = {"notebook_params": overrides.notebook_params, "python_params": overrides.python_params}
        overriding = {name: value for name, value in given.items() if value}
        return Run(
            run_id=run_id,
            job_id=job_id,
            run_type=run_type,
            spec=spec,
            folder=folder,
            creator=self.context.user_name,
            tasks=tasks,
            created_ms=now_ms(),
            job_parameters=job_parameters,
            overriding_parameters=overriding or None,
        )

    def _register(self, run: Run, token: str) -> None:
        self._runs[run.run_id] = run
        for task in run.tasks:
            self._task_runs[task.run_id] = (run, task)
        if token:
            self._tokens[token] = run.run_id

    def _run_of_token(self, token: str) -> int | None:
        """The run an idempotency token already started: retrying a start returns it instead of a new run."""
        if not token or token not in self._tokens:
            return None
        run_id = self._tokens[token]
        if run_id is None:
            raise invalid_parameter(
                f"The run started with idempotency_token '{token}' was deleted; use a new idempotency_token"
            )
        return run_id

    # --- reading runs ---------------------------------------------------------------------------------------
    def get_run(self, req: Request) -> dict[str, Any]:
        run_id = req.arg("run_id", int)
        host, version = self.context.host, req.api_version
        with self._lock:
            run, task = self._find(run_id)
            if task is not None:
                return task_as_run_json(run, task, host)
            if version == "2.0" and len(run.tasks) == 1:
                return legacy_run_json(run, host)
            if version != "2.2":
                out = run_json(run, host, run.tasks)
                if req.arg("include_history", bool, False):
                    out["repair_history"] = repair_history_json(run)
                return out
            page, start, next_token = _tasks_page(run.tasks, req)
            out = run_json(run, host, page)
            if req.arg("include_history", bool, False) and not start:  # repairs: few, all on the first page
                out["repair_history"] = repair_history_json(run)
        if start:  # the other paged arrays came whole with the first page
            out.pop("job_clusters", None)
            out.pop("job_parameters", None)
        if next_token:
            out["next_page_token"] = next_token
        return out

    def get_run_output(self, req: Request) -> dict[str, Any]:
        run_id = req.arg("run_id", int)
        host = self.context.host
        with self._lock:
            run, task = self._find(run_id)
            if task is not None:
                metadata = task_as_run_json(run, task, host)
            elif len(run.tasks) != 1:
                raise invalid_parameter(MULTI_TASK_OUTPUT)
            else:
                task = run.tasks[0]
                metadata = legacy_run_json(run, host) if req.api_version == "2.0" else run_json(run, host, run.tasks)
            outcome, output, ran = task.outcome, task.output, bool(task.running_ms)
        out: dict[str, Any] = {"metadata": metadata}
        if outcome is None:
            return out
        if task.spec.kind == "notebook_task" and not outcome.failed:
            out["notebook_output"] = {}
            if output.exit_value is not None:
                result, cut = truncate(output.exit_value)
                out["notebook_output"] = {"result": result, "truncated": cut}
        if output.error:
            out["error"] = output.error
            if output.error_trace:
                out["error_trace"] = output.error_trace
        if task.spec.kind != "notebook_task" and ran:
            out["logs"], out["logs_truncated"] = logs(task)
        return out

    def export_run(self, req: Request) -> dict[str, Any]:
        """runs/export: the notebook of a task run as it ran, a self-contained HTML page (render/)."""
        view = self.run_view(req.arg("run_id", int))
        return export_views(view, req.arg("views_to_export", str, "CODE"))

    def run_view(self, run_id: int) -> RunView:
        """A copy of a run (or of the run holding a task run) to make pages from without the lock."""
        with self._lock:
            run, task = self._find(run_id)
            return RunView.of(run, task)

    def recent_runs(self, limit: int) -> list[RunView]:
        with self._lock:
            runs = sorted(self._runs.values(), key=lambda r: (r.created_ms, r.run_id), reverse=True)[:limit]
            return [RunView.of(r) for r in runs]

    def list_runs(self, req: Request) -> dict[str, Any]:
        job_id = req.arg("job_id", int, None)
        active_only = req.arg("active_only", bool, False)
        completed_only = req.arg("completed_only", bool, False)
        if active_only and completed_only:
            raise invalid_parameter("Invalid request: active_only and completed_only cannot both be true")
        run_type = req.arg("run_type", str, "")
        if run_type and run_type not in RUN_TYPES:
            raise invalid_parameter(f"Invalid run_type '{run_type}': expected one of {', '.join(RUN_TYPES)}")
        limit = req.arg("limit", int, DEFAULT_PAGE) or MAX_RUNS_PAGE  # "a limit of 0 ... uses the maximum"
        if not 1 <= limit <= MAX_RUNS_PAGE:
            raise invalid_parameter(f"Invalid limit {limit}: it must be between 1 and {MAX_RUNS_PAGE}")
        time_from = req.arg("start_time_from", int, 0)
        time_to = req.arg("start_time_to", int, 0)
        expand = req.arg("expand_tasks", bool, False)
        start = _start(req)
        with self._lock:
            if job_id is not None:
                self._job(job_id)
            runs = [
                r
                for r in sorted(self._runs.values(), key=lambda r: (r.created_ms, r.run_id), reverse=True)
                if (job_id is None or r.job_id == job_id)
                and (not active_only or not r.done)
                and (not completed_only or r.done)
                and (not run_type or r.run_type == run_type)
                and r.created_ms >= time_from
                and (not time_to or r.created_ms <= time_to)
            ]
            page = [self._listed_run(r, expand, req.api_version) for r in runs[start : start + limit]]
        return _page(page, "runs", start, limit, len(runs))

    def _listed_run(self, run: Run, expand: bool, version: str) -> dict[str, Any]:
        host = self.context.host
        if version == "2.0" and len(run.tasks) == 1:
            return legacy_run_json(run, host)
        if not expand:
            return run_json(run, host)
        if version == "2.2" and len(run.tasks) > PAGE_SIZE_2_2:
            return {**run_json(run, host, run.tasks[:PAGE_SIZE_2_2]), "has_more": True}
        return run_json(run, host, run.tasks)

    def _find(self, run_id: int) -> tuple[Run, TaskRun | None]:
        """A run, or the run holding a task run, by id; the error Databricks gives for any other id."""
        run = self._runs.get(run_id)
        if run is not None:
            return run, None
        if run_id in self._task_runs:
            return self._task_runs[run_id]
        raise invalid_parameter(f"Run {run_id} does not exist.")

    # --- stopping and removing runs ------------------------------------------------------------------------
    def cancel_run(self, req: Request) -> dict[str, Any]:
        """Asynchronous, like Databricks: the ending shows in runs/get moments later; an ended run is left as is."""
        run_id = req.field("run_id", int)
        with self._lock:
            run, task = self._find(run_id)
        self.engine.cancel(run, task)
        return {}

    def delete_run(self, req: Request) -> dict[str, Any]:
        run_id = req.field("run_id", int)
        with self._lock:
            run, task = self._find(run_id)
            if task is not None:
                raise invalid_parameter(
                    f"Run {run_id} is a task run of run {run.run_id}; delete run {run.run_id} instead"
                )
            if not run.done:
                raise invalid_state(f"Run {run_id} is still active; cancel it (jobs/runs/cancel) before deleting it")
            del self._runs[run_id]
            for t in run.tasks:
                self._task_runs.pop(t.run_id, None)
            for token, owner in self._tokens.items():
                if owner == run_id:
                    self._tokens[token] = None
        remove_tree(run.folder)
        return {}


def _offset(token: str, field: str) -> int:
    """The position a page token points at (tokens are opaque to clients; 400 for one not made here)."""
    raw = decode_token(token, field)
    if not raw:
        return 0
    if not raw.isdigit():
        raise invalid_parameter(f"Invalid {field} '{token}': pass back the token a previous page gave")
    return int(raw)


def _job_id_in_path(req: Request) -> int:
    """The `{job_id}` of a permissions path. A job id is an integer (databricks-sdk Job.job_id); the answer to one
    that is not is ours, no public source giving Databricks' own."""
    raw = req.params["job_id"]
    if not raw.isdigit():
        raise invalid_parameter(f"Invalid job id '{raw}': a job id is a number")
    return int(raw)


def _tasks_page(items: list[T], req: Request) -> tuple[list[T], int, str | None]:
    """API 2.2's page of a run's or job's tasks: (the page, where it starts, the next page's token or None)."""
    start = _offset(req.arg("page_token", str, ""), "page_token")
    end = start + PAGE_SIZE_2_2
    return items[start:end], start, encode_token(str(end)) if end < len(items) else None


def _start(req: Request) -> int:
    """Where a list page starts: its page_token, else the deprecated `offset`."""
    token = req.arg("page_token", str, "")
    if token:
        return _offset(token, "page_token")
    offset = req.arg("offset", int, 0)
    if offset < 0:
        raise invalid_parameter(f"Invalid offset {offset}: it must be 0 or more")
    return offset


def _page(items: list[dict[str, Any]], name: str, start: int, limit: int, total: int) -> dict[str, Any]:
    """A list response: the items (left out when empty, as Databricks does), has_more and the page tokens."""
    out: dict[str, Any] = {"has_more": start + limit < total}
    if items:
        out[name] = items
    if out["has_more"]:
        out["next_page_token"] = encode_token(str(start + limit))
    if start:
        out["prev_page_token"] = encode_token(str(max(0, start - limit)))
    return out
