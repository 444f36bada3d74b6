"""A finished run as test results: one test case per task, plus the JUnit files the notebooks wrote.

Per task: classname = the notebook path relative to the Git folder (or what the task runs), name = the task key,
time = its execution seconds. A failed task carries `failure` with the error's first line as message and the
error trace as text. A task that never started is skipped (Not executed in Azure DevOps), its message "Not started"
with its state and Databricks' reason: EXCLUDED, UPSTREAM_FAILED, UPSTREAM_CANCELED and DISABLED tasks, a task
skipped with its run (life cycle SKIPPED, e.g. MAXIMUM_CONCURRENT_RUNS_REACHED), and the tasks of a run Databricks
refused to start (NOT_STARTED, steps/notstarted.py). A task that failed before its code could run (its termination
code says so: `FAILED_BEFORE_START`) stays failed, its message saying it did not start. The notebook's exit value,
the task's logs (excerpt) and its run page go to `system-out`.
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone

from databricks.sdk.service import jobs

from ..output import NOT_STARTED, task_seconds, task_state
from ..untrusted import untrusted_text
from .collect import ResultFile
from .junit import (
    FAILED,
    MAX_MESSAGE_CHARS,
    MAX_TEXT_CHARS,
    PASSED,
    SKIPPED,
    Case,
    JUnitFormatError,
    Suite,
    parse_document,
    prefix_suites,
    sanitize_document,
)

PASSING_STATES = frozenset({"SUCCESS", "SUCCESS_WITH_FAILURES"})
SKIP_REASONS = {
    "EXCLUDED": "its run_if condition was not met",
    "UPSTREAM_FAILED": "a task it depends on failed",
    "UPSTREAM_CANCELED": "a task it depends on was cancelled",
    "DISABLED": "the task is disabled",
    NOT_STARTED: "Databricks did not start its run",
}
# Termination codes of a task that ended before its code ran, as databricks-sdk's TerminationCodeCode describes them
# (service/jobs.py): "Failed to complete the checkout", "issued an invalid request to start the cluster", "failed
# while installing the user-requested library", limits reached before it could be scheduled. CLUSTER_ERROR,
# RESOURCE_NOT_FOUND and INTERNAL_ERROR are left out: their descriptions ("failed due to a cluster error", "a
# resource necessary for run execution does not exist") do not say whether the task's code had started, and no
# public source settles it.
FAILED_BEFORE_START = frozenset({
    "REPOSITORY_CHECKOUT_FAILED", "INVALID_CLUSTER_REQUEST", "CLUSTER_REQUEST_LIMIT_EXCEEDED",
    "LIBRARY_INSTALLATION_ERROR", "WORKSPACE_RUN_LIMIT_EXCEEDED", "MAX_SPARK_CONTEXTS_EXCEEDED",
    "MAX_CONCURRENT_RUNS_EXCEEDED", "MAX_JOB_QUEUE_SIZE_EXCEEDED", "BUDGET_POLICY_LIMIT_EXCEEDED",
})  # fmt: skip
# Other kinds of task, named by the field that holds them (classname when there is no file to name).
_TASK_KINDS = ("python_wheel_task", "sql_task", "dbt_task", "run_job_task", "pipeline_task", "spark_jar_task",
               "spark_submit_task", "condition_task", "for_each_task", "dashboard_task", "power_bi_task",
               "clean_rooms_notebook_task", "gen_ai_compute_task")  # fmt: skip
MAX_LOG_EXCERPT_CHARS = 16_000


@dataclass
class NotebookResults:
    """The notebooks' own JUnit documents (suites renamed `<task key>.<suite>`), and a failed case per bad file."""

    documents: list[tuple[ResultFile, ET.Element]] = field(default_factory=list)
    problems: list[Case] = field(default_factory=list)


# What a task is in when the step ended before the task could end by itself.
UNFINISHED_STATES = frozenset(
    {"PENDING", "QUEUED", "BLOCKED", "WAITING_FOR_RETRY", "RUNNING", "TERMINATING", "CANCELED", "TIMEDOUT"}
)


def run_suite(run: jobs.Run, outputs: dict[str, jobs.RunOutput], base_folder: str, interrupted: str = "") -> Suite:
    """One suite named after the run, one case per task in the run's order. `interrupted`: how the step ended before
    the run did ("Timed out after 5 minutes", "Cancelled", ...), the message of every task it left unfinished."""
    started = datetime.fromtimestamp(run.start_time / 1000, tz=timezone.utc) if run.start_time else None
    cases = []
    for task in run.tasks or []:
        case = task_case(task, outputs.get(task.task_key or str(task.run_id)), base_folder)
        if interrupted and task_state(task) in UNFINISHED_STATES:
            case.message = untrusted_text(f"{interrupted} ({task_state(task)})", MAX_MESSAGE_CHARS)
        cases.append(case)
    return Suite(name=run.run_name or f"run {run.run_id}", cases=cases, timestamp=started)


def task_case(task: jobs.RunTask, output: jobs.RunOutput | None, base_folder: str) -> Case:
    state = task_state(task)
    output = output or jobs.RunOutput()
    case = Case(name=task.task_key or str(task.run_id), classname=task_source(task, base_folder))
    case.time = (task.execution_duration or 0) / 1000 or task_seconds(task)
    case.system_out = untrusted_text(task_output_text(task, output), MAX_TEXT_CHARS)
    message = (task.state.state_message if task.state else "") or ""
    if state in PASSING_STATES:
        case.outcome = PASSED
    elif state in SKIP_REASONS or (task.state and task.state.life_cycle_state == jobs.RunLifeCycleState.SKIPPED):
        case.outcome = SKIPPED
        reason = first_line(message) or SKIP_REASONS.get(state, "Databricks skipped it")
        case.message = untrusted_text(not_started_message(state, reason), MAX_MESSAGE_CHARS)
    else:
        error = (output.error or "").strip() or message.strip() or f"The task ended {state}"
        case.outcome = FAILED
        code = _termination_code(task)
        headline = not_started_message(code, first_line(error)) if code in FAILED_BEFORE_START else first_line(error)
        case.message = untrusted_text(headline, MAX_MESSAGE_CHARS)
        case.text = untrusted_text(output.error_trace or error, MAX_TEXT_CHARS)
    return case


def not_started_message(why: str, reason: str) -> str:
    """ "Not started (UPSTREAM_FAILED): Upstream task failed"; a run Databricks refused: "Not started: <its answer>"."""
    return f"Not started: {reason}" if why == NOT_STARTED else f"Not started ({why}): {reason}"


def _termination_code(task: jobs.RunTask) -> str:
    details = task.status.termination_details if task.status else None
    return details.code.value if details and details.code else ""


def task_source(task: jobs.RunTask, base_folder: str) -> str:
    """What a task runs, as a "test file": a notebook or Python file path relative to the Git folder if in it."""
    if task.notebook_task is not None:
        return _relative(task.notebook_task.notebook_path, base_folder)
    if task.spark_python_task is not None:
        return _relative(task.spark_python_task.python_file, base_folder)
    return next((kind for kind in _TASK_KINDS if getattr(task, kind, None) is not None), task.task_key or "task")


def task_output_text(task: jobs.RunTask, output: jobs.RunOutput) -> str:
    """The exit value, an excerpt of the logs and the run page: what `system-out` and the log group show."""
    parts = []
    result = output.notebook_output.result if output.notebook_output else None
    if result is not None:
        cut = " (truncated by Databricks)" if output.notebook_output and output.notebook_output.truncated else ""
        parts.append(f"Exit value{cut}: {result}")
    if output.logs:
        logs = output.logs[-MAX_LOG_EXCERPT_CHARS:]
        cut = " (end)" if len(output.logs) > MAX_LOG_EXCERPT_CHARS or output.logs_truncated else ""
        parts.append(f"Logs{cut}:\n{logs.rstrip()}")
    if task.run_page_url:
        parts.append(f"Run page: {task.run_page_url}")
    return "\n".join(parts)


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def notebook_results(files: list[ResultFile]) -> NotebookResults:
    """Parse what the notebooks wrote, every text of it through the trust boundary; an unreadable or malformed file
    becomes a failed case naming it."""
    results = NotebookResults()
    for file in files:
        if file.content is None:
            results.problems.append(problem_case(file, file.error or f"{file.path} could not be read"))
            continue
        try:
            root = parse_document(file.content)
        except JUnitFormatError as err:
            results.problems.append(problem_case(file, f"{file.path} is not valid JUnit XML: {err}"))
            continue
        prefix_suites(root, file.task_key)
        sanitize_document(root)  # rewritten through the trust boundary before anything reads or publishes it
        results.documents.append((file, root))
    return results


def problem_case(file: ResultFile, message: str) -> Case:
    """A failed case naming a result file that cannot count as test results, and why."""
    return Case(
        name=f"{file.task_key}: {posixpath.basename(file.path) or file.path}",
        classname=file.path,
        outcome=FAILED,
        message=untrusted_text(first_line(message), MAX_MESSAGE_CHARS),
        text=untrusted_text(message, MAX_TEXT_CHARS),
    )


def _relative(path: str | None, base_folder: str) -> str:
    path = path or ""
    base = base_folder.removeprefix("/Workspace").rstrip("/")
    plain = path.removeprefix("/Workspace")
    if base and plain.startswith(base + "/"):
        return plain[len(base) + 1 :]
    return path
