"""The parameters each task of a run receives: its own settings, then the run's overrides, then {{references}}.

Order of precedence follows Databricks: `notebook_params` of run-now override a notebook task's
`base_parameters`, job parameters override both, and `python_params` replace a Python file task's `parameters`.
Dynamic value references (`{{job.run_id}}`, `{{task.name}}`, `{{job.parameters.env}}` and the older
`{{run_id}}`, `{{parent_run_id}}` ...) are substituted; a reference the local workspace does not know is left as
written, as Databricks leaves text that is not a reference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..http.errors import invalid_parameter
from .job_spec import TaskSpec

_REFERENCE = re.compile(r"\{\{\s*([\w.\-]+)\s*\}\}")


@dataclass(frozen=True)
class Overrides:
    """What a run-now request changes for this one run."""

    notebook_params: dict[str, str] | None = None
    python_params: list[str] | None = None
    job_parameters: dict[str, str] | None = None


def resolve_job_parameters(
    declared: list[dict[str, Any]] | None, given: Mapping[str, str] | None
) -> list[dict[str, Any]] | None:
    """The job parameters of a run as runs/get shows them: `[{name, default, value}]`; undeclared names -> 400."""
    declared = declared or []
    names = {p["name"] for p in declared}
    for name in given or {}:
        if name not in names:
            known = ", ".join(sorted(names)) or "none"
            raise invalid_parameter(
                f"Invalid job_parameters: the job does not define a parameter named '{name}' (it defines: {known})"
            )
    if not declared:
        return None
    return [{**p, "value": (given or {}).get(p["name"], p["default"])} for p in declared]


def task_inputs(
    spec: TaskSpec, overrides: Overrides, job_values: Mapping[str, str], refs: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """(widgets, argv) for one task: notebook parameters, or the Python file's command-line arguments."""
    body = spec.body
    if spec.kind == "notebook_task":
        widgets = {**body.get("base_parameters", {}), **(overrides.notebook_params or {}), **job_values}
        return {name: resolve(value, refs) for name, value in widgets.items()}, []
    if spec.kind == "spark_python_task":
        argv = overrides.python_params if overrides.python_params is not None else body.get("parameters", [])
        return {}, [resolve(arg, refs) for arg in argv]
    return {}, []


def references(
    *,
    job_id: int,
    job_name: str,
    run_id: int,
    task_run_id: int,
    task_key: str,
    job_values: Mapping[str, str],
    workspace_id: int,
    host: str,
) -> dict[str, str]:
    refs = {
        "job.id": str(job_id),
        "job.name": job_name,
        "job.run_id": str(run_id),
        "job.repair_count": "0",
        "task.name": task_key,
        "task.run_id": str(task_run_id),
        "task.execution_count": "1",
        "workspace.id": str(workspace_id),
        "workspace.url": host,
        # The older task parameter variables.
        "job_id": str(job_id),
        "run_id": str(task_run_id),
        "parent_run_id": str(run_id),
        "task_key": task_key,
        "task_retry_count": "0",
    }
    refs.update({f"job.parameters.{name}": value for name, value in job_values.items()})
    return refs


def resolve(value: str, refs: Mapping[str, str]) -> str:
    return _REFERENCE.sub(lambda m: refs.get(m.group(1), m.group(0)), value)
