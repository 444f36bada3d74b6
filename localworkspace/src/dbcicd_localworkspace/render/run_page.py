"""Runs as pages: a run with its tasks (state, duration) and each task's output, error and trace; the list of
recent runs; and runs/export's notebook view of one task (export_page.py). The records are copied under the
engine's lock (`RunView.of`), the pages are made from the copy, reading the tasks' files without the lock."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..http.errors import invalid_parameter
from ..jobs.run_model import Run, TaskRun
from ..jobs.task_process import STDERR_FILE, STDOUT_FILE, tail
from ..runtime import cell_record
from .export_page import export_document, notebook_model
from .notebook import cells_html
from .page import document, duration, esc, when

LOGS = {"stdout": STDOUT_FILE, "stderr": STDERR_FILE}
ACTIVE_RELOAD_S = 3  # how often the page of an active run reloads itself
MAX_LOG_BYTES = 256 * 1024  # of a Python file task's log on its run page (the end: it holds the error)
EXPORT_VIEWS = ("CODE", "DASHBOARDS", "ALL")
# Wording of these refusals is a guess: no source records what a workspace answers.
MULTI_TASK_EXPORT = (
    "Exporting runs with multiple tasks is not supported. Please export each individual task run instead."
)
NOT_A_NOTEBOOK = "Only notebook runs can be exported; task {key} runs {kind}"


@dataclass(frozen=True)
class TaskView:
    key: str
    run_id: int
    kind: str
    path: str
    phase: str
    result: str
    message: str
    start_ms: int
    end_ms: int
    folder: Path
    error: str | None
    error_trace: str | None
    exit_value: str | None

    @classmethod
    def of(cls, task: TaskRun) -> TaskView:
        body = task.spec.body
        outcome = task.outcome
        return cls(
            key=task.key,
            run_id=task.run_id,
            kind=task.spec.kind,
            path=str(body.get("notebook_path") or body.get("python_file") or ""),
            phase=outcome.life_cycle_state if outcome else task.phase,
            result=outcome.result_state if outcome else "",
            message=outcome.message if outcome else "",
            start_ms=task.ready_ms,
            end_ms=task.end_ms,
            folder=task.folder,
            error=task.output.error,
            error_trace=task.output.error_trace,
            exit_value=task.output.exit_value,
        )

    @property
    def state(self) -> str:
        return self.result or self.phase

    def duration_ms(self) -> int:
        return (self.end_ms or int(time.time() * 1000)) - self.start_ms if self.start_ms else 0

    def cells(self) -> list[dict[str, Any]] | None:
        return cell_record.read(str(self.folder), LOGS)


@dataclass(frozen=True)
class RunView:
    run_id: int
    job_id: int
    name: str
    phase: str
    result: str
    message: str
    start_ms: int
    end_ms: int
    tasks: tuple[TaskView, ...]
    task_run_id: int | None = None  # the page of one task run of the run

    @classmethod
    def of(cls, run: Run, task: TaskRun | None = None) -> RunView:
        outcome = run.outcome
        return cls(
            run_id=run.run_id,
            job_id=run.job_id,
            name=run.spec.run_name or f"Run {run.run_id}",
            phase=outcome.life_cycle_state if outcome else run.phase,
            result=outcome.result_state if outcome else "",
            message=outcome.message if outcome else "",
            start_ms=run.created_ms,
            end_ms=run.end_ms,
            tasks=tuple(TaskView.of(t) for t in run.tasks),
            task_run_id=task.run_id if task is not None else None,
        )

    @property
    def state(self) -> str:
        return self.result or self.phase


def run_page(view: RunView) -> str:
    """The page of a run, or of one task run of it (its `task_run_id`)."""
    tasks = [t for t in view.tasks if view.task_run_id in (None, t.run_id)]
    rows = "".join(
        f'<tr><td><a href="#task-{t.run_id}">{esc(t.key)}</a></td><td>{esc(t.path)}</td>'
        f"<td>{_state(t.state)}</td><td>{esc(when(t.start_ms))}</td><td>{esc(duration(t.duration_ms()))}</td>"
        f"<td>{esc(t.message)}</td></tr>"
        for t in tasks
    )
    elapsed = (view.end_ms or int(time.time() * 1000)) - view.start_ms
    summary = (
        f"<p>{_state(view.state)} · started {esc(when(view.start_ms))} · {esc(duration(elapsed))}"
        + (f"<br>{esc(view.message)}" if view.message else "")
        + "</p>"
    )
    if view.task_run_id is not None:
        summary += f'<p><a href="/jobs/{view.job_id}/runs/{view.run_id}">The whole run</a></p>'
    table = (
        "<table><thead><tr><th>Task</th><th>Notebook</th><th>State</th><th>Started</th><th>Duration</th>"
        f"<th>Message</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    sections = "".join(_task_section(t) for t in tasks)
    subtitle = f"Job {view.job_id} · run {view.task_run_id or view.run_id}"
    return document(
        view.name, subtitle, summary + table + sections, refresh_seconds=0 if view.result else ACTIVE_RELOAD_S
    )


def index_page(views: list[RunView], script: str) -> str:
    """The recent runs; `script` sends a Databricks run page link (`/#job/<job>/run/<run>`) to the run's page."""
    rows = "".join(
        f'<tr><td><a href="/jobs/{v.job_id}/runs/{v.run_id}">{esc(v.name)}</a></td><td>{v.run_id}</td>'
        f"<td>{_state(v.state)}</td><td>{esc(when(v.start_ms))}</td><td>{len(v.tasks)}</td></tr>"
        for v in views
    )
    body = (
        "<table><thead><tr><th>Run</th><th>Id</th><th>State</th><th>Started</th><th>Tasks</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if views
        else '<p class="note">No runs yet.</p>'
    )
    return document("Local workspace", "Runs, newest first", body, script)


def export_views(view: RunView, views_to_export: str) -> dict[str, Any]:
    """runs/export: one NOTEBOOK view, the notebook as it ran. The local workspace has no dashboards, so
    DASHBOARDS exports nothing (empty arrays are left out of answers, as Databricks does)."""
    if views_to_export not in EXPORT_VIEWS:
        raise invalid_parameter(
            f"Invalid views_to_export '{views_to_export}': expected one of {', '.join(EXPORT_VIEWS)}"
        )
    if view.task_run_id is None and len(view.tasks) != 1:
        raise invalid_parameter(MULTI_TASK_EXPORT)
    task = next(t for t in view.tasks if view.task_run_id in (None, t.run_id))
    if task.kind != "notebook_task":
        raise invalid_parameter(NOT_A_NOTEBOOK.format(key=task.key, kind=task.kind))
    if views_to_export == "DASHBOARDS":
        return {}
    name = task.path.rstrip("/").rsplit("/", 1)[-1]
    model = notebook_model(name, task.cells() or [], task.error or "", task.error_trace or "")
    return {"views": [{"content": export_document(name, model), "name": name, "type": "NOTEBOOK"}]}


def _task_section(task: TaskView) -> str:
    cells = task.cells()
    if cells is not None and task.kind == "notebook_task":
        body = cells_html(cells)
    else:
        body = (
            "".join(
                f'<h3>{name}</h3><pre class="{name}">{esc(text)}</pre>'
                for name, text in ((n, tail(task.folder / f, MAX_LOG_BYTES)[0]) for n, f in LOGS.items())
                if text
            )
            or '<p class="note">No output.</p>'
        )
    return (
        f'<section class="task" id="task-{task.run_id}"><h2>{esc(task.key)} {_state(task.state)}</h2>'
        f"{_task_header(task, recorded=cells is not None)}{body}</section>"
    )


def _task_header(task: TaskView, recorded: bool) -> str:
    """Where the task ran and for how long, how it ended. The trace and the exit value only when no cell record
    shows them (in the cell that raised or exited, secret values redacted as the cell's output is)."""
    parts = [f"<p>{esc(task.path)} · {esc(duration(task.duration_ms()))}</p>"]
    if task.error:
        shown = f'<pre class="trace">{esc(task.error_trace)}</pre>' if not recorded and task.error_trace else ""
        parts.append(f'<div class="error"><pre class="message">{esc(task.error)}</pre>{shown}</div>')
    if task.exit_value is not None and not recorded:
        parts.append(f'<pre class="exit">Notebook exited: {esc(task.exit_value)}</pre>')
    return "".join(parts)


def _state(state: str) -> str:
    return f'<span class="state {esc(state)}">{esc(state)}</span>'
