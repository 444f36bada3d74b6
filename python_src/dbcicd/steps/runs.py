"""Starting runs: notebooks as the tasks of ONE runs/submit, or run-now of an existing job.

Every start carries an idempotency token of the invocation (options/build.py), so an SDK retry of the call returns
the run it already started instead of starting a second one, while the next invocation starts its own.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError, NotFound
from databricks.sdk.service import jobs

from ..connect.apicalls import refused
from ..errors import ConfigurationError, RunFailed
from ..options.compute import Compute
from ..options.names import TASK_NAMES, Names

RESULTS_PARAMETER = "dbcicd_results_dir"
_TASK_KEY_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
MAX_TASK_KEY = 100
# A cluster holds at most 145 execution contexts, one per attached notebook, and attaches no more once they are all
# in use (Microsoft Learn, "Databricks notebook execution contexts"; "Resource limits": Clusters, attached notebooks
# or execution contexts, 145, fixed). Idle contexts are evicted to make room, so a run on one existing cluster stays
# within the limit by running at most this many of its notebooks at a time.
MAX_EXECUTION_CONTEXTS = 145
# How many jobs the hint of a jobName that matches none looks through: one page of jobs/list, the newest.
SIMILAR_JOBS_SCANNED = 100


def task_keys(relative_paths: list[str]) -> list[str]:
    """Readable, unique task keys from notebook paths: `tests/test_io` -> `tests_test_io`."""
    keys: list[str] = []
    for rel in relative_paths:
        base = _TASK_KEY_CHARS.sub("_", rel).strip("_")[:MAX_TASK_KEY] or "notebook"
        key, n = base, 2
        while key in keys:
            suffix = f"_{n}"
            key, n = base[: MAX_TASK_KEY - len(suffix)] + suffix, n + 1
        keys.append(key)
    return keys


def check_compute(client: WorkspaceClient, compute: Compute, label: Callable[[str], str] = str) -> None:
    """Fail before anything is created when existingClusterId names no cluster of the workspace."""
    if compute.kind != "existingCluster":
        return
    try:
        client.clusters.get(compute.existing_cluster_id)
    except NotFound:
        raise ConfigurationError(
            f"{label('existingClusterId')} '{compute.existing_cluster_id}' is not a cluster of this workspace: give "
            "the id of an existing cluster (the cluster's page, More > View JSON: cluster_id), or set "
            f"{label('compute')} to serverless or newCluster."
        ) from None


@dataclass
class NotebookRun:
    """The notebooks of one run and how to reach them: inside a Git folder, or at a commit via git_source."""

    run_name: str
    notebooks: list[str]  # workspace paths (Git folder) or paths relative to the repository root (git_source)
    base_folder: str  # the Git folder the notebooks live in ('' with git_source)
    parameters: dict[str, str]
    compute: Compute
    results_root: str  # the folder under which each task gets its own dbcicd_results_dir
    timeout_seconds: int
    git_source: jobs.GitSource | None = None
    task_keys: list[str] = field(default_factory=list)
    only: tuple[str, ...] = ()  # the task keys to run, when not all (a re-run of what failed: steps/rerun.py)

    def tasks(self) -> list[jobs.SubmitTask]:
        relative = [posixpath.relpath(p, self.base_folder) if self.base_folder else p for p in self.notebooks]
        self.task_keys = task_keys(relative)
        out = []
        for key, path in zip(self.task_keys, self.notebooks, strict=True):
            if self.only and key not in self.only:
                continue
            params = {**self.parameters, RESULTS_PARAMETER: posixpath.join(self.results_root, key)}
            task = jobs.SubmitTask(
                task_key=key,
                notebook_task=jobs.NotebookTask(
                    notebook_path=path,
                    base_parameters=params,
                    source=jobs.Source.GIT if self.git_source else jobs.Source.WORKSPACE,
                ),
                timeout_seconds=self.timeout_seconds or None,
            )
            self.compute.apply(task)
            out.append(task)
        return self._in_waves(out)

    def waves_note(self) -> str:
        """What the log says when the notebooks start in waves (more than MAX_EXECUTION_CONTEXTS of them on one
        existing cluster), else ''."""
        count = len(self.tasks())
        if self.compute.kind != "existingCluster" or count <= MAX_EXECUTION_CONTEXTS:
            return ""
        return (
            f"{count} notebooks on cluster {self.compute.existing_cluster_id}: starting at most "
            f"{MAX_EXECUTION_CONTEXTS} at a time, each further one when an earlier one ends, since a cluster holds at "
            f"most {MAX_EXECUTION_CONTEXTS} execution contexts (notebooks attached by others count too). Serverless "
            "or newCluster compute has no such limit."
        )

    def _in_waves(self, tasks: list[jobs.SubmitTask]) -> list[jobs.SubmitTask]:
        """On an existing cluster, task i from the 146th on waits for task i-145 to end, whatever its result
        (run_if ALL_DONE: a failure is reported, it does not skip the rest), so at most 145 notebooks run at once."""
        if self.compute.kind != "existingCluster":
            return tasks
        for earlier, task in zip(tasks, tasks[MAX_EXECUTION_CONTEXTS:], strict=False):
            task.depends_on = [jobs.TaskDependency(task_key=earlier.task_key)]
            task.run_if = jobs.RunIf.ALL_DONE
        return tasks


def submit(client: WorkspaceClient, spec: NotebookRun, idempotency_token: str) -> int:
    """Start the notebooks as one multi-task run; returns its run id."""
    try:
        waiter = client.jobs.submit(
            run_name=spec.run_name,
            tasks=spec.tasks(),
            git_source=spec.git_source,
            idempotency_token=idempotency_token,
            timeout_seconds=spec.timeout_seconds or None,
        )
    except DatabricksError as err:
        if refused(err):  # a 4xx: Databricks found the run's settings wrong, and started nothing
            raise ConfigurationError(
                f"Databricks refused the run: {err}. Nothing was started: check the compute settings, the notebooks "
                "and the parameters."
            ) from err
        raise RunFailed(f"Submitting the run failed: {err}") from err
    return int(waiter.run_id)  # type: ignore[arg-type]


def find_job(client: WorkspaceClient, job_id: int | None, job_name: str, names: Names = TASK_NAMES) -> jobs.Job:
    """The job named by `jobId` or `jobName`; a name matching zero or several jobs is an error listing them."""
    id_input, name_input = names.label("jobId"), names.label("jobName")
    if job_id is not None:
        try:
            return client.jobs.get(job_id)
        except DatabricksError as err:
            raise ConfigurationError(
                f"{id_input} {job_id}: {err} Check {id_input} (the number in the job's URL), or give {name_input} "
                "instead."
            ) from err
    # jobs/list's `name` is "a filter on the list based on the exact (case insensitive) job name" (Jobs API 2.2;
    # databricks-sdk JobsAPI.list), and the SDK follows next_page_token through every page of the matches.
    matches = list(client.jobs.list(name=job_name.strip(), limit=100))
    if len(matches) == 1:
        return client.jobs.get(int(matches[0].job_id))  # type: ignore[arg-type]
    if not matches:
        # The hint reads the newest page only: the SDK would otherwise walk every job of the workspace.
        newest = itertools.islice(client.jobs.list(limit=SIMILAR_JOBS_SCANNED), SIMILAR_JOBS_SCANNED)
        similar = [j for j in newest if job_name.strip().lower() in _job_name(j).lower()]
        hint = "; similar: " + ", ".join(f"'{_job_name(j)}' (id {j.job_id})" for j in similar[:10]) if similar else ""
        raise ConfigurationError(f"{name_input} '{job_name}' matches no job{hint}. Check the name or use {id_input}.")
    listed = ", ".join(f"id {j.job_id}" for j in matches[:20])
    raise ConfigurationError(
        f"{name_input} '{job_name}' matches {len(matches)} jobs ({listed}); use {id_input} to pick one."
    )


def _job_name(job: jobs.BaseJob) -> str:
    return (job.settings.name if job.settings else None) or ""


def job_results_route(job: jobs.Job) -> str:
    """How run-now can hand the job's notebook tasks `dbcicd_results_dir`: 'notebook_params' for a job without job
    parameters, 'job_parameters' for one that declares `dbcicd_results_dir` among them, '' when it cannot (a job with
    other job parameters only, or without notebook tasks) or should not (a task of the job names its own folder).

    Jobs API run-now (databricks-sdk service/jobs.py, JobsAPI.run_now): `notebook_params` is "a map from keys to values
    for jobs with notebook task", merged over each notebook task's base_parameters; its deprecation note sends callers
    to job parameters, which are pushed down to every notebook task and win over task parameters (Databricks, "Configure
    job parameters": Job parameter pushdown). A job that declares job parameters takes no task-level parameters at
    run-now (databricks/cli#1115, `bundle run`: "if task parameters are specified for a job that defines job
    parameters, it ... returns an error"), and run-now's `job_parameters` may name only declared parameters (the
    Jobs API refuses others), so such a job must declare `dbcicd_results_dir` itself.
    """
    settings = job.settings or jobs.JobSettings()
    if not any(task.notebook_task for task in settings.tasks or []) or names_own_results(settings):
        return ""
    declared = {p.name for p in settings.parameters or []}
    if not declared:
        return "notebook_params"
    return "job_parameters" if RESULTS_PARAMETER in declared else ""


def names_own_results(settings: jobs.JobSettings) -> bool:
    """Whether a notebook task of the job gives itself `dbcicd_results_dir` (its base_parameters): the job then says
    where its results go, and run-now passes none, as its `notebook_params` would replace that folder in every task."""
    notebook_tasks = [task.notebook_task for task in settings.tasks or [] if task.notebook_task]
    return any(RESULTS_PARAMETER in (task.base_parameters or {}) for task in notebook_tasks)


def run_job(
    client: WorkspaceClient, job: jobs.Job, parameters: Mapping[str, str], results_dir: str, idempotency_token: str
) -> int:
    """run-now: job-level parameters when the job declares them, notebook parameters otherwise; `results_dir` ('' for
    none) goes to the notebook tasks as `dbcicd_results_dir` the way `job_results_route` says."""
    route = job_results_route(job) if results_dir else ""
    given = {**parameters, RESULTS_PARAMETER: results_dir} if route else dict(parameters)
    declared = job.settings.parameters if job.settings else None
    try:
        waiter = client.jobs.run_now(
            job_id=int(job.job_id),  # type: ignore[arg-type]
            job_parameters=given if declared and given else None,
            notebook_params=given if given and not declared else None,
            idempotency_token=idempotency_token,
        )
    except DatabricksError as err:
        if refused(err):  # a 4xx: the job's settings or the parameters given are wrong; nothing was started
            raise ConfigurationError(f"Databricks refused to start job {job.job_id}: {err}") from err
        raise RunFailed(f"Starting job {job.job_id} failed: {err}") from err
    return int(waiter.run_id)  # type: ignore[arg-type]
