"""The four commands — repo, run, test, cleanup — on top of Git folders, runs and waiting.

Each returns an `Outcome` (outputs for later steps, the finished run for reporting) or raises a `DbcicdError`.
Whatever happens, a temporary Git folder and an active run started here are cleaned up before returning.
"""

from __future__ import annotations

import json
import posixpath
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError
from databricks.sdk.service import jobs

from ..connect.apicalls import api_error
from ..connect.refusals import explain_refusal
from ..errors import Cancelled, ConfigurationError, DbcicdError, RunFailed
from ..options.build import BuildContext, GitRef, parse_ref
from ..options.request import TaskRequest
from ..output import Output, retries_reported, task_state
from ..results.cases import first_line
from ..results.collect import ResultFile, collect, notebook_results_root
from ..results.junit import MAX_MESSAGE_CHARS, safe_text
from .gitfolders import GitFolder, GitFolders, check_folder_path, check_temp_parent, provider_for, public_url
from .notebooks import resolve, split_patterns
from .runs import Compute, NotebookRun, find_job, parse_parameters, run_job, submit
from .teardown import CLEANUP_BUDGET_S, InFlight, Teardown, cleanup_client
from .tempnames import repo_name_from_url, temporary_name
from .waiting import RunWatcher, WaitTimedOut

DEFAULT_TEMP_FOLDER = "/Repos/ci"
DEFAULT_TIMEOUT_MINUTES = 60.0
DEFAULT_OLDER_THAN_HOURS = 24.0
OUTPUT_FETCH_THREADS = 8


@dataclass
class Outcome:
    """What a command did: success, its output variables, and the run (with each task's output) if it ran one."""

    command: str
    success: bool = True
    message: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    run: jobs.Run | None = None
    task_outputs: dict[str, jobs.RunOutput] = field(default_factory=dict)
    base_folder: str = ""
    result_files: list[ResultFile] = field(default_factory=list)  # what notebooks wrote to dbcicd_results_dir


@dataclass
class Context:
    request: TaskRequest
    client: WorkspaceClient
    output: Output
    build: BuildContext
    teardown: Teardown

    @property
    def folders(self) -> GitFolders:
        return GitFolders(self.client, self.output)


def execute(request: TaskRequest, client: WorkspaceClient, output: Output) -> Outcome:
    """Run the request's command; clean-up registered along the way runs on every way out."""
    command = request.command
    build = BuildContext.from_variables(request.variables)
    if build.note:
        output.info(build.note)
    ctx = Context(request, client, output, build, Teardown(output))
    try:
        with retries_reported(output):
            cancelled = False
            try:
                return _COMMANDS[command](ctx)
            except Cancelled:
                cancelled = True
                raise
            finally:
                ctx.teardown.run(hurry=cancelled)  # its retries are reported too
    except (DatabricksError, DbcicdError) as err:
        explained = explain_refusal(err, request.inputs)
        if explained is not None:
            raise explained from err
        if isinstance(err, DatabricksError):
            raise api_error(err) from err
        raise


# --- inputs shared by several commands -----------------------------------------------------------------------
def _git_url(ctx: Context) -> str:
    url = ctx.request.text("gitUrl") or ctx.build.repository_url
    if not url:
        raise ConfigurationError("Input 'gitUrl' is required outside a pipeline (the repository to check out)")
    return url


def _ref(ctx: Context) -> tuple[GitRef, str]:
    """The branch or tag to check out, and the commit it is expected to be at ('' when unknown)."""
    branch, tag = ctx.request.text("branch"), ctx.request.text("tag")
    if branch and tag:
        raise ConfigurationError("Give either 'branch' or 'tag', not both")
    expected = ctx.request.text("commit")
    if tag:
        return GitRef("tag", tag.removeprefix("refs/tags/")), expected
    if branch:
        ref = parse_ref(branch, "branch")
        if not expected and ref == ctx.build.source_ref:
            expected = ctx.build.source_commit
        return ref, expected
    if ctx.build.source_ref is None:
        raise ConfigurationError("Input 'branch' or 'tag' is required outside a pipeline (which one to check out)")
    return ctx.build.source_ref, expected or ctx.build.source_commit


def _timeout_seconds(ctx: Context) -> int:
    minutes = ctx.request.number("timeoutMinutes", DEFAULT_TIMEOUT_MINUTES)
    if minutes <= 0:
        raise ConfigurationError(
            f"Input 'timeoutMinutes' must be greater than 0, got '{ctx.request.text('timeoutMinutes')}'"
        )
    return max(1, round(minutes * 60))


def _compute(ctx: Context) -> Compute:
    compute = Compute.from_inputs(
        ctx.request.text("compute"), ctx.request.text("existingClusterId"), ctx.request.text("newClusterJson")
    )
    compute.check(ctx.client)
    return compute


def _prepare_folder(ctx: Context, folder: GitFolder, ref: GitRef, expected: str) -> GitFolder:
    folder = ctx.folders.checkout(folder, ref)
    GitFolders.verify_head(folder, ref, expected)
    return folder


def _folder_outputs(folder: GitFolder) -> dict[str, str]:
    return {"repoId": str(folder.id), "repoPath": folder.path, "headCommit": folder.head_commit or ""}


# --- repo -----------------------------------------------------------------------------------------------------
def repo(ctx: Context) -> Outcome:
    """Point a (shared) Git folder at a branch or tag, creating it if missing."""
    path = check_folder_path(ctx.request.required("repoPath", "the Git folder to update, e.g. /Repos/ci/my-project"))
    url = _git_url(ctx)
    provider = provider_for(url, ctx.request.text("gitProvider"))
    ref, expected = _ref(ctx)
    folder = ctx.folders.ensure(path, url, provider, ctx.request.lines("sparseCheckout"))
    folder = _prepare_folder(ctx, folder, ref, expected)
    return Outcome("repo", outputs=_folder_outputs(folder), message=f"{path} is at {ref} ({folder.head_commit})")


# --- run ------------------------------------------------------------------------------------------------------
def run(ctx: Context) -> Outcome:
    """Run notebooks (in an existing Git folder, or at a commit via git_source) or an existing job."""
    notebooks = split_patterns(ctx.request.text("notebooks"))
    job_id, job_name = ctx.request.text("jobId"), ctx.request.text("jobName")
    if sum(map(bool, (notebooks, job_id, job_name))) != 1:
        raise ConfigurationError("Give exactly one of 'notebooks', 'jobId' or 'jobName' for the run command")
    parameters = parse_parameters(ctx.request.text("parameters"))
    timeout = _timeout_seconds(ctx)
    compute = _compute(ctx)
    if not notebooks:
        job = find_job(ctx.client, job_id, job_name)
        token = ctx.build.idempotency_token(f"run-now:{job.job_id}")
        ctx.output.info(f"Running job {job.job_id} ({job.settings.name if job.settings else ''})")
        run_id = run_job(ctx.client, job, parameters, token)
        return _wait_and_collect(ctx, "run", run_id, timeout, base_folder="")

    repo_path = ctx.request.text("repoPath")
    if repo_path:
        path = check_folder_path(repo_path)
        folder = ctx.folders.find(path)
        if folder is None:
            raise ConfigurationError(f"repoPath {path} does not exist: create it with the repo command first")
        spec = _notebook_run(
            ctx, folder.path, resolve(ctx.client, folder.path, notebooks), parameters, timeout, compute
        )
        outcome = _submit_and_wait(ctx, "run", spec)
        outcome.outputs.update(_folder_outputs(folder))
        return outcome
    return _run_at_commit(ctx, notebooks, parameters, timeout, compute)


def _run_at_commit(
    ctx: Context, notebooks: list[str], parameters: dict[str, str], timeout: int, compute: Compute
) -> Outcome:
    """No Git folder: Databricks checks out the exact commit itself (`git_source.git_commit`)."""
    url = _git_url(ctx)
    provider = provider_for(url, ctx.request.text("gitProvider"))
    ref, expected = _ref(ctx)
    if any(c in p for p in notebooks for c in "*?["):
        raise ConfigurationError(
            "notebooks globs need a Git folder to search: give repoPath, or list the notebooks without wildcards"
        )
    source = jobs.GitSource(git_url=public_url(url), git_provider=jobs.GitProvider(provider))
    if expected:
        source.git_commit = expected
    elif ref.kind == "tag":
        source.git_tag = ref.name
    else:
        source.git_branch = ref.name
    paths = [
        n.removeprefix("./").rsplit(".", 1)[0] if n.endswith((".py", ".ipynb")) else n.removeprefix("./")
        for n in notebooks
    ]
    spec = _notebook_run(ctx, "", paths, parameters, timeout, compute)
    spec.git_source = source
    ctx.output.info(f"Running from {public_url(url)} at {expected[:12] if expected else ref} (no Git folder)")
    return _submit_and_wait(ctx, "run", spec)


def _notebook_run(
    ctx: Context, base_folder: str, notebooks: list[str], parameters: dict[str, str], timeout: int, compute: Compute
) -> NotebookRun:
    tag = ctx.build.idempotency_token("results")[-10:]
    chosen = notebook_results_root(ctx.request.text("notebookResultsDir"))
    default = f"/Workspace{base_folder}/.dbcicd/results" if base_folder else "/dbfs/tmp/dbcicd/results"
    results_root = f"{chosen or default}/{tag}"
    label = posixpath.basename(base_folder) or repo_name_from_url(_git_url(ctx))
    build = f" build {ctx.build.build_id}" if ctx.build.build_id else ""
    return NotebookRun(
        run_name=f"dbcicd {label}{build} [{tag}]",
        notebooks=notebooks,
        base_folder=base_folder,
        parameters=parameters,
        compute=compute,
        results_root=results_root,
        timeout_seconds=timeout,
    )


def _submit_and_wait(ctx: Context, command: str, spec: NotebookRun) -> Outcome:
    token = ctx.build.idempotency_token(f"submit:{command}")
    quick = cleanup_client(ctx.client)
    submitting = InFlight(lambda: submit(ctx.client, spec, token))
    forget = ctx.teardown.add(
        f"cancel the run '{spec.run_name}'", lambda: _cancel_submitted(quick, submitting, spec.run_name)
    )
    run_id = submitting.result()
    forget()
    return _wait_and_collect(ctx, command, run_id, spec.timeout_seconds, spec.base_folder)


def _wait_and_collect(ctx: Context, command: str, run_id: int, timeout: int, base_folder: str) -> Outcome:
    quick = cleanup_client(ctx.client)
    forget = ctx.teardown.add(f"cancel run {run_id}", lambda: _cancel_if_active(quick, run_id))
    watcher = RunWatcher(ctx.client, ctx.output)
    try:
        finished = watcher.wait(run_id, timeout)
    except WaitTimedOut as err:
        ctx.output.warning(f"Run {run_id} did not finish within {timeout / 60:g} minutes: cancelling it")
        _cancel_if_active(ctx.client, run_id)
        raise RunFailed(
            f"Run {run_id} timed out after {timeout / 60:g} minutes and was cancelled ({err.run.run_page_url}). "
            "Raise timeoutMinutes if the run needs longer."
        ) from None
    forget()
    outcome = Outcome(command, run=finished, base_folder=base_folder)
    outcome.task_outputs = _task_outputs(ctx.client, finished, ctx.output)
    if ctx.request.flag("publishTestResults", True):
        # Now, before clean-up: a temporary Git folder takes the files written inside it along when deleted.
        outcome.result_files = collect(ctx.client, finished)
    outcome.outputs.update(_run_outputs(finished, outcome.task_outputs))
    outcome.success, outcome.message = _verdict(finished, outcome.task_outputs)
    return outcome


def _cancel_if_active(client: WorkspaceClient, run_id: int) -> None:
    run = client.jobs.get_run(run_id)
    if run.state and run.state.life_cycle_state not in (
        jobs.RunLifeCycleState.TERMINATED,
        jobs.RunLifeCycleState.SKIPPED,
        jobs.RunLifeCycleState.INTERNAL_ERROR,
    ):
        client.jobs.cancel_run(run_id)


def _cancel_submitted(client: WorkspaceClient, submitting: InFlight[int], run_name: str) -> None:
    """Cancel the run an interrupted or failed submit may have started: the one it answers with, else (no answer in
    time, or an error after the server may have acted) any active run of its unique name."""
    run_id = submitting.settled(CLEANUP_BUDGET_S)
    if run_id is not None:
        _cancel_if_active(client, run_id)
    else:
        _cancel_by_name(client, run_name)


def _cancel_by_name(client: WorkspaceClient, run_name: str) -> None:
    for candidate in client.jobs.list_runs(active_only=True, run_type=jobs.RunType.SUBMIT_RUN, limit=25):
        if candidate.run_name == run_name and candidate.run_id is not None:
            client.jobs.cancel_run(candidate.run_id)


def _task_outputs(client: WorkspaceClient, run: jobs.Run, output: Output) -> dict[str, jobs.RunOutput]:
    """get-output of every task run (the parent of a multi-task run has none), fetched concurrently. One that cannot
    be read is a warning: the task's state and test results stand, only its exit value (an output variable) is
    missing."""
    tasks = [t for t in run.tasks or [] if t.run_id is not None]
    if not tasks:
        return {}

    def fetch(task: jobs.RunTask) -> tuple[str, jobs.RunOutput]:
        key = task.task_key or str(task.run_id)
        try:
            return key, client.jobs.get_run_output(task.run_id)  # type: ignore[arg-type]
        except DatabricksError as err:
            output.warning(f"Could not read the output of task {key} ({err}): its exit value is not in the outputs")
            return key, jobs.RunOutput(error=f"Could not read the task's output: {err}")

    with ThreadPoolExecutor(max_workers=min(OUTPUT_FETCH_THREADS, len(tasks))) as pool:
        return dict(pool.map(fetch, tasks))


def _run_outputs(run: jobs.Run, outputs: dict[str, jobs.RunOutput]) -> dict[str, str]:
    results = {
        k: o.notebook_output.result for k, o in outputs.items() if o.notebook_output and o.notebook_output.result
    }
    if len(outputs) == 1:
        notebook_output = next(iter(results.values()), "")
    else:
        notebook_output = json.dumps(results) if results else ""
    return {
        "runId": str(run.run_id),
        "runPageUrl": run.run_page_url or "",
        "resultState": task_state(run),
        "notebookOutput": notebook_output,
    }


def _verdict(run: jobs.Run, outputs: dict[str, jobs.RunOutput]) -> tuple[bool, str]:
    life = run.state.life_cycle_state if run.state else None
    message = (run.state.state_message if run.state else "") or ""
    if life == jobs.RunLifeCycleState.SKIPPED:
        return False, f"Run {run.run_id} was skipped by Databricks: {message or 'no reason given'}"
    if life == jobs.RunLifeCycleState.INTERNAL_ERROR and not (run.state and run.state.result_state):
        return False, f"Run {run.run_id} ended with an internal error: {message or 'no reason given'}"
    # A run whose task failed also ends INTERNAL_ERROR (with result FAILED): report it task by task.
    state = task_state(run)
    if state == "SUCCESS":
        return True, f"Run {run.run_id} succeeded ({len(run.tasks or [])} tasks)"
    failed = []
    for task in run.tasks or []:
        if task_state(task) in ("SUCCESS", "EXCLUDED"):
            continue
        error = outputs.get(task.task_key or "", jobs.RunOutput()).error or (
            task.state.state_message if task.state else ""
        )
        first = safe_text(first_line(error or ""), MAX_MESSAGE_CHARS)
        failed.append(f"{task.task_key}: {task_state(task)}" + (f" - {first}" if first else ""))
    detail = "; ".join(failed[:10]) + (f"; and {len(failed) - 10} more" if len(failed) > 10 else "")
    return False, f"Run {run.run_id} {state}: {detail or message}"


# --- test -----------------------------------------------------------------------------------------------------
def test(ctx: Context) -> Outcome:
    """The blog's workflow in one step: temporary Git folder at this commit, run the tests, always delete it."""
    url = _git_url(ctx)
    provider = provider_for(url, ctx.request.text("gitProvider"))
    ref, expected = _ref(ctx)
    notebooks = split_patterns(ctx.request.required("notebooks", "the test notebooks, e.g. tests/test_*"))
    parameters = parse_parameters(ctx.request.text("parameters"))
    timeout = _timeout_seconds(ctx)
    compute = _compute(ctx)  # validate before anything is created
    parent = check_temp_parent(ctx.request.text("tempFolder", DEFAULT_TEMP_FOLDER))
    path = f"{parent}/{temporary_name(repo_name_from_url(url), ctx.build.build_id, ctx.build.job_attempt)}"

    folders = ctx.folders
    quick = GitFolders(cleanup_client(ctx.client), ctx.output)
    creating = InFlight(lambda: folders.ensure(path, url, provider, ctx.request.lines("sparseCheckout"), new_path=True))
    ctx.teardown.add(
        f"delete the temporary Git folder {path}", lambda: _delete_temporary(quick, creating, path, ctx.output)
    )
    folder = creating.result()
    folder = _prepare_folder(ctx, folder, ref, expected)
    spec = _notebook_run(ctx, folder.path, resolve(ctx.client, folder.path, notebooks), parameters, timeout, compute)
    outcome = _submit_and_wait(ctx, "test", spec)
    outcome.outputs.update(_folder_outputs(folder))
    return outcome


def _delete_temporary(folders: GitFolders, creating: InFlight[GitFolder], path: str, output: Output) -> None:
    creating.settled(CLEANUP_BUDGET_S)  # a create still under way would make the folder after it was looked for
    if folders.delete_at(path):
        output.info(f"Deleted the temporary Git folder {path}")


# --- cleanup --------------------------------------------------------------------------------------------------
def cleanup(ctx: Context) -> Outcome:
    """Delete temporary Git folders older than `olderThanHours` under `tempFolder` (only ones this tool made)."""
    hours = ctx.request.number("olderThanHours", DEFAULT_OLDER_THAN_HOURS, minimum=0)
    parent = check_temp_parent(ctx.request.text("tempFolder", DEFAULT_TEMP_FOLDER))
    deleted, kept = ctx.folders.cleanup(parent, timedelta(hours=hours))
    message = f"Deleted {len(deleted)} temporary Git folder(s) older than {hours:g} h under {parent}; {kept} kept"
    ctx.output.info(message)
    return Outcome("cleanup", message=message, outputs={"deletedCount": str(len(deleted))})


_COMMANDS = {"repo": repo, "run": run, "test": test, "cleanup": cleanup}
__all__ = ["Cancelled", "Outcome", "execute"]
