"""What a runs/submit or jobs/create request asks for, validated the way the Jobs service validates it.

Everything a client can get wrong in the request itself is refused here with 400 INVALID_PARAMETER_VALUE and a
message naming the field (`tasks[1].depends_on[0].task_key`) and what would be right. What can only go wrong once
the run starts (a notebook that is not there, a branch that does not exist) is accepted, as Databricks accepts it,
and fails the task later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..http.errors import invalid_parameter
from ..http.request import typed_field
from ..services.git_providers import PROVIDERS

# Every task type the Jobs API knows; only the first two are executed locally (the others fail their task).
EXECUTABLE_TASK_TYPES = ("notebook_task", "spark_python_task")
TASK_TYPES = (
    *EXECUTABLE_TASK_TYPES,
    "python_wheel_task",
    "spark_jar_task",
    "spark_submit_task",
    "sql_task",
    "dbt_task",
    "dbt_cloud_task",
    "dbt_platform_task",
    "pipeline_task",
    "run_job_task",
    "condition_task",
    "for_each_task",
    "dashboard_task",
    "alert_task",
    "power_bi_task",
    "clean_rooms_notebook_task",
    "gen_ai_compute_task",
    "ai_function_task",
    "ai_runtime_task",
    "python_operator_task",
)
COMPUTE_FIELDS = ("existing_cluster_id", "new_cluster", "job_cluster_key", "environment_key")
RUN_IF_VALUES = ("ALL_SUCCESS", "ALL_DONE", "NONE_FAILED", "AT_LEAST_ONE_SUCCESS", "ALL_FAILED", "AT_LEAST_ONE_FAILED")
SOURCES = ("WORKSPACE", "GIT")
GIT_REFS = ("git_branch", "git_tag", "git_commit")
MAX_TASKS = 1000
MAX_IDEMPOTENCY_TOKEN = 64
DEFAULT_RUN_NAME = "Untitled"
_TASK_KEY = re.compile(r"[\w-]{1,100}")


class ComputeRules(Protocol):
    """The workspace's checks of the compute a task asks for (services/compute.py `Clusters`), run where a real
    workspace runs them: at jobs/create, runs/submit and run-now."""

    def require(self, cluster_id: str) -> None:
        """An `existing_cluster_id` that is no cluster of the workspace is refused."""

    def check_new_cluster(self, spec: Mapping[str, Any], where: str) -> None:
        """A `new_cluster` naming an unknown instance pool, node type or Spark version is refused."""

    def check_serverless(self, where: str) -> None:
        """Serverless compute in a workspace without it is refused."""


@dataclass(frozen=True)
class TaskSpec:
    """One task as submitted, with the server-side defaults (`run_if`, `source`) filled in."""

    key: str
    kind: str  # the *_task field that says what the task runs
    settings: dict[str, Any]  # the task object as Databricks echoes it back in runs/get
    depends_on: tuple[str, ...]
    run_if: str
    timeout_seconds: int

    @property
    def body(self) -> dict[str, Any]:
        """The task-type object, e.g. `{"notebook_path": ..., "source": ...}`."""
        return self.settings[self.kind]


@dataclass(frozen=True)
class RunSpec:
    """A validated runs/submit body, or what a job's settings ask of each of its runs."""

    run_name: str
    tasks: tuple[TaskSpec, ...]
    git_source: dict[str, Any] | None
    timeout_seconds: int
    job_clusters: tuple[dict[str, Any], ...] = ()


def parse_submit(body: Mapping[str, Any], api_version: str, compute: ComputeRules) -> RunSpec:
    """A runs/submit body -> RunSpec. API 2.0 also takes one task at the top level (no `tasks` array)."""
    git_source = parse_git_source(body.get("git_source"))
    environments = _environment_keys(body.get("environments"))
    raw_tasks = _raw_tasks(body, api_version, required=True)
    tasks = parse_tasks(raw_tasks, git_source, environments, set(), compute)
    return RunSpec(
        run_name=typed_field(body, "run_name", str, "") or DEFAULT_RUN_NAME,
        tasks=tasks,
        git_source=git_source,
        timeout_seconds=non_negative(body, "timeout_seconds"),
    )


def parse_job_settings(settings: Mapping[str, Any], api_version: str, compute: ComputeRules) -> dict[str, Any]:
    """jobs/create settings, validated; returned with the defaults jobs/get shows (name, max_concurrent_runs ...)."""
    git_source = parse_git_source(settings.get("git_source"))
    environments = _environment_keys(settings.get("environments"))
    job_clusters = _job_cluster_keys(settings.get("job_clusters"))
    for i, cluster in enumerate(settings.get("job_clusters") or ()):
        compute.check_new_cluster(cluster["new_cluster"], f"job_clusters[{i}].new_cluster.")
    raw_tasks = _raw_tasks(settings, api_version, required=False)
    tasks = parse_tasks(raw_tasks, git_source, environments, job_clusters, compute)
    _job_parameters(settings.get("parameters"))
    max_runs = typed_field(settings, "max_concurrent_runs", int, 1)
    if max_runs < 0 or max_runs > 1000:
        raise invalid_parameter(f"Invalid max_concurrent_runs {max_runs}: it must be between 0 and 1000")
    out = {key: value for key, value in settings.items() if key not in _SINGLE_TASK_FIELDS}
    out.update(
        name=typed_field(settings, "name", str, "") or DEFAULT_RUN_NAME,
        tasks=[t.settings for t in tasks],
        max_concurrent_runs=max_runs,
        timeout_seconds=non_negative(settings, "timeout_seconds"),
        email_notifications=settings.get("email_notifications") or {},
        format="MULTI_TASK",
    )
    return out


def run_spec_of_job(settings: Mapping[str, Any], only: list[str] | None) -> RunSpec:
    """What one run of a job executes; `only` keeps a subset of the tasks (dependencies on the others dropped)."""
    tasks = [_spec_from_settings(t) for t in settings.get("tasks", [])]
    if only is not None:
        known = {t.key for t in tasks}
        for i, key in enumerate(only):
            if key not in known:
                raise invalid_parameter(f"Invalid only[{i}]: the job has no task with task_key '{key}'")
        keep = set(only)
        tasks = [
            TaskSpec(
                t.key, t.kind, t.settings, tuple(d for d in t.depends_on if d in keep), t.run_if, t.timeout_seconds
            )
            for t in tasks
            if t.key in keep
        ]
    return RunSpec(
        run_name=settings.get("name") or DEFAULT_RUN_NAME,
        tasks=tuple(tasks),
        git_source=settings.get("git_source"),
        timeout_seconds=int(settings.get("timeout_seconds") or 0),
        job_clusters=tuple(settings.get("job_clusters") or ()),
    )


def parse_idempotency_token(body: Mapping[str, Any]) -> str:
    token = typed_field(body, "idempotency_token", str, "")
    if len(token) > MAX_IDEMPOTENCY_TOKEN:
        raise invalid_parameter(
            f"Invalid idempotency_token: it has {len(token)} characters, at most {MAX_IDEMPOTENCY_TOKEN} are allowed"
        )
    return token


def non_negative(obj: Mapping[str, Any], name: str, where: str = "") -> int:
    value = typed_field(obj, name, int, 0, where)
    if value < 0:
        raise invalid_parameter(f"Invalid {where}{name} {value}: it must be 0 (no limit) or a positive number")
    return value


# --- tasks -----------------------------------------------------------------------------------------------------
# The API 2.0 single-task form: these fields sit at the top level of the request instead of inside `tasks`.
_SINGLE_TASK_FIELDS = frozenset({*TASK_TYPES, *COMPUTE_FIELDS, "libraries", "max_retries", "retry_on_timeout"})


def _raw_tasks(body: Mapping[str, Any], api_version: str, required: bool) -> list[Any]:
    """The task objects of a request; a job may be created without any, a run needs at least one."""
    if api_version == "2.0" and "tasks" not in body and (required or any(k in body for k in TASK_TYPES)):
        task = {key: value for key, value in body.items() if key in _SINGLE_TASK_FIELDS}
        task["task_key"] = _single_task_key(body.get("run_name") or body.get("name"))
        if "timeout_seconds" in body:
            task["timeout_seconds"] = body["timeout_seconds"]
        return [task]
    tasks = typed_field(body, "tasks", list, [])
    if not tasks and required:
        raise invalid_parameter("Missing required field: tasks (give at least one task)")
    if len(tasks) > MAX_TASKS:
        raise invalid_parameter(f"Invalid tasks: {len(tasks)} tasks given, a job can have at most {MAX_TASKS}")
    return tasks


def _single_task_key(name: Any) -> str:
    """The task key of a run submitted in the single-task form: its name, reduced to the allowed characters."""
    key = re.sub(r"[^\w-]+", "_", name if isinstance(name, str) else "").strip("_")[:100]
    return key or DEFAULT_RUN_NAME


def parse_tasks(
    raw_tasks: list[Any],
    git_source: dict[str, Any] | None,
    environments: set[str],
    job_clusters: set[str],
    compute: ComputeRules,
) -> tuple[TaskSpec, ...]:
    tasks: list[TaskSpec] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_tasks):
        where = f"tasks[{i}]."
        if not isinstance(raw, dict):
            raise invalid_parameter(f"Invalid tasks[{i}]: expected an object, got {type(raw).__name__}")
        task = _parse_task(raw, where, git_source, environments, job_clusters, compute)
        if task.key in seen:
            raise invalid_parameter(
                f"Invalid {where}task_key: '{task.key}' is already used by tasks[{seen[task.key]}]; task keys must "
                "be unique within a job"
            )
        seen[task.key] = i
        tasks.append(task)
    _check_graph(tasks)
    return tuple(tasks)


def _parse_task(
    raw: dict[str, Any],
    where: str,
    git_source: dict[str, Any] | None,
    environments: set[str],
    job_clusters: set[str],
    compute: ComputeRules,
) -> TaskSpec:
    key = typed_field(raw, "task_key", str, where=where)
    if not _TASK_KEY.fullmatch(key):
        raise invalid_parameter(f"Invalid {where}task_key '{key}': use 1 to 100 letters, digits, '_' or '-'")
    kinds = [k for k in TASK_TYPES if raw.get(k) is not None]
    if len(kinds) != 1:
        found = f"it sets {', '.join(kinds)}" if kinds else "it sets none"
        raise invalid_parameter(
            f"Invalid task '{key}' ({where[:-1]}): exactly one task type must be set, such as notebook_task or "
            f"spark_python_task; {found}"
        )
    kind = kinds[0]
    settings = dict(raw)
    settings[kind] = _parse_task_body(kind, typed_field(raw, kind, dict, where=where), f"{where}{kind}.", git_source)
    _check_compute(raw, key, kind, where, environments, job_clusters, compute)
    depends_on = _depends_on(raw, where)
    run_if = typed_field(raw, "run_if", str, "ALL_SUCCESS", where)
    if run_if not in RUN_IF_VALUES:
        raise invalid_parameter(f"Invalid {where}run_if '{run_if}': expected one of {', '.join(RUN_IF_VALUES)}")
    settings["run_if"] = run_if
    timeout = non_negative(raw, "timeout_seconds", where)
    return TaskSpec(key, kind, settings, depends_on, run_if, timeout)


def _parse_task_body(kind: str, body: dict[str, Any], where: str, git_source: dict[str, Any] | None) -> dict[str, Any]:
    body = dict(body)
    if kind not in EXECUTABLE_TASK_TYPES:
        return body
    path_field = "notebook_path" if kind == "notebook_task" else "python_file"
    path = typed_field(body, path_field, str, where=where)
    source = typed_field(body, "source", str, "GIT" if git_source else "WORKSPACE", where)
    if source not in SOURCES:
        raise invalid_parameter(f"Invalid {where}source '{source}': expected WORKSPACE or GIT")
    if source == "GIT" and git_source is None:
        raise invalid_parameter(f"Invalid {where}source GIT: the run has no git_source to take {path_field} from")
    if source == "GIT" and (path.startswith("/") or ".." in path.split("/")):
        raise invalid_parameter(
            f"Invalid {where}{path_field} '{path}': with source GIT the path is relative to the repository root "
            "(no leading '/', no '..')"
        )
    if source == "WORKSPACE" and not path.startswith("/") and ":" not in path:
        raise invalid_parameter(
            f"Invalid {where}{path_field} '{path}': workspace paths must be absolute (start with '/')"
        )
    body["source"] = source
    if kind == "notebook_task":
        _string_map(body, "base_parameters", where)
    else:
        _string_list(body, "parameters", where)
    return body


def _check_compute(
    raw: dict[str, Any],
    key: str,
    kind: str,
    where: str,
    environments: set[str],
    job_clusters: set[str],
    compute: ComputeRules,
) -> None:
    chosen = [f for f in COMPUTE_FIELDS if raw.get(f) is not None]
    if len(chosen) > 1:
        raise invalid_parameter(
            f"Invalid task '{key}': set only one of {', '.join(COMPUTE_FIELDS)}; it sets {' and '.join(chosen)}"
        )
    if not chosen:
        if kind != "notebook_task":
            # Serverless runs notebooks without further settings; other task types need an environment.
            raise invalid_parameter(
                f"Invalid task '{key}': a {kind} needs compute: set environment_key (serverless), "
                "existing_cluster_id, new_cluster or job_cluster_key"
            )
        compute.check_serverless(where)  # a notebook task without compute runs on serverless
        return
    field = chosen[0]
    if field == "existing_cluster_id":
        compute.require(typed_field(raw, field, str, where=where))
    elif field == "new_cluster":
        compute.check_new_cluster(typed_field(raw, field, dict, where=where), f"{where}new_cluster.")
    elif field == "job_cluster_key":
        cluster_key = typed_field(raw, field, str, where=where)
        if cluster_key not in job_clusters:
            raise invalid_parameter(
                f"Invalid {where}job_cluster_key '{cluster_key}': no job_clusters entry has that job_cluster_key"
            )
    else:
        env_key = typed_field(raw, field, str, where=where)
        if env_key not in environments:
            raise invalid_parameter(
                f"Invalid {where}environment_key '{env_key}': no entry of environments has that environment_key"
            )
        compute.check_serverless(where)


def check_job_compute(settings: Mapping[str, Any], compute: ComputeRules) -> None:
    """run-now checks a stored job's compute again: the workspace may have changed since jobs/create (a cluster
    deleted, serverless turned off)."""
    for i, cluster in enumerate(settings.get("job_clusters") or ()):
        compute.check_new_cluster(cluster["new_cluster"], f"job_clusters[{i}].new_cluster.")
    for i, task in enumerate(settings.get("tasks") or ()):
        where = f"tasks[{i}]."
        if task.get("existing_cluster_id") is not None:
            compute.require(task["existing_cluster_id"])
        elif task.get("new_cluster") is not None:
            compute.check_new_cluster(task["new_cluster"], f"{where}new_cluster.")
        elif task.get("job_cluster_key") is None:
            compute.check_serverless(where)


def _depends_on(raw: dict[str, Any], where: str) -> tuple[str, ...]:
    keys = []
    for j, dep in enumerate(typed_field(raw, "depends_on", list, [], where)):
        dep_where = f"{where}depends_on[{j}]."
        if not isinstance(dep, dict):
            raise invalid_parameter(f'Invalid {dep_where[:-1]}: expected an object like {{"task_key": "..."}}')
        keys.append(typed_field(dep, "task_key", str, where=dep_where))
    return tuple(keys)


def _check_graph(tasks: list[TaskSpec]) -> None:
    """Every dependency names a task of the same run, and following them never leads back (no cycles)."""
    keys = {t.key for t in tasks}
    for t in tasks:
        for dep in t.depends_on:
            if dep == t.key:
                raise invalid_parameter(f"Invalid task '{t.key}': a task cannot depend on itself")
            if dep not in keys:
                raise invalid_parameter(
                    f"Invalid task '{t.key}': depends_on names task_key '{dep}', which is not a task of this job"
                )
    deps = {t.key: t.depends_on for t in tasks}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in deps:
        if state.get(start):
            continue
        path, stack = [start], [iter(deps[start])]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                cycle = [*path[path.index(nxt) :], nxt]
                raise invalid_parameter(f"Invalid depends_on: the tasks form a cycle: {' -> '.join(cycle)}")
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(deps[nxt]))


def _spec_from_settings(task: dict[str, Any]) -> TaskSpec:
    """A TaskSpec from a task stored by jobs/create (already validated there)."""
    kind = next(k for k in TASK_TYPES if task.get(k) is not None)
    return TaskSpec(
        key=task["task_key"],
        kind=kind,
        settings=task,
        depends_on=tuple(d["task_key"] for d in task.get("depends_on") or ()),
        run_if=task.get("run_if", "ALL_SUCCESS"),
        timeout_seconds=int(task.get("timeout_seconds") or 0),
    )


# --- run- and job-level objects ------------------------------------------------------------------------------
def parse_git_source(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid_parameter("Invalid git_source: expected an object with git_url, git_provider and one ref")
    url = typed_field(raw, "git_url", str, where="git_source.")
    if not url.strip():
        raise invalid_parameter("Invalid git_source.git_url: it is empty")
    provider = typed_field(raw, "git_provider", str, where="git_source.")
    if provider.lower() not in {p.lower() for p in PROVIDERS}:
        raise invalid_parameter(f"Invalid git_source.git_provider '{provider}': expected one of {', '.join(PROVIDERS)}")
    refs = [r for r in GIT_REFS if raw.get(r) not in (None, "")]
    if len(refs) != 1:
        found = f"it sets {' and '.join(refs)}" if refs else "it sets none"
        raise invalid_parameter(f"Invalid git_source: set exactly one of git_branch, git_tag or git_commit; {found}")
    typed_field(raw, refs[0], str, where="git_source.")
    return dict(raw)


def git_ref(git_source: Mapping[str, Any]) -> tuple[str, str]:
    """('git_branch' | 'git_tag' | 'git_commit', value) of a validated git_source."""
    name = next(r for r in GIT_REFS if git_source.get(r))
    return name, git_source[name]


def _environment_keys(raw: Any) -> set[str]:
    return _keyed_list(raw, "environments", "environment_key", "spec")


def _job_cluster_keys(raw: Any) -> set[str]:
    return _keyed_list(raw, "job_clusters", "job_cluster_key", "new_cluster")


def _keyed_list(raw: Any, name: str, key_field: str, body_field: str) -> set[str]:
    if raw is None:
        return set()
    if not isinstance(raw, list):
        raise invalid_parameter(f"Invalid {name}: expected an array")
    keys: set[str] = set()
    for i, item in enumerate(raw):
        where = f"{name}[{i}]."
        if not isinstance(item, dict):
            raise invalid_parameter(f"Invalid {name}[{i}]: expected an object")
        key = typed_field(item, key_field, str, where=where)
        if key in keys:
            raise invalid_parameter(f"Invalid {where}{key_field}: '{key}' is used twice")
        typed_field(item, body_field, dict, where=where)
        keys.add(key)
    return keys


def _job_parameters(raw: Any) -> None:
    if raw is None:
        return
    if not isinstance(raw, list):
        raise invalid_parameter("Invalid parameters: expected an array of {name, default}")
    names: set[str] = set()
    for i, item in enumerate(raw):
        where = f"parameters[{i}]."
        if not isinstance(item, dict):
            raise invalid_parameter(f"Invalid parameters[{i}]: expected an object with name and default")
        name = typed_field(item, "name", str, where=where)
        typed_field(item, "default", str, where=where)
        if name in names:
            raise invalid_parameter(f"Invalid {where}name: the job parameter '{name}' is defined twice")
        names.add(name)


def _string_map(obj: Mapping[str, Any], name: str, where: str) -> None:
    for key, value in typed_field(obj, name, dict, {}, where).items():
        if not isinstance(value, str):
            raise invalid_parameter(f"Invalid {where}{name}.{key}: parameter values must be strings")


def _string_list(obj: Mapping[str, Any], name: str, where: str) -> None:
    for i, value in enumerate(typed_field(obj, name, list, [], where)):
        if not isinstance(value, str):
            raise invalid_parameter(f"Invalid {where}{name}[{i}]: parameters must be strings")


def string_map(obj: Mapping[str, Any], name: str) -> dict[str, str] | None:
    """An optional {str: str} request field (notebook_params, job_parameters)."""
    if obj.get(name) is None:
        return None
    _string_map(obj, name, "")
    return dict(obj[name])


def string_list(obj: Mapping[str, Any], name: str) -> list[str] | None:
    """An optional [str] request field (python_params, only)."""
    if obj.get(name) is None:
        return None
    _string_list(obj, name, "")
    return list(obj[name])
