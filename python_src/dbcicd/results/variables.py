"""Output variables from notebook exit values, so a later stage can gate on what a notebook decided.

When a task's exit value (`dbutils.notebook.exit(json.dumps({...}))`) is a JSON object, each key with a scalar value
becomes the output variable `notebookOutput_<taskKey>_<key>`; in a run of one task also `notebookOutput_<key>`.
Characters other than letters, digits and `_` in the task key or the key become `_`. Values are as JSON writes
them (`true`, `0.91`), strings without quotes, null as empty; nested objects and lists are left out (the whole
exit value is in `notebookOutput`). E.g. `dependencies.train.outputs['run.notebookOutput_promote']`.

Exit values are written by notebooks, so they are untrusted (dbcicd.untrusted), and the agent hands every output
variable to the steps that follow, in their environment. `within_limits` decides what is set:

- a value holding a logging command (`##vso[`, `##[`) is refused, with a warning naming its task and key: a later
  step that prints it (`echo $(var)`) would run the command. Refused rather than neutralised because a changed
  value that looks right would mislead whatever the value decides, while a missing one is noticed;
- a value over `MAX_VARIABLE_CHARS` is cut, with a warning: Windows holds at most 32,767 characters in one
  environment variable (learn.microsoft.com, "Environment Variables", win32/procthread/environment-variables), and
  32,000 characters are at most 128,000 bytes, within Linux's 128 KiB for one environment string
  (MAX_ARG_STRLEN, man 2 execve); beyond, later steps fail to start (E2BIG);
- the step's variables together stay within `MAX_STEP_VARIABLES_BYTES` (names and values, UTF-8): Linux holds the
  arguments and environment of a new process in a quarter of its stack limit, 2 MiB with the usual 8 MiB (man 2
  execve), and the agent's own variables need their share. The variables that would pass it are left out, with a
  warning naming them; dbcicd's own variables (run id, page, state) come first and are always kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from databricks.sdk.service import jobs

from ..secrets import redact
from ..untrusted import carries_command, untrusted_text

PREFIX = "notebookOutput"
MAX_VARIABLE_CHARS = 32_000
MAX_STEP_VARIABLES_BYTES = 1024 * 1024
MAX_NAMED = 10  # variables named in one warning
MAX_NAME_SHOWN = 200  # characters of each (a key may be as long as a notebook likes)
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")


def exit_value_variables(run: jobs.Run | None, outputs: dict[str, jobs.RunOutput]) -> dict[str, str]:
    """The per-key variables of every task whose exit value is a JSON object (in the run's task order)."""
    return {name: value for name, (value, _) in _exit_values(run, outputs).items()}


def within_limits(
    own: Mapping[str, str], run: jobs.Run | None, outputs: dict[str, jobs.RunOutput]
) -> tuple[dict[str, str], list[str]]:
    """The output variables to set — `own` (the command's: run id, page, state, the whole `notebookOutput`) then
    the exit values' keys — and a warning for each thing refused, cut or left out (see the module's docstring)."""
    whole = (
        "the exit value of the run's tasks" if len(outputs) != 1 else f"the exit value of task {next(iter(outputs))}"
    )
    candidates = {name: (value, whole if name == PREFIX else "") for name, value in own.items()}
    candidates.update(_exit_values(run, outputs))
    kept: dict[str, str] = {}
    refused, cut, left_out = [], [], []
    used = 0
    for name, (value, origin) in candidates.items():
        if origin and carries_command(value):
            refused.append(f"{name} ({origin})")
            continue
        if len(value) > MAX_VARIABLE_CHARS:
            value = redact(value)[:MAX_VARIABLE_CHARS]  # masked before the cut, which could split a secret
            cut.append(name)
        size = len(name.encode()) + len(value.encode("utf-8", "replace"))
        if origin and used + size > MAX_STEP_VARIABLES_BYTES:
            left_out.append(name)
            continue
        kept[name] = value
        used += size
    return kept, _limit_warnings(refused, cut, left_out)


def _limit_warnings(refused: list[str], cut: list[str], left_out: list[str]) -> list[str]:
    warnings = []
    if refused:
        warnings.append(
            f"Output {_names(refused, 'variable')} not set: the value holds a logging command (##vso[ or ##[), "
            "which a later step printing it would run. Return data without it from dbutils.notebook.exit."
        )
    if cut:
        warnings.append(
            f"Output {_names(cut, 'variable')} cut to the first {MAX_VARIABLE_CHARS:,} characters: the agent hands "
            "variables to later steps in their environment, where longer values keep them from starting. Return "
            "less from dbutils.notebook.exit, e.g. the path of a file holding the rest."
        )
    if left_out:
        warnings.append(
            f"Output {_names(left_out, 'variable')} left out: the step's output variables would pass "
            f"{MAX_STEP_VARIABLES_BYTES >> 20} MiB in all, more than later steps can be started with. Return less "
            "from dbutils.notebook.exit."
        )
    return warnings


def _names(names: list[str], noun: str) -> str:
    shown = ", ".join(untrusted_text(name, MAX_NAME_SHOWN) for name in names[:MAX_NAMED])
    if len(names) > MAX_NAMED:
        shown += f" and {len(names) - MAX_NAMED} more"
    return f"{noun}{'s' if len(names) > 1 else ''} {shown}"


def _exit_values(run: jobs.Run | None, outputs: dict[str, jobs.RunOutput]) -> dict[str, tuple[str, str]]:
    """name -> (value, where it came from: task and key) of every exit value's scalar keys."""
    if run is None:
        return {}
    keys = [task.task_key or str(task.run_id) for task in run.tasks or []]
    variables: dict[str, tuple[str, str]] = {}
    for task_key in keys:
        output = outputs.get(task_key)
        result = output.notebook_output.result if output and output.notebook_output else None
        for key, value in _scalars(result).items():
            name = _NOT_NAME.sub("_", key)
            origin = f"task {task_key}, key {key}"
            variables[f"{PREFIX}_{_NOT_NAME.sub('_', task_key)}_{name}"] = (value, origin)
            if len(keys) == 1:
                variables[f"{PREFIX}_{name}"] = (value, origin)
    return variables


def _scalars(result: str | None) -> dict[str, str]:
    if not result or not result.lstrip().startswith("{"):
        return {}
    try:
        loaded: Any = json.loads(result)
    except ValueError:
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {str(k): _text(v) for k, v in loaded.items() if str(k) and not isinstance(v, (dict, list))}


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)
