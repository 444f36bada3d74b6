"""Speaking to the Azure Pipelines agent: `##vso[...]` logging commands, log groups, and an `Output` for pipelines.

The agent reads a task's stdout line by line. A line holding `##vso[area.action key=value;...]message` anywhere is a
command; `##[group]`, `##[endgroup]`, `##[error]` ... at the start of a line format the log. So:

- property values escape `%` `\\r` `\\n` `]` `;` and messages `%` `\\r` `\\n` (as `%AZP25`, `%0D`, `%0A`, `%5D`, `%3B`),
  which the agent decodes back; a value can neither end the property list nor start a second line;
- every other line (notebook output, errors, anything a notebook controls) is neutralised by the trust boundary
  (dbcicd.untrusted): `##vso[` and `##[` get a space after the first `#`, so output cannot set variables or close
  our groups;
- `task.setsecret` goes out for every registered secret before any other line, so the agent masks it in the log
  whatever prints it later (and in the outputs of later steps too);
- everything is passed through `redact` as well: the agent only masks what it was told of.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import TextIO

from databricks.sdk.service.jobs import Run, RunTask

from ..output import task_seconds, task_state
from ..secrets import redact, registered_secrets
from ..untrusted import neutralised

COMMAND_PREFIX = "##vso["
_MESSAGE_ESCAPES = (("%", "%AZP25"), ("\r", "%0D"), ("\n", "%0A"))
_PROPERTY_ESCAPES = (*_MESSAGE_ESCAPES, ("]", "%5D"), (";", "%3B"))
_COMMAND_NAME = re.compile(r"[A-Za-z]+\.[A-Za-z]+")
_PROPERTY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def escape_property(value: str) -> str:
    for token, replacement in _PROPERTY_ESCAPES:
        value = value.replace(token, replacement)
    return value


def escape_message(value: str) -> str:
    for token, replacement in _MESSAGE_ESCAPES:
        value = value.replace(token, replacement)
    return value


def format_command(name: str, properties: Mapping[str, str] | None = None, message: str = "") -> str:
    """One logging command line. Properties with empty values are left out (the agent drops them anyway)."""
    if not _COMMAND_NAME.fullmatch(name):
        raise ValueError(f"logging command name '{name}' must be area.action, e.g. task.setvariable")
    parts = []
    for key, value in (properties or {}).items():
        if not _PROPERTY_NAME.fullmatch(key):
            raise ValueError(f"logging command property '{key}' must be a plain word")
        if value:
            parts.append(f"{key}={escape_property(value)}")
    head = f"{name} {';'.join(parts)}" if parts else name
    return f"{COMMAND_PREFIX}{head}]{escape_message(message)}"


def neutral_lines(text: str) -> list[str]:
    """`text` as log lines that the agent shows but never executes."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [neutralised(line) for line in lines]


def azure_devops_active(environ: Mapping[str, str], forced: bool = False) -> bool:
    """Logging commands are for the agent: on when it runs us (`TF_BUILD=True`) or when asked for."""
    return forced or environ.get("TF_BUILD", "").lower() == "true"


class CommandWriter:
    """Writes lines and logging commands to the agent, each registered secret announced before anything else."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self._announced: set[str] = set()
        self._lock = threading.Lock()

    def command(self, name: str, properties: Mapping[str, str] | None = None, message: str = "") -> None:
        safe = {key: redact(value) for key, value in (properties or {}).items()}
        self._write([format_command(name, safe, redact(message))])

    def text(self, text: str) -> None:
        """Plain text (any number of lines), neutralised and redacted."""
        self._write(neutral_lines(redact(text)))

    def group(self, title: str, lines: Iterable[str]) -> None:
        """A collapsible section of the log."""
        title_line = neutral_lines(redact(title))[0]
        body = [line for text in lines for line in neutral_lines(redact(text.rstrip("\r\n")))]
        self._write([f"##[group]{title_line}", *body, "##[endgroup]"])

    def set_variable(self, name: str, value: str, is_output: bool = True) -> None:
        properties = {"variable": name, "isoutput": "true" if is_output else ""}
        self.command("task.setvariable", properties, value)

    def flush(self) -> None:
        self.stream.flush()

    def _write(self, lines: list[str]) -> None:
        with self._lock:
            pending = self._new_secrets()
            text = "".join(line + "\n" for line in (*pending, *lines))
            # Text from a run may hold lone surrogates, which no stream can encode: '?' instead of a crash.
            self.stream.write(text.encode("utf-8", "replace").decode("utf-8"))
            self.stream.flush()

    def _new_secrets(self) -> list[str]:
        """setsecret lines for secrets registered since the last write; the agent refuses multi-line values."""
        fresh = sorted(registered_secrets() - self._announced)
        self._announced.update(fresh)
        return [format_command("task.setsecret", None, s) for s in fresh if "\n" not in s and "\r" not in s]


class AzureDevOpsOutput:
    """The `Output` of a pipeline step: progress as `task.setprogress`, warnings as issues, the rest as lines."""

    def __init__(self, writer: CommandWriter) -> None:
        self.writer = writer
        self._tasks = 0
        self._finished: set[str] = set()

    def info(self, message: str) -> None:
        self.writer.text(message)

    def warning(self, message: str) -> None:
        self.writer.command("task.logissue", {"type": "warning"}, message)

    def run_started(self, run: Run) -> None:
        self._tasks = len(run.tasks or [])
        self.writer.text(f"Run {run.run_id}: {run.run_page_url}")
        self.writer.command("task.setprogress", {"value": "0"}, f"Waiting for run {run.run_id}")

    def task_started(self, task: RunTask) -> None:
        self.writer.text(f"  {task.task_key}: started")

    def task_finished(self, task: RunTask) -> None:
        self._finished.add(task.task_key or str(task.run_id))
        self.writer.text(f"  {task.task_key}: {task_state(task)} in {task_seconds(task):.1f} s")
        if self._tasks:
            percent = min(100, len(self._finished) * 100 // self._tasks)
            progress = f"{len(self._finished)} of {self._tasks} tasks finished"
            self.writer.command("task.setprogress", {"value": str(percent)}, progress)

    def close(self) -> None:
        self.writer.flush()
