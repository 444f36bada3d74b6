"""Re-running only what failed: when a `run` or `test` step runs again for the same build, only the tasks that did
not succeed last time run again, and the results describe the whole run.

When a step "runs again". Azure Pipelines' "Rerun failed jobs" runs the job again with `System.JobAttempt` one
higher; the agent's `retryCountOnTaskFailure` runs the step's handler again in the same environment, with the same
`System.TaskInstanceId` (microsoft/azure-pipelines-agent src/Agent.Worker/TaskRunner.cs, RetryHelper). Whether a new
job attempt keeps its steps' TaskInstanceId no public source says, so a step is recognised without it: by the
build, the command, what it runs from (the repository, or the Git folder of `repoPath`) and its `notebooks` input.
An earlier run counts when it came from an earlier job attempt, or from the same attempt and the same task instance
(an agent retry).

No state of our own. Everything needed is in the run name of every run dbcicd submits (`RunMark`): the invocation's
tag (which proves a run is this invocation's, steps/ownership.py), the step, the job attempt, the commit, and the
run it continued, if any. runs/list and runs/get give back the rest: each task's notebook, parameters and result.

Mechanism. Databricks can repair a run in place (Jobs API runs/repair: "Tasks are re-run as part of the original job
run"), but its reference speaks of job runs only ("the job run ID of the run to repair", "they use the current job
and task settings") and no public source — the Jobs API reference, databricks-sdk's JobsAPI.repair_run, the
databricks/cli `jobs repair-run` command — says whether one-time runs (runs/submit), which is what dbcicd starts,
can be repaired. So dbcicd takes the path that works either way: it submits the tasks to re-run (the failed,
cancelled and timed-out ones and everything downstream of them) as a new one-time run, and merges its results with
the earlier attempts'. A run whose code differs is never continued: a different commit, other notebooks or other
parameters start a full run, and the log says why.
"""

from __future__ import annotations

import hashlib
import itertools
import posixpath
import re
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError, PermissionDenied, Unauthenticated
from databricks.sdk.service import jobs

from ..output import Output, counted, task_seconds, task_state
from .runs import RESULTS_PARAMETER, NotebookRun
from .tempnames import created_at

if TYPE_CHECKING:
    from ..options.parse import Options

# Results that count as done: the task is not run again.
KEPT_STATES = frozenset({"SUCCESS", "EXCLUDED"})
# How far back runs/list is read for the earlier attempts of a step: "Rerun failed jobs" is usually used within
# hours, and Databricks keeps runs for 60 days; reading more than this many runs would slow every re-run down. On a
# first job attempt only the agent's retry of the step can have come before, moments earlier: the latest runs
# suffice, and a first attempt that has nothing to find pays two pages, not ten.
LOOKBACK_DAYS = 7
MAX_RUNS_READ = 250
MAX_RUNS_READ_FIRST_ATTEMPT = 50
RUNS_PAGE = 25  # the most runs/list answers at once
_MARK = re.compile(
    r" attempt (?P<attempt>[0-9]+) \[(?P<tag>[0-9a-f]{10}) step (?P<step>[0-9a-f]{10})\.(?P<instance>[0-9a-f]{6})"
    r" at (?P<commit>[0-9a-f]{7,40}|unknown)(?: after (?P<after>[0-9]+))?\]$"
)


def _digest(*parts: str, length: int) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


@dataclass(frozen=True)
class RunMark:
    """What the end of a run's name says of the run: `attempt 2 [<tag> step <step>.<instance> at <commit>]`, plus
    ` after <run id>` when it continued an earlier run."""

    attempt: int
    tag: str
    step: str  # the step across job attempts: build, command and source
    instance: str  # the task instance (System.TaskInstanceId), the same on an agent retry
    commit: str  # '' when not known
    after: int | None = None

    @classmethod
    def of(cls, build_id: str, job_attempt: str, step_id: str, tag: str, source: str, command: str, commit: str):
        attempt = int(job_attempt) if job_attempt.isdigit() else 1
        step = _digest(build_id, command, source, length=10)
        return cls(attempt, tag, step, _digest(step_id, length=6), commit[:12].lower())

    def suffix(self) -> str:
        after = f" after {self.after}" if self.after else ""
        at = self.commit or "unknown"
        return f" attempt {self.attempt} [{self.tag} step {self.step}.{self.instance} at {at}{after}]"

    @classmethod
    def parse(cls, run_name: str) -> RunMark | None:
        match = _MARK.search(run_name)
        if match is None:
            return None
        commit = "" if match["commit"] == "unknown" else match["commit"]
        after = int(match["after"]) if match["after"] else None
        return cls(int(match["attempt"]), match["tag"], match["step"], match["instance"], commit, after)

    def may_continue(self, earlier: RunMark) -> bool:
        """`earlier` is this step's run from before: an earlier job attempt, or an agent retry of this one."""
        if earlier.step != self.step or earlier.tag == self.tag:
            return False
        return earlier.attempt < self.attempt or (earlier.attempt == self.attempt and earlier.instance == self.instance)


@dataclass
class KeptTask:
    """A task's latest result from an earlier attempt."""

    task: jobs.RunTask
    attempt: int
    run_id: int


@dataclass
class Earlier:
    """This step's latest earlier run and the tasks of the whole chain of runs it continued."""

    run: jobs.Run
    mark: RunMark
    tasks: dict[str, KeptTask] = field(default_factory=dict)  # every task key, with its latest result

    @property
    def to_rerun(self) -> list[str]:
        return [k for k, kept in self.tasks.items() if task_state(kept.task) not in KEPT_STATES]

    def base_folder(self, temp_folder: str) -> str:
        """The temporary Git folder the earlier run's notebooks were in ('' when they were not in one)."""
        for kept in self.tasks.values():
            path = kept.task.notebook_task.notebook_path if kept.task.notebook_task else ""
            relative = posixpath.relpath(path, temp_folder) if path.startswith(temp_folder + "/") else ""
            name = relative.split("/", 1)[0]
            if name and created_at(name) is not None:
                return f"{temp_folder}/{name}"
        return ""


def find_earlier(client: WorkspaceClient, mark: RunMark, output: Output) -> Earlier | None:
    """The latest ended run of this step from before, read back with the runs it continued; None when none."""
    since = int((time.time() - LOOKBACK_DAYS * 86400) * 1000)
    try:
        listed = client.jobs.list_runs(
            run_type=jobs.RunType.SUBMIT_RUN, completed_only=True, start_time_from=since, limit=RUNS_PAGE
        )
        most = MAX_RUNS_READ if mark.attempt > 1 else MAX_RUNS_READ_FIRST_ATTEMPT
        for candidate in itertools.islice(listed, most):
            found = RunMark.parse(candidate.run_name or "")
            if found is not None and mark.may_continue(found) and candidate.run_id is not None:
                return _read_chain(client, candidate.run_id, found)
    except (Unauthenticated, PermissionDenied):
        raise  # the credentials are refused: nothing else would work either, and the step says so once
    except DatabricksError as err:
        output.warning(f"Could not read the earlier runs of this step ({err}): starting a full run")
    return None


def _read_chain(client: WorkspaceClient, run_id: int, mark: RunMark) -> Earlier:
    """A run and, through the ` after <id>` of each name, the runs it continued: the latest result of each task."""
    run = client.jobs.get_run(run_id)
    earlier = Earlier(run, mark)
    current: jobs.Run | None = run
    current_mark: RunMark | None = mark
    seen: set[int] = set()
    order: list[str] = []
    while current is not None and current_mark is not None and current.run_id not in seen:
        seen.add(current.run_id)  # type: ignore[arg-type]
        for task in current.tasks or []:
            key = task.task_key or ""
            if key not in earlier.tasks:
                earlier.tasks[key] = KeptTask(task, current_mark.attempt, current.run_id)  # type: ignore[arg-type]
                order.append(key)
        if current_mark.after is None:
            break
        try:
            current = client.jobs.get_run(current_mark.after)
        except DatabricksError:
            break  # deleted: the tasks it held are run again
        current_mark = RunMark.parse(current.run_name or "")
    # The original run's task order (the first run of the chain holds every task).
    first_order = [t.task_key or "" for t in (current.tasks if current else None) or []]
    earlier.tasks = {k: earlier.tasks[k] for k in sorted(order, key=lambda k: _position(first_order, k))}
    return earlier


def _position(order: list[str], key: str) -> int:
    return order.index(key) if key in order else len(order)


def commit_difference(earlier: Earlier, commit: str) -> str:
    """Why a step at `commit` may not continue `earlier` ('' when it may)."""
    if not commit or not earlier.mark.commit:
        return "the commit of the earlier run or of this one is not known"
    if commit[:12].lower() != earlier.mark.commit:
        return f"the earlier run was at commit {earlier.mark.commit}, this one is at {commit[:12]}"
    return ""


def code_difference(earlier: Earlier, spec: NotebookRun) -> str:
    """Why `spec` may not continue `earlier` ('' when it may): other notebooks, or other parameters."""
    planned = {t.task_key: t.notebook_task for t in spec.tasks()}
    before = {k: kept.task.notebook_task for k, kept in earlier.tasks.items()}

    def path(task: jobs.NotebookTask | None) -> str | None:
        return task.notebook_path if task else None

    def parameters(task: jobs.NotebookTask | None) -> dict[str, str]:
        values = dict((task.base_parameters if task else None) or {})
        values.pop(RESULTS_PARAMETER, None)  # a folder of each invocation's own
        return values

    if set(planned) != set(before) or any(path(before[k]) != path(planned[k]) for k in planned):
        return "this attempt runs other notebooks than the earlier run"
    if any(parameters(before[k]) != parameters(planned[k]) for k in planned):
        return "this attempt's parameters differ from the earlier run's"
    return ""


def rerun_keys(earlier: Earlier) -> list[str]:
    """The tasks to run again: those that did not succeed, and everything downstream of them."""
    chosen = set(earlier.to_rerun)
    while True:
        more = {
            k
            for k, kept in earlier.tasks.items()
            if k not in chosen and any(d.task_key in chosen for d in kept.task.depends_on or [])
        }
        if not more:
            break
        chosen |= more
    return [k for k in earlier.tasks if k in chosen]


@dataclass
class RerunPlan:
    """A re-run decided: the earlier run, the tasks this attempt runs, and this attempt's number."""

    earlier: Earlier
    keys: list[str]
    attempt: int

    @property
    def kept(self) -> list[KeptTask]:
        return [kept for key, kept in self.earlier.tasks.items() if key not in self.keys]

    def saved_seconds(self) -> float:
        return sum(task_seconds(kept.task) for kept in self.kept)

    def announce(self, output: Output) -> None:
        total = len(self.earlier.tasks)
        output.info(
            f"Re-running {counted(len(self.keys), 'task')} of {total} that did not succeed in run "
            f"{self.earlier.run.run_id} (job attempt {self.earlier.mark.attempt}): {', '.join(self.keys)}; "
            f"{counted(total - len(self.keys), 'task')} keep their results"
        )

    def merged(self, finished: jobs.Run) -> jobs.Run:
        """The whole run as this attempt finished it: the earlier attempts' kept tasks and the re-run ones, each task
        once, in the original order. Its id, name, state and page are this attempt's run's."""
        fresh = {t.task_key: t for t in finished.tasks or []}
        tasks = [fresh.get(key) or kept.task for key, kept in self.earlier.tasks.items()]
        tasks += [t for key, t in fresh.items() if key not in self.earlier.tasks]
        return replace(finished, tasks=tasks)

    def attempts(self, run_id: int) -> dict[str, tuple[int, int]]:
        """task key -> (job attempt, run id) that produced its result."""
        out = {kept.task.task_key or "": (kept.attempt, kept.run_id) for kept in self.kept}
        out.update({key: (self.attempt, run_id) for key in self.keys})
        return out

    def kept_results_roots(self) -> list[str]:
        """The results folders of the earlier attempts whose tasks this attempt keeps (each task's folder is
        `<root>/<task key>`, steps/runs.py)."""
        roots = set()
        for kept in self.kept:
            folder = ((kept.task.notebook_task.base_parameters or {}) if kept.task.notebook_task else {}).get(
                RESULTS_PARAMETER, ""
            )
            if folder:
                roots.add(posixpath.dirname(folder.rstrip("/")))
        return sorted(roots)

    def note(self) -> str:
        """One line for the summary: what was re-run and what it saved."""
        kept = self.kept
        return (
            f"re-ran {', '.join(self.keys)} of run {self.earlier.run.run_id}; {counted(len(kept), 'task')} kept from "
            f"earlier attempts, saving {self.saved_seconds():.1f} s (their earlier durations)"
        )


def may_follow(options: Options) -> bool:
    """Whether a later job attempt may continue this step's run (`find_to_continue` would look for it)."""
    return options.rerun_failed_only and bool(options.build.build_id)


def has_tasks_to_rerun(run: jobs.Run) -> bool:
    """Whether a later attempt of the step would run some of `run`'s tasks again."""
    return any(task_state(task) not in KEPT_STATES for task in run.tasks or [])


def mark_of(options: Options, source: str, commit: str) -> RunMark:
    """This invocation's mark. The step is told by its build, command, source and `notebooks` input: two test steps
    of one job (unit and integration tests of the same repository) are two steps, each continuing its own run."""
    build = options.build
    step_source = "\x1f".join((source, *options.notebooks))
    return RunMark.of(
        build.build_id, build.job_attempt, build.step_id, build.invocation_tag, step_source, options.command, commit
    )


def find_to_continue(
    client: WorkspaceClient, output: Output, options: Options, source: str, commit: str
) -> Earlier | None:
    """This step's earlier run to continue, or None (saying why when the step runs again and one could have been
    continued). Only for a build (`Build.BuildId`), with `rerunFailedOnly` on."""
    if not may_follow(options) or not source:
        return None
    mark = mark_of(options, source, commit)
    earlier = find_earlier(client, mark, output)
    if earlier is None:
        if mark.attempt > 1:
            output.info(
                f"No earlier run of this step (this command, source and notebooks) in the last {LOOKBACK_DAYS} days: "
                "running every task"
            )
        return None
    what = f"run {earlier.run.run_id} (job attempt {earlier.mark.attempt})"
    if not earlier.to_rerun:
        output.info(f"The earlier {what} of this step had no failed tasks: running every task")
        return None
    why = commit_difference(earlier, commit)
    if why:
        output.info(f"Not re-running only the failed tasks of {what}: {why}; running every task")
        return None
    return earlier


def prepare(
    client: WorkspaceClient,
    output: Output,
    options: Options,
    spec: NotebookRun,
    source: str,
    commit: str,
    earlier: Earlier | None = None,
    search: bool = True,
) -> RerunPlan | None:
    """Name the run with its mark and, when an earlier run of this step can be continued, restrict `spec` to the
    tasks to run again. `search`: look for the earlier run here (False: the caller did, and found `earlier`)."""
    mark = mark_of(options, source, commit)
    if search:
        earlier = find_to_continue(client, output, options, source, commit)
    plan = None
    if earlier is not None:
        why = code_difference(earlier, spec)
        if why:
            output.info(f"Not re-running only the failed tasks of run {earlier.run.run_id}: {why}; running every task")
        else:
            plan = RerunPlan(earlier, rerun_keys(earlier), mark.attempt)
            spec.only = tuple(plan.keys)
            mark = replace(mark, after=earlier.run.run_id)
            plan.announce(output)
    spec.run_name = spec.run_name.removesuffix(f" [{mark.tag}]") + mark.suffix()
    return plan
