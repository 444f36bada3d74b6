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
- everything is passed through `redact` as well: the agent only masks what it was told of;
- issues (`task.logissue`) are rationed: the agent keeps the first 10 errors and the first 10 warnings of a step
  (azure-pipelines-agent, src/Agent.Worker/ExecutionContext.cs: `_maxIssueCount = 10`; AddIssue writes every issue
  to the log but adds to the step's record, which the summary page lists, only while its ErrorCount or WarningCount
  is below that) and drops the rest without a word. So a step spends its issues on what matters most, first, and
  the last one it keeps says how many more there are (`IssueBudget`).
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
AGENT_MAX_ISSUES = 10  # of each type a step: ExecutionContext.cs, `_maxIssueCount`
# The Node entry point ends a failed step with the task library's setResult(Failed, message), which adds an error
# issue of its own (azure-pipelines-task-lib, node/task.ts, setResult): the core leaves it room.
ENTRY_ERROR_ISSUES = 1


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


class IssueBudget:
    """How many issues of each type a step may still send so that the agent keeps every one: AGENT_MAX_ISSUES, less
    the Node entry's own error, less one slot kept to the end. That last slot takes the one issue that did not fit,
    or a line saying how many did not (`CommandWriter.end_issues`); so the step's record shows the first issues sent
    — the verdict and the first failures, which the report sends first — and never silently less than there was."""

    def __init__(self) -> None:
        self._left = {"error": AGENT_MAX_ISSUES - ENTRY_ERROR_ISSUES - 1, "warning": AGENT_MAX_ISSUES - 1}
        self._held: dict[str, tuple[int, str]] = {}  # type -> how many were not sent, and the first of them

    def take(self, kind: str, message: str) -> bool:
        """Whether an issue of `kind` may be sent now; when it may not, it is counted (and kept, if the first)."""
        if self._left[kind] > 0:
            self._left[kind] -= 1
            return True
        count, first = self._held.get(kind, (0, message))
        self._held[kind] = (count + 1, first)
        return False

    def held(self) -> dict[str, tuple[int, str]]:
        """By type, the issues not sent: how many, and the first of them."""
        return dict(self._held)


def azure_devops_active(environ: Mapping[str, str], forced: bool = False) -> bool:
    """Logging commands are for the agent: on when it runs us (`TF_BUILD=True`) or when asked for."""
    return forced or environ.get("TF_BUILD", "").lower() == "true"


class CommandWriter:
    """Writes lines and logging commands to the agent, each registered secret announced before anything else."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self._announced: set[str] = set()
        self._lock = threading.Lock()
        self.issues = IssueBudget()

    def command(self, name: str, properties: Mapping[str, str] | None = None, message: str = "") -> None:
        safe = {key: redact(value) for key, value in (properties or {}).items()}
        self._write([format_command(name, safe, redact(message))])

    def issue(self, kind: str, message: str, where: Mapping[str, str] | None = None) -> None:
        """An error or warning issue, while the step's budget lasts (`IssueBudget`); after that a line of the log
        formatted as the agent formats an issue there (`##[error]`, `##[warning]`), so that nothing is lost. `where`:
        the file it is about, as `sourcepath`, `linenumber`, `columnnumber` (learn.microsoft.com/azure/devops/
        pipelines/scripts/logging-commands, LogIssue; escaped as every property is)."""
        if self.issues.take(kind, message):
            self.command("task.logissue", {"type": kind, **(where or {})}, message)
        else:
            lines = neutral_lines(redact(message))
            self._write([f"##[{kind}]{lines[0]}", *lines[1:]])

    def end_issues(self) -> None:
        """The step's last issue of each type: how many did not fit (see the log or the summary), if any did not."""
        for kind, (count, first) in self.issues.held().items():
            where = "the summary and the log" if kind == "error" else "the log"
            message = first if count == 1 else f"and {count} more {kind}s: see {where}"
            self.command("task.logissue", {"type": kind}, message)

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
        self.writer.issue("warning", message)

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
