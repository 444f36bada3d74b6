"""The records of one run and its task runs, and the rules that decide how they end.

A run moves QUEUED -> PENDING -> RUNNING -> TERMINATING -> an ending; each task moves BLOCKED (waiting for its
`depends_on`) -> PENDING (waiting for a process slot) -> RUNNING -> TERMINATING -> an ending. An ending is an
`Outcome`: the legacy `state` (life_cycle_state, result_state, state_message) together with the newer
`status.termination_details` (code, type, message). The engine mutates these records under its lock.

How Databricks reports endings (measured on real workspaces, see the notes at each constant): a task whose code
raised is TERMINATED/FAILED with a generic message pointing at the run output, and the run around it says
INTERNAL_ERROR/FAILED "Task <key> failed with message: ...". Where Databricks' exact wording is not known the
choice is marked as a guess.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .job_spec import RunSpec, TaskSpec

# status.state for each not-yet-ended phase (the legacy and the new enum differ only in naming).
STATUS_OF_PHASE = {
    "QUEUED": "QUEUED",
    "PENDING": "PENDING",
    "BLOCKED": "BLOCKED",
    "RUNNING": "RUNNING",
    "TERMINATING": "TERMINATING",
}
# What a real workspace says on a task that raised, on the task and (wrapped) on its run.
TASK_FAILURE_MESSAGE = "Workload failed, see run output for details"
CANCELLED_MESSAGE = "Run cancelled by user"

_SUCCESSFUL = frozenset({"SUCCESS"})
_FAILED = frozenset({"FAILED", "TIMEDOUT", "UPSTREAM_FAILED"})
_CANCELLED = frozenset({"CANCELED", "UPSTREAM_CANCELED"})
# Results a task reaches by itself (not by what happened upstream).
_OWN_FAILURES = frozenset({"FAILED", "TIMEDOUT", "CANCELED"})


@dataclass(frozen=True)
class Outcome:
    """How a task or a run ended: the legacy `state` and `status.termination_details` in one."""

    life_cycle_state: str
    result_state: str
    message: str = ""
    code: str = "SUCCESS"
    type: str = "SUCCESS"
    user_cancelled_or_timedout: bool = False

    @property
    def failed(self) -> bool:
        return self.result_state not in _SUCCESSFUL and self.result_state != "EXCLUDED"


SUCCEEDED = Outcome("TERMINATED", "SUCCESS")
# TerminationType for user cancels and skips is a guess (SUCCESS: "terminated without any issues").
CANCELLED = Outcome("TERMINATED", "CANCELED", CANCELLED_MESSAGE, "USER_CANCELED", "SUCCESS", True)


def workload_failed() -> Outcome:
    """The code of the task ran and raised (or its process died)."""
    return Outcome("TERMINATED", "FAILED", TASK_FAILURE_MESSAGE, "RUN_EXECUTION_ERROR", "CLIENT_ERROR")


def setup_failed(message: str, code: str) -> Outcome:
    """The task could not start: its notebook or file is missing, the checkout failed, the type is unsupported."""
    return Outcome("INTERNAL_ERROR", "FAILED", message, code, "CLIENT_ERROR")


def timed_out(seconds: int, what: str) -> Outcome:
    # Code CANCELED is documented as "canceled by the platform, e.g. the maximum run duration was exceeded";
    # the message wording is a guess.
    message = f"{what} timed out after {seconds} seconds"
    return Outcome("TERMINATED", "TIMEDOUT", message, "CANCELED", "CLIENT_ERROR", user_cancelled_or_timedout=True)


def concurrency_skipped(limit: int) -> Outcome:
    """A job run that found `max_concurrent_runs` runs active and queueing disabled: life cycle SKIPPED ("This run
    was aborted because a previous run of the same job was already active"), result MAXIMUM_CONCURRENT_RUNS_REACHED
    ("skipped because the maximum concurrent runs were reached"), code MAX_CONCURRENT_RUNS_EXCEEDED (databricks-sdk
    service/jobs.py RunLifeCycleState, RunResultState, TerminationCodeCode). Its tasks, none of which start, get the
    same ending: no public source shows a skipped run's tasks. The message's wording is a guess."""
    message = f"Skipped: the job already has the maximum of {limit} concurrent runs active"
    return Outcome(
        "SKIPPED", "MAXIMUM_CONCURRENT_RUNS_REACHED", message, "MAX_CONCURRENT_RUNS_EXCEEDED", "CLIENT_ERROR"
    )


def internal_error(err: Exception) -> Outcome:
    """A fault of the local workspace itself, shown on the run instead of leaving it active forever."""
    return setup_failed(f"Internal error in the local workspace: {type(err).__name__}: {err}", "INTERNAL_ERROR")


def skipped(result_state: str, message: str) -> Outcome:
    """A task that never ran because of what happened upstream: result UPSTREAM_FAILED, UPSTREAM_CANCELED or
    EXCLUDED ("The run was skipped because of an upstream failure", ...), code SKIPPED ("Run was never executed, for
    example, if the upstream task run failed") in databricks-sdk service/jobs.py. Its life cycle SKIPPED is a guess:
    the SDK describes SKIPPED for runs aborted by an active run of the same job, and no public source shows a
    skipped task's."""
    kind = "SUCCESS" if result_state == "EXCLUDED" else "CLIENT_ERROR"
    return Outcome("SKIPPED", result_state, message, "SKIPPED", kind)


@dataclass
class TaskOutput:
    """What runs/get-output shows for a finished task (logs are read from disk when asked for)."""

    exit_value: str | None = None
    error: str | None = None
    error_trace: str | None = None


@dataclass(eq=False)
class TaskRun:
    run_id: int
    spec: TaskSpec
    folder: Path  # spec.json, stdout.txt, stderr.txt, result.json
    widgets: dict[str, str]  # notebook parameters after overrides and {{references}}
    argv: list[str]  # python file parameters, likewise
    phase: str = "BLOCKED"
    outcome: Outcome | None = None
    ready_ms: int = 0  # left BLOCKED
    running_ms: int = 0  # process started
    exited_ms: int = 0  # process ended
    end_ms: int = 0
    process: subprocess.Popen[bytes] | None = None
    stop: Outcome | None = None  # set (cancel, timeout) before the process is killed: the ending to report
    output: TaskOutput = field(default_factory=TaskOutput)
    attempt_number: int = 0  # 0 for the first run of its task, one more for each repair that re-ran it

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def done(self) -> bool:
        return self.outcome is not None

    def finish(self, outcome: Outcome, now_ms: int) -> None:
        self.outcome = outcome
        self.phase = outcome.life_cycle_state
        self.ready_ms = self.ready_ms or now_ms
        self.exited_ms = self.exited_ms or (now_ms if self.running_ms else 0)
        self.end_ms = now_ms
        self.process = None


@dataclass
class RepairRecord:
    """One item of `repair_history` (jobs/repair.py): the original run (repair_id None) or one repair of it."""

    repair_id: int | None
    start_ms: int
    task_run_ids: list[int]
    end_ms: int = 0
    outcome: Outcome | None = None


@dataclass
class RepairLog:
    """A run's repairs so far; `history` is empty until the first repair."""

    history: list[RepairRecord] = field(default_factory=list)

    @property
    def latest_id(self) -> int | None:
        return self.history[-1].repair_id if len(self.history) > 1 else None


@dataclass(eq=False)
class Run:
    run_id: int
    job_id: int
    run_type: str  # SUBMIT_RUN | JOB_RUN
    spec: RunSpec
    folder: Path
    creator: str
    tasks: list[TaskRun]
    created_ms: int
    job_parameters: list[dict[str, Any]] | None = None
    overriding_parameters: dict[str, Any] | None = None
    max_concurrent_runs: int | None = None  # of its job; None = no limit (submitted runs)
    queue_enabled: bool = False
    phase: str = "PENDING"
    outcome: Outcome | None = None
    stop: Outcome | None = None  # cancel or timeout asked for: the run's ending
    admitted_ms: int = 0
    end_ms: int = 0
    repairs: RepairLog = field(default_factory=RepairLog)

    def __post_init__(self) -> None:
        self._by_key = {t.key: t for t in self.tasks}

    def replace_tasks(self, tasks: list[TaskRun]) -> None:
        """The latest task run of each task (a repair puts new ones in place of those it re-runs)."""
        self.tasks = tasks
        self._by_key = {t.key: t for t in tasks}

    @property
    def done(self) -> bool:
        return self.outcome is not None

    def task(self, key: str) -> TaskRun:
        return self._by_key[key]

    def dependents(self) -> set[str]:
        """Keys of the tasks that something else depends on (the others are the leaves)."""
        return {dep for t in self.tasks for dep in t.spec.depends_on}


# --- rules -----------------------------------------------------------------------------------------------------
def dependency_verdict(task: TaskRun, upstream: list[Outcome]) -> Outcome | None:
    """With every dependency ended: None when the task should run, else the ending it gets without running."""
    results = [o.result_state for o in upstream]
    any_success = any(r in _SUCCESSFUL for r in results)
    any_failed = any(r in _FAILED for r in results)
    run_if = task.spec.run_if
    if run_if == "ALL_SUCCESS":
        if all(r in _SUCCESSFUL for r in results):
            return None
        if any(r in _CANCELLED for r in results):
            return skipped("UPSTREAM_CANCELED", "Upstream task was cancelled")
        if any_failed:
            return skipped("UPSTREAM_FAILED", "Upstream task failed")
        return skipped("EXCLUDED", "Upstream task was excluded")
    met = {
        "ALL_DONE": True,
        "NONE_FAILED": any_success and not any_failed,
        "AT_LEAST_ONE_SUCCESS": any_success,
        "ALL_FAILED": all(r in _FAILED for r in results),
        "AT_LEAST_ONE_FAILED": any_failed,
    }[run_if]
    return None if met else skipped("EXCLUDED", f"The run_if condition {run_if} was not met by the upstream tasks")


def run_outcome(run: Run) -> Outcome:
    """The run's ending from its tasks': a failed leaf fails the run; a failure that no leaf shows still marks it.

    The failing run is INTERNAL_ERROR in the legacy life cycle (TERMINATED in `status`), as real workspaces report
    it, and names the task where the failure started.
    """
    if run.stop is not None:
        return run.stop
    dependents = run.dependents()
    leaves = [t for t in run.tasks if t.key not in dependents]
    own = sorted(
        (t for t in run.tasks if t.outcome and t.outcome.result_state in _OWN_FAILURES),
        key=lambda t: t.end_ms,
    )
    failed_leaves = [t for t in leaves if t.outcome and t.outcome.failed]
    if failed_leaves:
        root = own[0] if own else failed_leaves[0]
        assert root.outcome is not None
        message = f"Task {root.key} failed with message: {root.outcome.message}."
        if any(t.outcome and t.outcome.result_state.startswith("UPSTREAM_") for t in run.tasks):
            message += " This caused all downstream tasks to get skipped."
        life = "TERMINATED" if root.outcome.result_state == "CANCELED" else "INTERNAL_ERROR"
        result = root.outcome.result_state if root.outcome.result_state in _OWN_FAILURES else "FAILED"
        stopped = root.outcome.user_cancelled_or_timedout
        return Outcome(life, result, message, root.outcome.code, root.outcome.type, stopped)
    if own:
        return Outcome("TERMINATED", "SUCCESS_WITH_FAILURES", "", "SUCCESS_WITH_FAILURES", "SUCCESS")
    return SUCCEEDED
