"""What the user sees while a command works: plain change-only lines, or a live table on a terminal.

Commands report through the `Output` interface only, so the same code serves a terminal, a CI log and (through
the Azure DevOps reporter) a pipeline run.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, TextIO

from databricks.sdk.service.jobs import Run, RunTask

from .secrets import redact

SDK_RETRY_LOGGER = "databricks.sdk.retries"
STATE_STYLES = {"SUCCESS": "green", "RUNNING": "cyan"}  # the live table's; other states but PENDING are red


class Output(Protocol):
    def info(self, message: str) -> None: ...

    def warning(self, message: str) -> None: ...

    def run_started(self, run: Run) -> None: ...

    def task_started(self, task: RunTask) -> None: ...

    def task_finished(self, task: RunTask) -> None: ...

    def close(self) -> None: ...


def counted(number: int, noun: str) -> str:
    """`1 task`, `2 tasks`: a count with its noun in the right number (English plurals in -s only)."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def duration_words(seconds: int) -> str:
    """`3 seconds`, `1 minute`, `1.5 minutes`: a whole number of seconds in minutes (the unit of `timeoutMinutes`),
    or in seconds below a minute, the noun in the right number."""
    if seconds < 60:
        return counted(seconds, "second")
    minutes = seconds / 60
    return f"{minutes:g} minute{'' if minutes == 1 else 's'}"


# dbcicd's own word, not Databricks': a run that Databricks refused to start, and its tasks (steps/notstarted.py).
# They have no run id, and no life cycle state or result.
NOT_STARTED = "NOT_STARTED"


def task_state(task: RunTask | Run) -> str:
    """The most telling state word: the result when there is one, else the life cycle state; NOT_STARTED for a run
    (or task) that Databricks never started, so has no run id nor any state of Databricks'."""
    state = task.state
    if task.run_id is None and (state is None or (state.result_state is None and state.life_cycle_state is None)):
        return NOT_STARTED
    if state is None:
        return "PENDING"
    if state.result_state is not None:
        return state.result_state.value
    return state.life_cycle_state.value if state.life_cycle_state else "PENDING"


def task_seconds(task: RunTask | Run) -> float:
    """How long a task ran (execution + setup + cleanup), from the API's millisecond durations."""
    if task.run_duration:
        return task.run_duration / 1000
    parts = (task.setup_duration or 0) + (task.execution_duration or 0) + (task.cleanup_duration or 0)
    if parts:
        return parts / 1000
    if task.start_time and task.end_time:
        return max(0, task.end_time - task.start_time) / 1000
    return 0.0


class PlainOutput:
    """One line per change, nothing while nothing happens: readable in any CI log."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def _print(self, text: str) -> None:
        print(redact(text), file=self.stream, flush=True)

    def info(self, message: str) -> None:
        self._print(message)

    def warning(self, message: str) -> None:
        self._print(f"WARNING: {message}")

    def run_started(self, run: Run) -> None:
        self._print(f"Run {run.run_id}: {run.run_page_url}")

    def task_started(self, task: RunTask) -> None:
        self._print(f"  {task.task_key}: started")

    def task_finished(self, task: RunTask) -> None:
        line = f"  {task.task_key}: {task_state(task)} in {task_seconds(task):.1f} s"
        message = task.state.state_message if task.state else ""
        if task_state(task) != "SUCCESS" and message:
            line += f" - {message.splitlines()[0]}"
        self._print(line)

    def close(self) -> None:
        self.stream.flush()


class LiveOutput(PlainOutput):
    """On a terminal: the same lines, plus a live table of every task's state while the run is going."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.live import Live

        super().__init__(stream)
        self._console = Console(file=stream)
        self._states: dict[str, tuple[str, str]] = {}
        self._live = Live(self._table(), console=self._console, refresh_per_second=4, transient=True)

    def _table(self) -> object:
        """The table, every cell a styled `Text`: never markup, which a line printed above the table (printed with
        markup off, as task keys and messages may hold brackets) would show raw, `[red]FAILED[/]`."""
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, show_header=True, header_style="bold")
        table.add_column("task")
        table.add_column("state")
        table.add_column("time", justify="right")
        for key, (state, seconds) in self._states.items():
            style = STATE_STYLES.get(state, "" if state == "PENDING" else "red")
            table.add_row(Text(key), Text(state, style=style), Text(seconds))
        return table

    def _print(self, text: str) -> None:
        self._console.print(redact(text), markup=False, highlight=False)

    def run_started(self, run: Run) -> None:
        super().run_started(run)
        self._states = {t.task_key or str(t.run_id): ("PENDING", "") for t in run.tasks or []}
        self._live.start()
        self._live.update(self._table())

    def task_started(self, task: RunTask) -> None:
        self._states[task.task_key or str(task.run_id)] = ("RUNNING", "")
        self._live.update(self._table())

    def task_finished(self, task: RunTask) -> None:
        super().task_finished(task)
        self._states[task.task_key or str(task.run_id)] = (task_state(task), f"{task_seconds(task):.1f} s")
        self._live.update(self._table())

    def close(self) -> None:
        self._live.stop()
        super().close()


def choose_output(stream: TextIO) -> Output:
    """A live display on an interactive terminal, plain change-only lines everywhere else (CI logs, pipes)."""
    if stream.isatty() and os.environ.get("TF_BUILD", "").lower() != "true" and not os.environ.get("CI"):
        return LiveOutput(stream)
    return PlainOutput(stream)


class _RetryReporter(logging.Handler):
    """Turns databricks-sdk's 'Retrying: <reason>' debug records into warnings the user sees."""

    def __init__(self, output: Output) -> None:
        super().__init__(logging.DEBUG)
        self.output = output

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Retrying"):
            self.output.warning(f"A Databricks API call failed and is retried: {message.partition(': ')[2] or message}")


@contextmanager
def debug_records(logger_name: str, handler: logging.Handler) -> Iterator[None]:
    """While active, `handler` gets the logger's records down to DEBUG (the logger's level is restored after)."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.DEBUG:
        logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@contextmanager
def retries_reported(output: Output) -> Iterator[None]:
    """While active, every retry the SDK makes (429, 503, dropped connections) shows as a warning line."""
    with debug_records(SDK_RETRY_LOGGER, _RetryReporter(output)):
        yield
