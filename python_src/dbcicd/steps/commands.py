"""The four commands — repo, run, test, cleanup — on top of Git folders, runs and waiting.

Each returns an `Outcome` (outputs for later steps, the finished run for reporting) or raises a `DbcicdError`.
Whatever happens, a temporary Git folder and an active run started here are cleaned up before returning.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import posixpath
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError, NotFound
from databricks.sdk.service import jobs

from ..connect.apicalls import api_error
from ..connect.refusals import explain_refusal
from ..errors import EXIT_BUNDLE, EXIT_FAILED, Cancelled, ConfigurationError, DbcicdError
from ..options.git import public_url
from ..options.notebooks import notebook_path
from ..options.parse import GitSource, Options
from ..output import Output, counted, duration_words, retries_reported, task_state
from ..results import folders
from ..results.cases import UNFINISHED_STATES, first_line
from ..results.collect import ResultFile, collect
from ..results.junit import MAX_MESSAGE_CHARS
from ..results.rendered import RenderedPage, export_pages
from ..untrusted import untrusted_text
from . import bundle as bundles
from . import folderhead
from .bundlediag import Issue
from .gitfolders import GitFolder, GitFolders, default_temp_parent
from .jobrepair import find_repairable, folder_name, job_run_mark, repair
from .leftovers import find_leftovers, remove
from .notebooks import check_in_checkout, resolve
from .notstarted import not_started_outputs, not_started_run
from .ownership import RunOwner
from .rerun import Earlier, RerunPlan, find_to_continue, has_tasks_to_rerun, may_follow, prepare
from .runs import (
    RESULTS_PARAMETER,
    NotebookRun,
    check_compute,
    find_job,
    job_results_route,
    names_own_results,
    run_job,
    submit,
)
from .teardown import CLEANUP_BUDGET_S, InFlight, NothingMade, Teardown, cleanup_client
from .tempnames import repo_name_from_url, temporary_name
from .upload import Upload, commit_files, read_contents
from .waiting import TERMINAL, RunWatcher, WaitTimedOut

OUTPUT_FETCH_THREADS = 8
SETTLE_S = 30.0  # how long a run cancelled at its timeout is given to stop before what it left is collected
SETTLE_POLL_S = 0.1
# How a step that ended before its run did says so in the test case of each task it left unfinished.
CANCELLED = "Cancelled: the step was cancelled before the run ended"
STOPPED = "Not finished: the step failed before the run ended"
INTERNAL_ERROR = "Not finished: an internal error of dbcicd stopped the step before the run ended"
EVIDENCE_SETTLE_S = 0.3  # of EVIDENCE_BUDGET_S: for a run just cancelled to say it has ended
EVIDENCE_BUDGET_S = 1.0  # of a cancelled step's CLEANUP_BUDGET_S: reading what the run left, after cancelling it
TIMED_OUT = jobs.RunResultState.TIMEDOUT.value
TIMED_OUT_MESSAGE = "Stopped after reaching the step's timeout"


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
    rerun_note: str = ""  # what a re-run of the failed tasks ran and saved (steps/rerun.py)
    task_attempts: dict[str, tuple[int, int]] = field(default_factory=dict)  # task -> (job attempt, run id)
    pages: list[RenderedPage] = field(default_factory=list)  # rendered notebooks, as exportNotebooks asks
    interrupted: str = ""  # how the step ended before the run did: "Timed out after 5 minutes", "Cancelled", ...
    issues: list[Issue] = field(default_factory=list)  # what the Databricks CLI said about a bundle's files
    summary: str = ""  # Markdown of a command that ran no run (a bundle deploy)
    failure_exit: int = EXIT_FAILED  # the exit code should it fail: EXIT_BUNDLE when the Databricks CLI's command did
    others: list[Outcome] = field(default_factory=list)  # the other runs of a step running several bundle jobs

    def published(self) -> list[Outcome]:
        """This outcome and the others, each published on its own."""
        return [self, *self.others]


@dataclass
class CleanUpRecord:
    """What clean-up did, so that a cancelled command ends saying it: "the run 12 was cancelled and the temporary Git
    folder /Repos/ci/x was deleted", or what is left to check by hand."""

    started: bool = False  # something was registered for clean-up: the workspace was asked to make something
    done: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # registered, neither done nor known to be unneeded

    def closing_line(self) -> str:
        if not self.started:
            return "Cancelled before anything was started in the workspace"
        line = "Cancelled: " + (" and ".join(self.done) if self.done else "nothing was left to clean up")
        if self.pending:
            line += f"; clean-up did not finish ({'; '.join(self.pending)}): see the warnings above"
        return line


@dataclass
class Context:
    options: Options
    inputs: Mapping[str, str]  # as given, for explaining the workspace's refusals
    client: WorkspaceClient
    output: Output
    teardown: Teardown
    cleaned: CleanUpRecord = field(default_factory=CleanUpRecord)
    evidence: Outcome | None = None  # what a run left when the command could not finish it (cancel, an error)
    results_for_later: bool = False  # the run's results folder is one a later job attempt may read (`may_follow`)
    keep_results: bool = False  # ... and the run has tasks that attempt runs again: it reads the kept tasks' files
    finished: list[Outcome] = field(default_factory=list)  # runs of several bundle jobs that ended, in order

    @functools.cached_property
    def user_name(self) -> str:
        """The signed-in identity's user name (SCIM Me), read once per command: its home folder holds the default
        tempFolder and the default results folder."""
        return self.client.current_user.me().user_name or ""

    @property
    def folders(self) -> GitFolders:
        options = self.options
        return GitFolders(
            self.client, self.output, options.clone_timeout_seconds, options.names.mention("cloneTimeoutSeconds")
        )

    def on_teardown(self, description: str, action: Callable[[], str]) -> Callable[[], None]:
        """Register a clean-up action that returns what it did ('' for nothing); returns the function that
        unregisters it. What it did goes into `cleaned`."""
        record = self.cleaned
        record.started = True
        record.pending.append(description)

        def settle() -> None:
            if description in record.pending:
                record.pending.remove(description)

        def run() -> None:
            try:
                done = action()
            except NothingMade:
                settle()
                raise
            settle()
            if done:
                record.done.append(done)

        forget = self.teardown.add(description, run)

        def unregister() -> None:
            settle()
            forget()

        return unregister


def execute(options: Options, inputs: Mapping[str, str], client: WorkspaceClient, output: Output) -> Outcome:
    """Run the command `options` ask for; clean-up registered along the way runs on every way out."""
    for note in (options.build.note, options.git.note if options.git else ""):
        if note:
            output.info(note)
    ctx = Context(options, inputs, client, output, Teardown(output))
    try:
        with retries_reported(output):
            if not options.temp_folder and _uses_temp_folder(options):
                ctx.options = dataclasses.replace(options, temp_folder=default_temp_parent(ctx.user_name))
            cancelled = False
            try:
                return _COMMANDS[options.command](ctx)
            except Cancelled as err:
                cancelled = True
                output.warning(f"{err.message} (at most {CLEANUP_BUDGET_S:g} s)")
                raise
            finally:
                ctx.teardown.run(hurry=cancelled)  # its retries are reported too
    except Cancelled as err:  # the closing line: what the cancel left behind, if anything
        raise _with_evidence(Cancelled(ctx.cleaned.closing_line()), ctx, CANCELLED) from err
    except (DatabricksError, DbcicdError) as err:
        explained = explain_refusal(err, inputs)
        if explained is not None:
            raise _with_evidence(explained, ctx, STOPPED) from err
        if isinstance(err, DatabricksError):
            raise _with_evidence(api_error(err), ctx, STOPPED) from err
        raise _with_evidence(err, ctx, STOPPED)  # noqa: B904 - the error itself, its own cause kept
    except Exception as err:  # a bug: entry/session.py reports it as one, after publishing what the run left
        raise _with_evidence(err, ctx, INTERNAL_ERROR)  # noqa: B904


def _with_evidence(err: BaseException, ctx: Context, interrupted: str) -> BaseException:
    """`err`, carrying what the run it stopped left (`evidence_of`), which says how the step ended, and the runs of
    the bundle jobs that ended before it (`Context.finished`), published with it."""
    finished = [outcome for outcome in ctx.finished if outcome is not ctx.evidence]
    evidence = ctx.evidence or (finished.pop(0) if finished else None)
    if evidence is not None:
        evidence.others = finished
        evidence.success, evidence.interrupted = False, interrupted
        run = evidence.run
        if interrupted == CANCELLED and run is not None and task_state(run) in UNFINISHED_STATES:
            evidence.outputs["resultState"] = jobs.RunResultState.CANCELED.value  # what clean-up asked of it
        evidence.message = first_line(str(err))
        err.evidence = evidence  # type: ignore[attr-defined]
    return err


def evidence_of(err: BaseException) -> Outcome | None:
    """What the run an error stopped left, to publish before the error is reported; None if nothing was read."""
    evidence = getattr(err, "evidence", None)
    return evidence if isinstance(evidence, Outcome) else None


def _git(ctx: Context) -> GitSource:
    git = ctx.options.git
    assert git is not None, "parse_options gives repo, test and run at a commit their Git source"
    return git


def _prepare_folder(ctx: Context, folder: GitFolder, git: GitSource) -> GitFolder:
    folder = ctx.folders.checkout(folder, git.ref)
    local = ctx.options.names.cli and not ctx.options.build.build_id  # a developer's commit, not a build's
    GitFolders.verify_head(folder, git.ref, git.expected_commit, local)
    return folder


def _folder_outputs(folder: GitFolder) -> dict[str, str]:
    return {"repoId": str(folder.id), "repoPath": folder.path, "headCommit": folder.head_commit or ""}


# --- repo -----------------------------------------------------------------------------------------------------
def repo(ctx: Context) -> Outcome:
    """Point a (shared) Git folder at a branch or tag, creating it if missing."""
    git, path = _git(ctx), ctx.options.repo_path
    folder = ctx.folders.ensure(path, git.url, git.provider, list(git.sparse_checkout))
    folder = _prepare_folder(ctx, folder, git)
    return Outcome("repo", outputs=_folder_outputs(folder), message=f"{path} is at {git.ref} ({folder.head_commit})")


# --- run ------------------------------------------------------------------------------------------------------
def run(ctx: Context) -> Outcome:
    """Run notebooks (in an existing Git folder, or at a commit via git_source) or an existing job."""
    options = ctx.options
    check_compute(ctx.client, options.compute, options.names.label)
    if options.source == "upload":
        return _run_uploaded(ctx)
    if options.bundle is not None:
        return _run_bundle_jobs(ctx)
    folder = _shared_folder(ctx) if options.repo_path else None
    if not options.notebooks:
        return _held(ctx, folder, _run_job(ctx))
    if folder is not None:
        spec = _notebook_run(ctx, folder.path, resolve(ctx.client, folder.path, options.notebooks), shared=True)
        return _held(ctx, folder, _submit_and_wait(ctx, spec, folder.path, folder.head_commit or ""))
    return _run_at_commit(ctx)


def _shared_folder(ctx: Context) -> GitFolder:
    """The Git folder `run` runs code in (`repoPath`), refused unless it is at the commit being built."""
    options = ctx.options
    folder = ctx.folders.find(options.repo_path)
    if folder is None:
        raise ConfigurationError(
            f"{options.names.label('repoPath')} {options.repo_path} does not exist: create it with the repo "
            "command first"
        )
    assert options.folder_head is not None, "parse_options gives run in a Git folder the commit it must be at"
    commit = folderhead.expected_commit(folder, options.folder_head, ctx.output, options.names)
    folderhead.require_head(folder, commit, options.folder_head, options.names)
    return folder


def _held(ctx: Context, folder: GitFolder | None, outcome: Outcome) -> Outcome:
    """The outcome of a run in `folder`, failed if the folder's head moved while the run ran (steps/folderhead.py)."""
    if folder is None:
        return outcome
    outcome.outputs.update(_folder_outputs(folder))
    waived = ctx.options.folder_head is not None and ctx.options.folder_head.waived
    if outcome.run is not None and not waived:
        moved = folderhead.moved_during_run(folder, ctx.folders.find(folder.path), outcome.run.run_id or 0)
        if moved:
            outcome.success, outcome.message = False, moved
    return outcome


def _run_job(ctx: Context) -> Outcome:
    """run-now of an existing job, or, on a re-run of the step, a repair of the run its earlier attempt started
    (steps/jobrepair.py). The start's answer is awaited in a thread of its own, with the cancel registered first, so a
    cancel while it is under way still stops the run it starts."""
    options = ctx.options
    job = find_job(ctx.client, options.job_id, options.job_name, options.names)
    job_id = int(job.job_id)  # type: ignore[arg-type]
    ctx.output.info(f"Running job {job_id} ({job.settings.name if job.settings else ''})")
    owner = RunOwner.of_job(job_id)
    earlier = find_repairable(ctx.client, ctx.output, options, job_id, dict(options.parameters))
    if earlier is not None:
        ctx.output.info(f"Re-run: {earlier.note()}")
        _results_folder_of(ctx, earlier.results_dir)
        outcome = _wait_started(ctx, InFlight(lambda: repair(ctx.client, earlier)), owner, base_folder="")
        outcome.rerun_note = earlier.note()
        return outcome
    token = options.build.idempotency_token(f"run-now:{job_id}")
    results_dir = _job_results_dir(ctx, job, folder_name(job_run_mark(options, job_id)))
    starting = InFlight(lambda: run_job(ctx.client, job, options.parameters, results_dir, token))
    settings = job.settings or jobs.JobSettings()
    # The run's name as Databricks gives a job's runs (the job's), with the invocation's tag: it names the files
    # published for it, which no other step of the build may overwrite.
    run_name = f"{settings.name or f'job {job_id}'} [{options.build.invocation_tag}]"
    unstarted = functools.partial(not_started_run, run_name, settings.tasks or [])
    return _wait_started(ctx, starting, owner, base_folder="", unstarted=unstarted)


def _job_results_dir(ctx: Context, job: jobs.Job, name: str) -> str:
    """The `dbcicd_results_dir` every notebook task of the job's run gets (a folder `name`d with the step's mark),
    made ready; '' when run-now cannot give it (steps/runs.py job_results_route), which a job with job parameters is
    warned about with the line that fixes it. run-now's parameters are the run's, not a task's: the job's notebook
    tasks share the folder, so each writes a file name of its own."""
    options = ctx.options
    route = job_results_route(job)
    if not route:
        settings = job.settings or jobs.JobSettings()
        if (
            settings.parameters
            and any(task.notebook_task for task in settings.tasks or [])
            and not names_own_results(settings)
        ):
            ctx.output.warning(
                f"Job {job.job_id} declares job parameters, so Databricks passes its notebooks no other run "
                f"parameter and they get no {RESULTS_PARAMETER}: no test results or coverage come from them. Declare "
                f"it in the job's parameters; in the bundle, under resources.jobs.<key>.parameters: "
                f'- {{name: {RESULTS_PARAMETER}, default: ""}}'
            )
        return ""
    results = folders.choose(lambda: ctx.user_name, options.notebook_results_dir, "", False, name)
    return _results_folder_of(ctx, results.root)


def _results_folder_of(ctx: Context, root: str) -> str:
    """Make a job run's results folder ready: the step's own (no notebookResultsDir) is made now and deleted once
    read; a folder under notebookResultsDir is the user's."""
    if not ctx.options.notebook_results_dir:
        _make_results_folder(ctx, folders.ResultsFolder(root, made_here=True), [root])
    return root


def _run_at_commit(ctx: Context) -> Outcome:
    """No Git folder: Databricks checks out the exact commit itself (`git_source.git_commit`)."""
    git = _git(ctx)
    check_in_checkout(ctx.options.source_dir, git.expected_commit, ctx.options.notebooks)
    source = jobs.GitSource(git_url=public_url(git.url), git_provider=jobs.GitProvider(git.provider))
    if git.expected_commit:
        source.git_commit = git.expected_commit
    elif git.ref.kind == "tag":
        source.git_tag = git.ref.name
    else:
        source.git_branch = git.ref.name
    spec = _notebook_run(ctx, "", [notebook_path(n) for n in ctx.options.notebooks])
    spec.git_source = source
    at = git.expected_commit[:12] if git.expected_commit else git.ref
    ctx.output.info(f"Running from {public_url(git.url)} at {at} (no Git folder)")
    return _submit_and_wait(ctx, spec, public_url(git.url), git.expected_commit)


def _notebook_run(ctx: Context, base_folder: str, notebooks: list[str], shared: bool = False) -> NotebookRun:
    """The run's spec, its results folder made ready (`shared`: `base_folder` outlives the step). Its name and results
    folder carry this invocation's tag: the name proves the run is ours, and results written by another invocation's
    run can never be read as this one's."""
    options = ctx.options
    build = options.build
    tag = build.invocation_tag
    later = may_follow(options) and not options.notebook_results_dir
    dated = temporary_name(f"results-{tag}", build.build_id, build.job_attempt) if later else ""
    results = folders.choose(lambda: ctx.user_name, options.notebook_results_dir, base_folder, shared, tag, dated)
    ctx.results_for_later = later
    label = posixpath.basename(base_folder) or (repo_name_from_url(options.git.url) if options.git else "notebooks")
    of_build = f" build {build.build_id}" if build.build_id else ""
    spec = NotebookRun(
        run_name=f"dbcicd {label}{of_build} [{tag}]",
        notebooks=notebooks,
        base_folder=base_folder,
        parameters=dict(options.parameters),
        compute=options.compute,
        results_root=results.root,
        timeout_seconds=options.timeout_seconds,
    )
    if results.made_here:
        task_dirs = [t.notebook_task.base_parameters[RESULTS_PARAMETER] for t in spec.tasks() if t.notebook_task]
        _make_results_folder(ctx, results, task_dirs)
    return spec


def _make_results_folder(ctx: Context, results: folders.ResultsFolder, task_dirs: list[str]) -> None:
    """Make the step's own results folder with each task's folder in it, and delete it (after the results are read)
    on every way out — but when a later job attempt will read what the kept tasks wrote (`ctx.keep_results`)."""
    quick = cleanup_client(ctx.client)
    making = InFlight(lambda: folders.make(ctx.client, results, task_dirs, ctx.options.names))

    def delete() -> str:
        if ctx.keep_results:
            return f"the results folder {results.root} was kept for the job's next attempt"
        making.settled(CLEANUP_BUDGET_S)  # a mkdirs still under way would make the folder after it was deleted
        return folders.remove(quick, results)

    ctx.on_teardown(f"delete the results folder {results.root}", delete)
    making.result()


def _submit_and_wait(
    ctx: Context, spec: NotebookRun, source: str = "", commit: str = "", earlier: Earlier | None = None
) -> Outcome:
    """Submit `spec` and wait. `source` (the repository or Git folder) and `commit` name the step's runs so that a
    re-run of the step finds them; `earlier`: test and upload have looked for the run to continue already."""
    options = ctx.options
    searched = options.command == "test" or options.source == "upload"  # they looked for it before making a folder
    plan = prepare(ctx.client, ctx.output, options, spec, source, commit, earlier, search=not searched)
    if note := spec.waves_note():
        ctx.output.info(note)
    token = options.build.idempotency_token(f"submit:{options.command}")
    submitting = InFlight(lambda: submit(ctx.client, spec, token))
    unstarted = functools.partial(not_started_run, spec.run_name, spec.tasks())
    owner = RunOwner.named(spec.run_name)
    return _wait_started(ctx, submitting, owner, spec.base_folder, spec.run_name, plan, unstarted)


def _wait_started(
    ctx: Context,
    starting: InFlight[int],
    owner: RunOwner,
    base_folder: str,
    run_name: str = "",
    plan: RerunPlan | None = None,
    unstarted: Callable[[str], jobs.Run] | None = None,
) -> Outcome:
    """Wait for the run `starting` starts, and collect it. Its cancel is registered before the start is awaited and
    stays registered until the run has ended, so no signal finds a started run that clean-up does not know of; it
    cancels only a run proven to be this invocation's. `unstarted`: the run as asked for, given why it did not
    start, which is what the step publishes when Databricks refuses to start it (steps/notstarted.py)."""
    quick = cleanup_client(ctx.client)
    # Registered before the cancel, so that teardown (last in, first out) reads the run once it is cancelled and
    # before the folders holding its files are deleted.
    keep_nothing = ctx.teardown.add(
        "read what the run left, for the report",
        lambda: _read_evidence(ctx, quick, starting, base_folder),
        hurried_budget=EVIDENCE_BUDGET_S,
    )
    forget = ctx.on_teardown(
        f"cancel the run '{run_name}'" if run_name else f"cancel the run of {owner.description}",
        lambda: _cancel_started(quick, starting, owner, run_name, ctx.output),
    )
    try:
        run_id = starting.result()
    except ConfigurationError as err:  # Databricks refused the start (a 4xx, steps/runs.py): it started nothing
        if unstarted is not None:
            _not_started(ctx, unstarted(first_line(str(err))), base_folder, plan)
        raise
    timeout = ctx.options.timeout_seconds
    watcher = RunWatcher(ctx.client, ctx.output)
    try:
        finished = watcher.wait(run_id, timeout, check=owner.check)
    except WaitTimedOut as err:
        ctx.output.warning(f"Run {run_id} did not finish within {duration_words(timeout)}: cancelling it")
        _cancel_if_active(ctx.client, run_id)
        settled = _settled(ctx.client, run_id, err.run, SETTLE_S)
        outcome = _collect(ctx, run_id, _timed_out(settled), base_folder, plan)
        forget()
        keep_nothing()
        outcome.success, outcome.outputs["resultState"] = False, TIMED_OUT
        outcome.interrupted = f"Timed out after {duration_words(timeout)} ({ctx.options.names.label('timeoutMinutes')})"
        outcome.message = (
            f"Run {run_id} timed out after {duration_words(timeout)} and was cancelled ({err.run.run_page_url}). "
            f"Raise {ctx.options.names.label('timeoutMinutes')} if the run needs longer."
        )
        return outcome
    forget()
    outcome = _collect(ctx, run_id, finished, base_folder, plan)
    keep_nothing()
    return outcome


def _not_started(ctx: Context, run: jobs.Run, base_folder: str, plan: RerunPlan | None) -> None:
    """The evidence of a run Databricks refused to start, into `ctx.evidence`. On a re-run of what failed, the whole
    run: the tasks kept from earlier attempts with their results and notebook-written files, beside the ones that did
    not start, which the job's next attempt runs again (theirs is no kept state, steps/rerun.py). Reading the kept
    files is best effort: the refusal is what the step reports."""
    evidence = Outcome(ctx.options.command, success=False, base_folder=base_folder, outputs=not_started_outputs())
    evidence.run = plan.merged(run) if plan is not None else run
    ctx.evidence = evidence
    if plan is None:
        return
    evidence.task_attempts = {kept.task.task_key or "": (kept.attempt, kept.run_id) for kept in plan.kept}
    evidence.rerun_note = plan.note()
    kept = dataclasses.replace(run, tasks=[kept.task for kept in plan.kept])
    try:
        evidence.task_outputs = _task_outputs(ctx.client, kept, ctx.output)
        if ctx.options.publish_test_results:
            evidence.result_files = collect(ctx.client, kept, ctx.options.names)
    except DatabricksError as err:
        ctx.output.warning(f"Could not read what the earlier attempts' tasks wrote ({err}): not published")


def _read_evidence(ctx: Context, client: WorkspaceClient, starting: InFlight[int], base_folder: str) -> None:
    """What a run the command could not finish left — its state, each task's output, the files its notebooks wrote,
    its pages — into `ctx.evidence`, piece by piece, so that whatever was read when the budget ran out is
    published (entry/session.py). Nothing when the run never started."""
    run_id = starting.settled(0)
    if run_id is None:
        return
    options = ctx.options
    run = _settled(client, run_id, client.jobs.get_run(run_id), EVIDENCE_SETTLE_S)
    evidence = Outcome(options.command, success=False, run=run, base_folder=base_folder)
    evidence.outputs.update(_run_outputs(run, {}))
    ctx.evidence = evidence
    evidence.task_outputs = _task_outputs(client, run, ctx.output)
    evidence.outputs.update(_run_outputs(run, evidence.task_outputs))
    if options.publish_test_results:
        evidence.result_files = collect(client, run, options.names)
    evidence.pages = export_pages(client, run, options.export_notebooks)


def _settled(client: WorkspaceClient, run_id: int, last: jobs.Run, seconds: float) -> jobs.Run:
    """The cancelled run once it has ended (its tasks stopped, so their pages hold all they printed), or as it is
    after `seconds` if it has not."""
    deadline = time.monotonic() + seconds
    run = last
    while not (run.state and run.state.life_cycle_state in TERMINAL) and time.monotonic() < deadline:
        time.sleep(SETTLE_POLL_S)
        run = client.jobs.get_run(run_id)
    return run


def _timed_out(run: jobs.Run) -> jobs.Run:
    """The run and its unfinished tasks marked TIMEDOUT, Databricks' result for "stopped after reaching the timeout"
    (jobs.RunResultState): dbcicd's own timeout cancelled them, which the API reports as CANCELED."""
    for item in [run, *(run.tasks or [])]:
        if task_state(item) in UNFINISHED_STATES:
            life = item.state.life_cycle_state if item.state else None
            item.state = jobs.RunState(
                life_cycle_state=life, result_state=jobs.RunResultState.TIMEDOUT, state_message=TIMED_OUT_MESSAGE
            )
    return run


def _collect(ctx: Context, run_id: int, finished: jobs.Run, base_folder: str, plan: RerunPlan | None = None) -> Outcome:
    """The finished run's outcome; after a re-run of what failed, the whole run's: every task once."""
    attempts = plan.attempts(run_id) if plan else {}
    if plan is not None:
        finished = plan.merged(finished)
        ctx.output.info(f"Re-run: {plan.note()}")
    outcome = Outcome(ctx.options.command, run=finished, base_folder=base_folder)
    outcome.task_attempts = attempts
    outcome.rerun_note = plan.note() if plan else ""
    outcome.task_outputs = _task_outputs(ctx.client, finished, ctx.output)
    if ctx.options.publish_test_results:
        # Now, before clean-up: a temporary folder takes the files written inside it along, and the step's own
        # results folder is deleted.
        outcome.result_files = collect(ctx.client, finished, ctx.options.names)
    outcome.pages = export_pages(ctx.client, finished, ctx.options.export_notebooks)
    outcome.outputs.update(_run_outputs(finished, outcome.task_outputs))
    outcome.success, outcome.message = _verdict(finished, outcome.task_outputs)
    _keep_or_delete_results(ctx, finished, plan)
    return outcome


def _keep_or_delete_results(ctx: Context, finished: jobs.Run, plan: RerunPlan | None) -> None:
    """A run with tasks to run again keeps its results folder for the job's next attempt (`may_follow`), which
    publishes the kept tasks' files from it; a re-run with none left deletes the earlier attempts' folders it read.
    Only the step's own folders in the home folder: a `notebookResultsDir` is the user's."""
    if not ctx.results_for_later:
        return
    ctx.keep_results = has_tasks_to_rerun(finished)
    if plan is None or ctx.keep_results:
        return
    home = folders.home_results(ctx.user_name) + "/"
    earlier = [root for root in plan.kept_results_roots() if root.startswith(home)]
    if earlier:
        quick = cleanup_client(ctx.client)

        def delete() -> str:
            return "; ".join(filter(None, (folders.remove(quick, folders.ResultsFolder(r, True)) for r in earlier)))

        ctx.on_teardown("delete the results folders of the earlier job attempts", delete)


def _cancel_if_active(client: WorkspaceClient, run_id: int) -> bool:
    """Cancel the run unless it has ended; whether it was cancelled."""
    return _cancel_unless_ended(client, client.jobs.get_run(run_id))


def _cancel_unless_ended(client: WorkspaceClient, run: jobs.Run) -> bool:
    """Cancel `run` (as just read) unless it has ended; whether it was cancelled."""
    if run.state and run.state.life_cycle_state not in (
        jobs.RunLifeCycleState.TERMINATED,
        jobs.RunLifeCycleState.SKIPPED,
        jobs.RunLifeCycleState.INTERNAL_ERROR,
    ):
        client.jobs.cancel_run(run.run_id)  # type: ignore[arg-type]
        return True
    return False


def _cancel_started(
    client: WorkspaceClient, starting: InFlight[int], owner: RunOwner, run_name: str, output: Output
) -> str:
    """Cancel the run an interrupted or failed start may have made: the one it answers with if it is ours, else (no
    answer in time, or an error after the server may have acted) any active run of its unique name. run-now has no
    name of ours to look for: a lost answer is then a warning naming the job. Returns what it did."""
    run_id = starting.settled(CLEANUP_BUDGET_S)
    if run_id is not None:
        run = client.jobs.get_run(run_id)  # read once: to tell it is ours, and whether it still runs
        if not owner.owns(run):
            return ""
        return f"the run {run_id} was cancelled" if _cancel_unless_ended(client, run) else f"the run {run_id} had ended"
    if run_name:
        cancelled = _cancel_by_name(client, run_name)
        return f"the run {', '.join(map(str, cancelled))} was cancelled" if cancelled else ""
    if starting.error is None:
        output.warning(
            f"Starting the run of {owner.description} did not answer in time: if it started a run, it is still "
            "running; cancel it on the job's page"
        )
    return ""


def _cancel_by_name(client: WorkspaceClient, run_name: str) -> list[int]:
    """Cancel the active runs named `run_name`; their ids."""
    cancelled = []
    for candidate in client.jobs.list_runs(active_only=True, run_type=jobs.RunType.SUBMIT_RUN, limit=25):
        if candidate.run_name == run_name and candidate.run_id is not None:
            client.jobs.cancel_run(candidate.run_id)
            cancelled.append(candidate.run_id)
    return cancelled


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
        return True, f"Run {run.run_id} succeeded ({counted(len(run.tasks or []), 'task')})"
    failed = []
    for task in run.tasks or []:
        if task_state(task) in ("SUCCESS", "EXCLUDED"):
            continue
        error = outputs.get(task.task_key or "", jobs.RunOutput()).error or (
            task.state.state_message if task.state else ""
        )
        first = untrusted_text(first_line(error or ""), MAX_MESSAGE_CHARS)
        failed.append(f"{task.task_key}: {task_state(task)}" + (f" - {first}" if first else ""))
    detail = "; ".join(failed[:10]) + (f"; and {len(failed) - 10} more" if len(failed) > 10 else "")
    return False, f"Run {run.run_id} {state}: {detail or message}"


def _run_bundle_jobs(ctx: Context, deployed: bundles.BundleStep | None = None) -> Outcome:
    """The jobs the bundle deployed under the `bundleJob` keys (as `deployed` says, else `bundle summary`), each run
    as any existing job (results, timeout, cancel, repair), one after the other, every one whatever the others did.
    With several, the first run's outcome carries the others (`Outcome.others`), each published on its own, and
    every output variable of a run ends with its key (`runId_<key>`, `resultState_<key>`, ...)."""
    options = ctx.options
    assert options.bundle is not None
    if deployed is None:
        _, target, found = bundles.read_summary(_bundle_cli(ctx))
    else:
        target, found = deployed.target, deployed.jobs
    picked = [bundles.pick_job(found, target, key, options.names) for key in options.bundle.job_keys]
    for job in picked:
        ctx.output.info(f"Bundle job {job.key} is job {job.job_id}")
        ctx.options = dataclasses.replace(options, job_id=job.job_id)
        ctx.evidence = None  # what an error leaves of this run; the runs before it are in `finished`
        outcome = _run_job(ctx)
        if len(picked) > 1:
            outcome.outputs = {f"{name}_{job.key}": value for name, value in outcome.outputs.items()}
        outcome.outputs[f"jobId_{job.key}"] = str(job.job_id)
        ctx.finished.append(outcome)
    first, *others = ctx.finished
    first.others = others
    return first


# --- deploy, destroy ------------------------------------------------------------------------------------------
def deploy(ctx: Context) -> Outcome:
    """Validate the bundle, deploy it, and say what was deployed (steps/bundle.py)."""
    return _bundle_outcome("deploy", bundles.deploy(_bundle_cli(ctx), ctx.client.config.host or "", ctx.options.names))


def destroy(ctx: Context) -> Outcome:
    """Delete what the bundle deployed to its target (steps/bundle.py)."""
    return _bundle_outcome("destroy", bundles.destroy(_bundle_cli(ctx), ctx.options.names))


def _bundle_cli(ctx: Context) -> bundles.BundleCli:
    return bundles.open_cli(ctx.options, ctx.client, ctx.output, ctx.on_teardown, os.environ)


def _bundle_outcome(command: str, step: bundles.BundleStep) -> Outcome:
    return Outcome(
        command,
        success=step.success,
        message=step.message,
        outputs=step.outputs,
        issues=step.issues,
        summary=step.summary,
        failure_exit=EXIT_FAILED if step.success else EXIT_BUNDLE,
    )


# --- test -----------------------------------------------------------------------------------------------------
def test(ctx: Context) -> Outcome:
    """The blog's workflow in one step: temporary Git folder at this commit, run the tests, always delete it."""
    options = ctx.options
    if options.bundle is not None:
        return _test_bundle(ctx)
    check_compute(ctx.client, options.compute, options.names.label)  # before anything is created
    if options.source == "upload":
        return _run_uploaded(ctx)
    git, build = _git(ctx), options.build
    check_in_checkout(options.source_dir, git.expected_commit, options.notebooks)  # before a folder is made
    source = public_url(git.url)
    earlier = find_to_continue(ctx.client, ctx.output, options, source, git.expected_commit)
    reused = _reused_folder(ctx, earlier, "temporary Git folder")
    fresh = f"{options.temp_folder}/{temporary_name(repo_name_from_url(git.url), build.build_id, build.job_attempt)}"
    path = reused or fresh

    folders = ctx.folders
    quick = GitFolders(cleanup_client(ctx.client), ctx.output)
    sparse = list(git.sparse_checkout)
    creating = InFlight(lambda: folders.ensure(path, git.url, git.provider, sparse, new_path=not reused))
    ctx.on_teardown(
        f"delete the temporary Git folder {path}", lambda: _delete_temporary(quick, creating, path, ctx.output)
    )
    folder = creating.result()
    folder = _prepare_folder(ctx, folder, git)
    spec = _notebook_run(ctx, folder.path, resolve(ctx.client, folder.path, options.notebooks))
    commit = folder.head_commit or git.expected_commit
    outcome = _submit_and_wait(ctx, spec, source, commit, earlier if reused else None)
    outcome.outputs.update(_folder_outputs(folder))
    return outcome


def _test_bundle(ctx: Context) -> Outcome:
    """A bundle deployed for this build alone — under a temporary folder of `tempFolder`, named as temporary Git
    folders are (steps/tempnames.py, so that `cleanup` finds what a killed agent left) — its job `bundleJob` run as
    any job, and what was deployed always destroyed, on failure and cancel too."""
    options, build = ctx.options, ctx.options.build
    assert options.bundle is not None
    name = temporary_name(f"bundle-{options.bundle.directory.name}", build.build_id, build.job_attempt)
    root = f"{options.temp_folder}/{name}"
    prefix = f"[{name.removeprefix('dbcicd-')[-12:]}] "
    ctx.options = dataclasses.replace(options, bundle=bundles.isolated(options.bundle, root, prefix))
    cli = _bundle_cli(ctx)
    teardown_cli = dataclasses.replace(cli, register=lambda _description, _action: lambda: None)
    ctx.output.info(f"Deploying the bundle for this build alone under {root}")

    def undo_on_every_way_out() -> None:
        ctx.on_teardown(f"destroy what the bundle deployed to {root}", lambda: bundles.destroy_quietly(teardown_cli))

    deployed = bundles.deploy(cli, ctx.client.config.host or "", options.names, root, undo_on_every_way_out)
    if not deployed.success:
        return _bundle_outcome("test", deployed)
    outcome = _run_bundle_jobs(ctx, deployed)
    outcome.issues = deployed.issues + outcome.issues
    outcome.outputs["bundleRootPath"] = root
    return outcome


def _reused_folder(ctx: Context, earlier: Earlier | None, what: str) -> str:
    """The temporary folder of the earlier run to continue: a re-run needs the notebooks where that run had them, so
    the folder is made again at its path, from the same commit. '' when there is none to continue — or when its
    notebooks were not in a temporary folder under tempFolder, which the log says."""
    if earlier is None:
        return ""
    path = earlier.base_folder(ctx.options.temp_folder)
    if path:
        ctx.output.info(f"Making the {what} {path} of run {earlier.run.run_id} again")
    else:
        ctx.output.info(
            f"Not re-running only the failed tasks of run {earlier.run.run_id}: its notebooks were not in a temporary "
            f"folder under {ctx.options.temp_folder} ({ctx.options.names.label('tempFolder')} changed?); running "
            "every task"
        )
    return path


def _delete_temporary(folders: GitFolders, creating: InFlight[GitFolder], path: str, output: Output) -> str:
    creating.settled(CLEANUP_BUDGET_S)  # a create still under way would make the folder after it was looked for
    if folders.delete_at(path):
        output.info(f"Deleted the temporary Git folder {path}")
        return f"the temporary Git folder {path} was deleted"
    return ""


def _run_uploaded(ctx: Context) -> Outcome:
    """`source: upload`: the checkout's HEAD imported into a temporary workspace folder, its notebooks run there, the
    folder always deleted (steps/upload.py)."""
    options = ctx.options
    source_dir = Path(options.source_dir)
    what = options.names.label("sourceDir") if options.names.cli else "Build.SourcesDirectory"
    found = commit_files(source_dir, what)
    check_in_checkout(options.source_dir, found.commit, options.notebooks)
    if options.build.source_commit and not found.commit.startswith(options.build.source_commit):
        ctx.output.warning(
            f"{source_dir} is at {found.commit[:12]}, not at the build's commit {options.build.source_commit[:12]}: "
            f"uploading {found.commit[:12]}"
        )
    if found.skipped:
        ctx.output.info(f"Not uploaded (submodules and symbolic links): {', '.join(found.skipped[:5])}")
    label = repo_name_from_url(options.build.repository_url) if options.build.repository_url else source_dir.name
    source = f"upload of {label}"
    earlier = find_to_continue(ctx.client, ctx.output, options, source, found.commit)
    reused = _reused_folder(ctx, earlier, "uploaded folder")
    path = reused or f"{options.temp_folder}/{temporary_name(label, options.build.build_id, options.build.job_attempt)}"
    if reused:  # left behind if the earlier attempt's clean-up failed: the upload makes the folder anew
        with contextlib.suppress(NotFound):
            ctx.client.workspace.delete(path, recursive=True)
    contents = read_contents(source_dir, found.files)
    ctx.output.info(
        f"Uploading commit {found.commit[:12]}: {len(found.files)} file(s), {found.size / 1024 / 1024:.1f} MB, "
        f"to {path}"
    )
    upload = Upload(ctx.client, path, ctx.output.info)
    uploading = InFlight(lambda: upload.run(found.files, contents))
    quick = cleanup_client(ctx.client)
    ctx.on_teardown(
        f"delete the uploaded folder {path}", lambda: _delete_uploaded(quick, upload, uploading, path, ctx.output)
    )
    uploading.result()
    spec = _notebook_run(ctx, path, resolve(ctx.client, path, options.notebooks))
    outcome = _submit_and_wait(ctx, spec, source, found.commit, earlier if reused else None)
    outcome.outputs["headCommit"] = found.commit
    return outcome


def _delete_uploaded(
    client: WorkspaceClient, upload: Upload, uploading: InFlight[int], path: str, output: Output
) -> str:
    """Stop the upload, wait for the imports under way (one landing after the delete would make the folder again:
    mkdirs runs before any import, and an import into a deleted folder is refused), then delete the folder."""
    upload.stop()
    uploading.finished(CLEANUP_BUDGET_S)
    try:
        client.workspace.delete(path, recursive=True)
    except NotFound:
        return ""
    output.info(f"Deleted the uploaded folder {path}")
    return f"the uploaded folder {path} was deleted"


# --- cleanup --------------------------------------------------------------------------------------------------
def cleanup(ctx: Context) -> Outcome:
    """Delete dbcicd's temporary folders (Git folders, and uploads') older than `olderThanHours` under `tempFolder`,
    cancelling the runs still going in them first, and the results folders that failed runs kept for a job attempt
    that never came (in the identity's home folder); with `dryRun`, only say what it would do."""
    options = ctx.options
    hours, parent = options.older_than_hours, options.temp_folder
    plan = find_leftovers(ctx.client, parent, timedelta(hours=hours))
    remove(ctx.client, plan, ctx.output, options.dry_run)
    results_parent = folders.home_results(ctx.user_name).removeprefix("/Workspace")
    results = find_leftovers(ctx.client, results_parent, timedelta(hours=hours))
    remove(ctx.client, results, ctx.output, options.dry_run)
    folders_found, done = len(plan.leftovers), len(plan.leftovers) + len(results.leftovers)
    runs = f", cancelling {plan.runs} active run(s) in them" if plan.runs else ""
    kept = f"kept {plan.young} younger and {plan.foreign} not made by dbcicd"
    also = f" and {len(results.leftovers)} results folder(s) kept for re-runs under {results_parent}"
    also = also if results.leftovers else ""
    if options.dry_run:
        message = f"Dry run: would delete {folders_found} temporary folder(s) under {parent}{also}{runs}; {kept}"
        done = 0
    else:
        message = (
            f"Deleted {folders_found} temporary folder(s) older than {hours:g} h under {parent}{also}{runs}; {kept}"
        )
    return Outcome("cleanup", message=message, outputs={"deletedCount": str(done)})


def _uses_temp_folder(options: Options) -> bool:
    """Whether the command may make a temporary folder or look for old ones: test, cleanup, and an upload."""
    return options.command in ("test", "cleanup") or options.source == "upload"


_COMMANDS = {"repo": repo, "run": run, "test": test, "cleanup": cleanup, "deploy": deploy, "destroy": destroy}
__all__ = ["Cancelled", "Outcome", "evidence_of", "execute"]
