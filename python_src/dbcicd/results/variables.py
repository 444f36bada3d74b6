"""Output variables from notebook exit values, so a later stage can gate on what a notebook decided.

When a task's exit value (`dbutils.notebook.exit(json.dumps({...}))`) is a JSON object, each key with a scalar value
becomes the output variable `notebookOutput_<taskKey>_<key>`; in a run of one task also `notebookOutput_<key>`.
Characters other than letters, digits and `_` in the task key or the key become `_`. Values are as JSON writes
them (`true`, `0.91`), strings without quotes, null as empty; nested objects and lists are left out (the whole
exit value is in `notebookOutput`). E.g. `dependencies.train.outputs['run.notebookOutput_promote']`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from databricks.sdk.service import jobs

PREFIX = "notebookOutput"
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")


def exit_value_variables(run: jobs.Run | None, outputs: dict[str, jobs.RunOutput]) -> dict[str, str]:
    """The per-key variables of every task whose exit value is a JSON object (in the run's task order)."""
    if run is None:
        return {}
    keys = [task.task_key or str(task.run_id) for task in run.tasks or []]
    variables: dict[str, str] = {}
    for task_key in keys:
        output = outputs.get(task_key)
        result = output.notebook_output.result if output and output.notebook_output else None
        for key, value in _scalars(result).items():
            name = _NOT_NAME.sub("_", key)
            variables[f"{PREFIX}_{_NOT_NAME.sub('_', task_key)}_{name}"] = value
            if len(keys) == 1:
                variables[f"{PREFIX}_{name}"] = value
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
