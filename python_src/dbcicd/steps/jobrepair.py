"""Re-running only what failed of a job's run: the run of the job that the step's earlier attempt started is
repaired in place, as Databricks does for job runs.

Databricks' mechanism for job runs is runs/repair (Jobs API `POST /api/2.2/jobs/runs/repair`; databricks-sdk
JobsAPI.repair_run): "Re-run one or more tasks. Tasks are re-run as part of the original job run. They use the current
job and task settings, and can be viewed in the history for the original job run." `rerun_all_failed_tasks` re-runs
every unsuccessful task; `rerun_dependent_tasks` adds "all tasks that depend on the tasks in rerun_tasks, even if they
were previously successful. Can be also used in combination with rerun_all_failed_tasks"; `latest_repair_id` "is not
required when repairing a run for the first time, but must be provided on subsequent requests" (runs/get with
include_history lists `repair_history`, each REPAIR item with its `id`).

Finding the earlier run. run-now takes no run name (Jobs API run-now request fields), so the mark a one-time run
carries in its name (steps/rerun.py RunMark) goes into the name of the run's results folder instead: every notebook
task of the job's run gets `dbcicd_results_dir=<...>/<tag>.step-<step>.<instance>.attempt-<n>`, and runs/list of the
job shows it again in each run's `overriding_parameters.notebook_params` or `job_parameters`. A job whose notebooks
get no `dbcicd_results_dir` (one that declares job parameters but not that one) carries no mark and runs whole.

Repaired tasks are sent no parameters: they run with those of their first run, so they write to the earlier attempt's
results folder, which the step makes again, reads and deletes as it does its own.
"""

from __future__ import annotations

import itertools
import posixpath
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError, PermissionDenied, Unauthenticated
from databricks.sdk.service import jobs

from ..output import Output, counted, task_state
from .rerun import KEPT_STATES, LOOKBACK_DAYS, MAX_RUNS_READ, MAX_RUNS_READ_FIRST_ATTEMPT, RUNS_PAGE, RunMark
from .runs import RESULTS_PARAMETER

if TYPE_CHECKING:
    from ..options.parse import Options

_FOLDER_MARK = re.compile(
    r"^(?P<tag>[0-9a-f]{10})\.step-(?P<step>[0-9a-f]{10})\.(?P<instance>[0-9a-f]{6})\.attempt-(?P<attempt>[0-9]+)$"
)


def job_run_mark(options: Options, job_id: int) -> RunMark:
    """This invocation's mark for a run of job `job_id`: the step is told by its build, command and job."""
    build = options.build
    return RunMark.of(
        build.build_id, build.job_attempt, build.step_id, build.invocation_tag, f"job {job_id}", options.command, ""
    )


def folder_name(mark: RunMark) -> str:
    """The name of the results folder of a job run: the mark, in characters a path keeps as they are."""
    return f"{mark.tag}.step-{mark.step}.{mark.instance}.attempt-{mark.attempt}"


def mark_of_folder(results_dir: str) -> RunMark | None:
    """The mark a job run's `dbcicd_results_dir` carries, or None for a folder that carries none."""
    match = _FOLDER_MARK.match(posixpath.basename(results_dir.rstrip("/")))
    if match is None:
        return None
    return RunMark(int(match["attempt"]), match["tag"], match["step"], match["instance"], "")


def run_parameters(run: jobs.BaseRun) -> dict[str, str]:
    """The parameters a run of a job was started with: run-now's notebook_params, or its job parameters' values."""
    if run.job_parameters:
        return {p.name: p.value if p.value is not None else p.default or "" for p in run.job_parameters if p.name}
    return dict((run.overriding_parameters.notebook_params if run.overriding_parameters else None) or {})


@dataclass
class JobRepair:
    """The earlier attempt's run of the job, to repair: its failed tasks and the results folder its tasks were given."""

    run: jobs.Run  # read with its repair history
    attempt: int  # the job attempt that started it
    results_dir: str
    failed: list[str]

    @property
    def run_id(self) -> int:
        return int(self.run.run_id)  # type: ignore[arg-type]

    def latest_repair_id(self) -> int | None:
        repairs = [item.id for item in self.run.repair_history or [] if item.type == jobs.RepairHistoryItemType.REPAIR]
        return repairs[-1] if repairs else None

    def note(self) -> str:
        """One line for the log and the summary: what the repair re-ran and what it kept."""
        kept = len(self.run.tasks or []) - len(self.failed)
        return (
            f"repaired run {self.run_id} (job attempt {self.attempt}): re-ran {', '.join(self.failed)} and the tasks "
            f"downstream of them; {counted(kept, 'task')} kept their results"
        )


def find_repairable(
    client: WorkspaceClient, output: Output, options: Options, job_id: int, parameters: dict[str, str]
) -> JobRepair | None:
    """The earlier attempt's run of this step's job, when only its failed tasks need to run again; None (saying why
    when the step runs again) for a full run. Only for a build, with `rerunFailedOnly` on."""
    if not options.rerun_failed_only or not options.build.build_id:
        return None
    mark = job_run_mark(options, job_id)
    found = _find_earlier(client, output, mark, job_id)
    if found is None:
        if mark.attempt > 1:
            output.info(f"No earlier run of job {job_id} by this step in {LOOKBACK_DAYS} days: running it whole")
        return None
    run, earlier, results_dir = found
    what = f"run {run.run_id} (job attempt {earlier.attempt})"
    if run.state and run.state.life_cycle_state == jobs.RunLifeCycleState.SKIPPED:
        # None of its tasks started (the job's concurrency limit, ...): a repair would re-run all of them, and
        # whether runs/repair takes a skipped run the Jobs API reference does not say; Airflow's Databricks provider
        # starts such a run afresh (apache/airflow#77015: "A SKIPPED run ... has nothing to repair").
        output.info(f"The earlier {what} of job {job_id} was skipped before any task started: running the job whole")
        return None
    failed = [t.task_key or "" for t in run.tasks or [] if task_state(t) not in KEPT_STATES]
    if not failed:
        output.info(f"The earlier {what} of job {job_id} had no failed tasks: running the job whole")
        return None
    given = {k: v for k, v in run_parameters(run).items() if k != RESULTS_PARAMETER}
    if given != {k: v for k, v in parameters.items() if k != RESULTS_PARAMETER}:
        output.info(f"Not repairing {what}: this attempt's parameters differ from its; running the job whole")
        return None
    return JobRepair(run, earlier.attempt, results_dir, failed)


def _find_earlier(
    client: WorkspaceClient, output: Output, mark: RunMark, job_id: int
) -> tuple[jobs.Run, RunMark, str] | None:
    """The latest ended run of the job that this step started in an earlier attempt (or an agent retry of this one),
    read with its repair history; its mark and results folder."""
    since = int((time.time() - LOOKBACK_DAYS * 86400) * 1000)
    most = MAX_RUNS_READ if mark.attempt > 1 else MAX_RUNS_READ_FIRST_ATTEMPT
    try:
        listed = client.jobs.list_runs(job_id=job_id, completed_only=True, start_time_from=since, limit=RUNS_PAGE)
        for candidate in itertools.islice(listed, most):
            results_dir = run_parameters(candidate).get(RESULTS_PARAMETER, "")
            earlier = mark_of_folder(results_dir)
            if earlier is not None and mark.may_continue(earlier) and candidate.run_id is not None:
                return client.jobs.get_run(candidate.run_id, include_history=True), earlier, results_dir
    except (Unauthenticated, PermissionDenied):
        raise  # the credentials are refused: nothing else would work either, and the step says so once
    except DatabricksError as err:
        output.warning(f"Could not read the earlier runs of job {job_id} ({err}): running the job whole")
    return None


def repair(client: WorkspaceClient, earlier: JobRepair) -> int:
    """runs/repair of the earlier run: its failed tasks and those downstream of them; the run's id (it stays)."""
    client.jobs.repair_run(
        earlier.run_id,
        rerun_all_failed_tasks=True,
        rerun_dependent_tasks=True,
        latest_repair_id=earlier.latest_repair_id(),
    )
    return earlier.run_id
