"""One task run, one process: find what to execute, write the kernel's spec, start it, kill it, read its result.

The notebook kernel (runtime/kernel.py) is started as `python kernel.py spec.json` in its own process group
(session), so that cancel and timeouts kill everything the notebook started, not just the interpreter, and on the
workspace's lifeline (runtime/lifeline.py), so that the same happens when the workspace is killed outright. It writes
`{"exit_value", "error", "error_trace"}` to the result file; exit code 0 means success, 1 failure, and a killed
kernel writes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..http.errors import ApiError
from ..runtime import lifeline, process_records
from ..runtime.notebook_files import find_notebook
from ..runtime.spark import servers
from ..runtime.spark.packages import LibraryError, maven_libraries
from ..runtime.spark.pool import WarmPool
from ..storage.workspace_fs import WorkspaceTree, normalize_path
from .job_spec import EXECUTABLE_TASK_TYPES
from .run_model import TaskOutput, TaskRun

KERNEL = Path(__file__).resolve().parents[1] / "runtime" / "kernel.py"
MAX_OUTPUT_BYTES = 5 * 1024 * 1024  # notebook_output.result and logs: "the first 5 MB"
LIBRARIES_FOLDER = "libraries"  # in the workspace's state folder: %pip environments, kept across runs and restarts
SPEC_FILE, STDOUT_FILE, STDERR_FILE, RESULT_FILE = "spec.json", "stdout.txt", "stderr.txt", "result.json"


class TaskSetupError(Exception):
    """The task cannot start; `code` is the termination code runs/get shows (RESOURCE_NOT_FOUND ...)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class TaskPlaces:
    """What a task needs of its workspace, and nothing more: the tree its notebooks and files are found in, the
    folders `dbfs:/`, `/Volumes` and `%pip` environments map to, the variables its process adds (MLflow's store), and
    the file of the workspace's secret scopes that dbutils.secrets reads, and the folder where the processes of
    running tasks are recorded.

    Passed to the runner instead of the workspace itself, so the jobs package depends on none of its other services.
    """

    tree: WorkspaceTree
    dbfs_root: Path
    volumes_root: Path
    libraries_root: Path
    environment: Mapping[str, str]
    dbfs_root_disabled: Callable[[], bool] = lambda: False  # the workspace's setting, read as each task starts
    secrets_file: Path | None = None
    spark: SparkPlaces | None = None
    process_records: Path | None = None  # where a running task's process is recorded (runtime/process_records.py)


@dataclass(frozen=True)
class SparkPlaces:
    """Where the Spark servers of the workspace's clusters keep their folders (spark/servers.py), the warehouse of
    their tables, the Unity Catalog state naming catalogs and schemas, and the `sc://` address the `local` cluster
    is pointed at instead of a server of its own (empty: its own)."""

    servers: Path
    warehouse: Path
    catalog_file: Path
    cluster_remote: str = ""
    pool: WarmPool | None = None

    def server_folder(self, task: TaskRun, run_id: int) -> Path:
        """A cluster's server serves every run on it; a job cluster is the run's, shared by its tasks that name it
        (databricks-sdk `service/jobs.py`, `job_clusters`: "A list of job cluster specifications that can be shared
        and reused by tasks of this job"), and a task's `new_cluster` is that task's. Serverless compute gets one per
        run: no public source says how Databricks places the Spark sessions of a serverless run, so that is our
        choice (the issue's). A run's own compute leases a warm server of the pool when one is free (spark/pool.py)
        and hands it back when the run ends; otherwise, and always for a task with Maven libraries (which the warm
        servers were not started with), it gets a server of its own, stopped when the run ends."""
        settings = task.spec.settings
        if settings.get("existing_cluster_id"):
            return self.servers / _folder_name("cluster", settings["existing_cluster_id"])
        if settings.get("job_cluster_key"):
            own = _folder_name(f"run-{run_id}-job-cluster", settings["job_cluster_key"])
        elif settings.get("new_cluster"):
            own = _folder_name(f"run-{run_id}-task", task.key)
        else:
            own = f"run-{run_id}-serverless"
        with_libraries = bool(maven_libraries(settings.get("libraries"), task.key))
        warm = self.pool.lease(own) if self.pool is not None and not with_libraries else None
        return warm or self.servers / own

    def end_run(self, run_id: int) -> None:
        """Stop the servers of a run's own compute and hand back the warm ones it leased."""
        servers.stop_all(self.servers, self.run_prefix(run_id))
        if self.pool is not None:
            self.pool.release(self.run_prefix(run_id))

    @staticmethod
    def run_prefix(run_id: int) -> str:
        return f"run-{run_id}-"


def _folder_name(prefix: str, key: str) -> str:
    return f"{prefix}-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in key)


@dataclass(frozen=True)
class Target:
    """What a task executes: the file on disk, its workspace path, and the Git folder or checkout it lives in."""

    kind: str  # notebook | python_file
    file: Path
    workspace_path: str
    repo_root: Path | None


def locate(places: TaskPlaces, task: TaskRun, checkout: Path | None) -> Target:
    """The notebook or Python file of a task; TaskSetupError when it is missing or cannot run here."""
    spec = task.spec
    if spec.kind not in EXECUTABLE_TASK_TYPES:
        raise TaskSetupError(
            f"{spec.kind} is not supported by the local workspace; it runs notebook_task and spark_python_task",
            "FEATURE_DISABLED",
        )
    notebook = spec.kind == "notebook_task"
    kind = "notebook" if notebook else "python_file"
    path = spec.body["notebook_path" if notebook else "python_file"]
    if spec.body["source"] == "GIT":
        assert checkout is not None
        relative = path.strip("/")
        base = checkout.joinpath(*relative.split("/"))
        file = find_notebook(base) if notebook else (base if base.is_file() else None)
        if file is None:
            what = "Notebook" if notebook else "Python file"
            raise TaskSetupError(f"{what} not found in the Git repository: {relative}", "RESOURCE_NOT_FOUND")
        return Target(kind, file, "/" + relative, checkout)
    if notebook:
        return _workspace_target(places.tree, kind, path, lambda: places.tree.notebook_file(path))
    if path.startswith("dbfs:/"):
        file = places.dbfs_root.joinpath(*[p for p in path[len("dbfs:/") :].split("/") if p not in ("", ".", "..")])
        if not file.is_file():
            raise TaskSetupError(f"File not found: {path}", "RESOURCE_NOT_FOUND")
        return Target(kind, file, path, None)
    if ":" in path.split("/")[0]:
        raise TaskSetupError(
            f"Cannot read {path}: the local workspace runs Python files from the workspace and dbfs:/ only",
            "RESOURCE_NOT_FOUND",
        )
    return _workspace_target(places.tree, kind, path, lambda: _workspace_file(places.tree, path))


def _workspace_target(tree: WorkspaceTree, kind: str, path: str, find: Callable[[], Path]) -> Target:
    try:
        file = find()
    except ApiError as err:
        raise TaskSetupError(err.message, "RESOURCE_NOT_FOUND") from None
    clean = normalize_path(path)
    repo = tree.repo_containing(clean)
    return Target(kind, file, clean, tree.disk_path(repo[0]) if repo else None)


def _workspace_file(tree: WorkspaceTree, path: str) -> Path:
    found = tree.locate(path, "python_file")
    if found is None or found[1] not in ("FILE", "NOTEBOOK"):
        raise TaskSetupError(f"File not found in the workspace: {normalize_path(path)}", "RESOURCE_NOT_FOUND")
    return found[0]


def write_spec(places: TaskPlaces, run_id: int, task: TaskRun, target: Target) -> Path:
    """The kernel's instructions for a task of run `run_id`, written to the task's folder."""
    task.folder.mkdir(parents=True, exist_ok=True)
    sys_path = [str(target.file.parent)]
    if target.repo_root is not None and str(target.repo_root) not in sys_path:
        sys_path.append(str(target.repo_root))
    spec = {
        "kind": target.kind,
        "file": str(target.file),
        "workspace_path": target.workspace_path,
        "parameters": task.widgets,
        "argv": task.argv,
        "cwd": str(target.file.parent),
        "sys_path": sys_path,
        "workspace_root": str(places.tree.root),
        "dbfs_root": str(places.dbfs_root),
        "volumes_root": str(places.volumes_root),
        "result_file": str(task.folder / RESULT_FILE),
        "libraries_root": str(places.libraries_root),
        "dbfs_root_disabled": places.dbfs_root_disabled(),
        "secrets_file": str(places.secrets_file or ""),
        **_spark_fields(places.spark, run_id, task),
    }
    path = task.folder / SPEC_FILE
    path.write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return path


def _spark_fields(spark: SparkPlaces | None, run_id: int, task: TaskRun) -> dict[str, Any]:
    if spark is None:
        return {}
    settings = task.spec.settings
    remote = spark.cluster_remote if settings.get("existing_cluster_id") else ""
    try:
        libraries = maven_libraries(settings.get("libraries"), task.key)
    except LibraryError as err:
        raise TaskSetupError(str(err), "LIBRARY_INSTALLATION_ERROR") from None
    if libraries and not any(settings.get(k) for k in ("existing_cluster_id", "job_cluster_key", "new_cluster")):
        # docs.databricks.com/compute/serverless/limitations: "Maven coordinates are not supported."
        raise TaskSetupError(
            f"task {task.key}: Maven libraries ({', '.join(libraries.packages)}) need classic compute: serverless "
            "compute does not support Maven coordinates. Give the task a new_cluster, a job_cluster_key or an "
            "existing_cluster_id",
            "INVALID_RUN_CONFIGURATION",
        )
    return {
        "spark_server": "" if remote else str(spark.server_folder(task, run_id)),
        "spark_remote": remote,
        "spark_warehouse": str(spark.warehouse),
        "catalog_file": str(spark.catalog_file),
        "spark_maven": libraries.to_json(),
    }


def launch(spec_path: Path, cwd: Path, folder: Path, environment: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start the kernel in a session of its own on the workspace's lifeline (runtime/lifeline.py: it ends with the
    workspace however that ends), with `environment` added to the server's, stdout and stderr going to files in the
    task's folder."""
    env = {**os.environ, **environment, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"}
    with (folder / STDOUT_FILE).open("wb") as out, (folder / STDERR_FILE).open("wb") as err:
        return lifeline.start(
            [sys.executable, str(KERNEL), str(spec_path)],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
        )


def record(places: TaskPlaces, process: subprocess.Popen[bytes], run_id: int, task: TaskRun) -> Path | None:
    """Record a task's running process, so that a workspace started on this root after this one was killed stops it
    should it outlive the kill; the record's file, to remove once the process has ended."""
    if places.process_records is None:
        return None
    path = places.process_records / f"{process.pid}.json"
    process_records.write(
        path, process_records.of(process.pid, f"the notebook process of task {task.key} of run {run_id}")
    )
    return path


def collect(task: TaskRun, returncode: int) -> tuple[bool, TaskOutput]:
    """(succeeded, output) from the kernel's exit code and result file."""
    result = _read_result(task.folder / RESULT_FILE)
    if returncode == 0:
        exit_value = result.get("exit_value") if result else None
        return True, TaskOutput(exit_value=None if exit_value is None else str(exit_value))
    if result and result.get("error"):
        return False, TaskOutput(error=str(result["error"]), error_trace=result.get("error_trace"))
    stderr = tail(task.folder / STDERR_FILE, 64 * 1024)[0]
    if task.stop is not None:
        # Killed on purpose (a timeout or a cancel): the reason is the error, not the signal that carried it out.
        return False, TaskOutput(error=task.stop.message, error_trace=stderr or None)
    how = f"was killed by signal {-returncode}" if returncode < 0 else f"exited with code {returncode}"
    error = f"Fatal error: the Python process {how} without reporting a result"
    return False, TaskOutput(error=error, error_trace=stderr or None)


def _read_result(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def truncate(text: str, limit: int = MAX_OUTPUT_BYTES) -> tuple[str, bool]:
    """The first `limit` bytes of a text (UTF-8, never cutting a character) and whether anything was cut."""
    data = text.encode("utf-8", "surrogatepass")  # a notebook may return lone surrogates
    if len(data) <= limit:
        return text, False
    return data[:limit].decode("utf-8", "ignore"), True


def tail(path: Path, limit: int = MAX_OUTPUT_BYTES) -> tuple[str, bool]:
    """The last `limit` bytes of a log file, and whether the start was cut (the end holds the error)."""
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - limit))
            return fh.read().decode("utf-8", "replace"), size > limit
    except OSError:
        return "", False


def logs(task: TaskRun) -> tuple[str, bool]:
    """What a Python file task wrote to stdout, then stderr (runs/get-output `logs`, `logs_truncated`)."""
    out, out_cut = tail(task.folder / STDOUT_FILE)
    err, err_cut = tail(task.folder / STDERR_FILE)
    text, cut = tail_text(out + err)
    return text, cut or out_cut or err_cut


def tail_text(text: str, limit: int = MAX_OUTPUT_BYTES) -> tuple[str, bool]:
    data = text.encode("utf-8", "surrogatepass")  # a notebook may return lone surrogates
    if len(data) <= limit:
        return text, False
    return data[-limit:].decode("utf-8", "ignore"), True
