"""Reading back the result files notebooks wrote: every `*.xml` under each task's `dbcicd_results_dir`.

A notebook sees its results folder as a path of its file system; dbcicd reads it through the API that serves that
place, with databricks-sdk only:

- `/Workspace/...` (every default: results/folders.py): Workspace API list + export;
- `/Volumes/<catalog>/<schema>/<volume>/...`: Files API directory listing + download;
- `/dbfs/...` or `dbfs:/...`, when given: DBFS list + read in 1 MB chunks (its maximum). A workspace that disabled
  the DBFS root refuses it (403 PERMISSION_DENIED "Public DBFS root is disabled. ..."): the error says what to give.

A folder that does not exist means the notebook wrote nothing. Any other failure to read becomes a `ResultFile`
with an `error`, so it is reported as a failed test case rather than lost or crashing the report.
"""

from __future__ import annotations

import base64
import posixpath
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError, NotFound, PermissionDenied
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import ExportFormat, ObjectType

from ..options.names import TASK_NAMES, Names
from ..options.results import RESULTS_INPUT
from ..steps.runs import RESULTS_PARAMETER

DBFS_CHUNK_BYTES = 1024 * 1024  # the most one DBFS read returns
MAX_FILE_BYTES = 50 * 1024 * 1024  # well below what a test run attachment may be (75 MB)
COLLECT_THREADS = 8


@dataclass(frozen=True)
class ResultFile:
    """One file a task wrote: its content, or why it could not be read. `path` is as the notebook named it."""

    task_key: str
    path: str
    content: bytes | None = None
    error: str = ""


@dataclass(frozen=True)
class _Entry:
    path: str  # the API's path
    size: int | None


class _Store:
    """One place notebooks write to: how to find its `*.xml` files and read one."""

    def __init__(self, shown_prefix: str, list_xml: Callable[[str], Iterator[_Entry]], read: Callable[[_Entry], bytes]):
        self.shown_prefix = shown_prefix
        self.list_xml = list_xml
        self.read = read


def results_dirs(run: jobs.Run) -> dict[str, str]:
    """task_key -> the `dbcicd_results_dir` its notebook was given: its base_parameters, overridden by run-now's
    notebook_params, overridden by job parameters (pushed down to every notebook task and winning over task
    parameters: Databricks, "Configure job parameters", Job parameter pushdown)."""
    overriding = (run.overriding_parameters.notebook_params if run.overriding_parameters else None) or {}
    job_values = {p.name: p.value if p.value is not None else p.default for p in run.job_parameters or [] if p.name}
    dirs = {}
    for task in run.tasks or []:
        if task.notebook_task is None:
            continue
        params = {**(task.notebook_task.base_parameters or {}), **overriding, **job_values}
        if params.get(RESULTS_PARAMETER):
            dirs[task.task_key or str(task.run_id)] = params[RESULTS_PARAMETER]
    return dirs


def collect(client: WorkspaceClient, run: jobs.Run, names: Names = TASK_NAMES) -> list[ResultFile]:
    """Every `*.xml` the run's tasks wrote to their results folders, read concurrently; ordered by task, path. A folder
    several tasks were given (run-now's parameters are the run's: every notebook task of a job gets the same) is read
    once, its files named after those tasks together."""
    sharing: dict[str, list[str]] = {}
    for task_key, folder in results_dirs(run).items():
        sharing.setdefault(folder, []).append(task_key)
    if not sharing:
        return []
    folders = sorted((", ".join(sorted(keys)), folder) for folder, keys in sharing.items())
    with ThreadPoolExecutor(max_workers=min(COLLECT_THREADS, len(folders))) as pool:
        found = list(pool.map(lambda item: _collect_folder(client, *item, names), folders))
    return [result for results in found for result in results]


def _collect_folder(client: WorkspaceClient, task_key: str, folder: str, names: Names) -> list[ResultFile]:
    store, api_path = _store_for(client, folder.rstrip("/"))
    if store is None:
        error = f"{RESULTS_PARAMETER} '{folder}' is not under /Workspace, /Volumes or /dbfs: its files cannot be read"
        return [ResultFile(task_key, folder, error=error)]
    try:
        entries = sorted(store.list_xml(api_path), key=lambda e: e.path)
    except NotFound:
        return []
    except DatabricksError as err:
        error = f"Could not list {folder}: {err}"
        if isinstance(err, PermissionDenied) and store.shown_prefix == "dbfs:":
            error += (
                f". Give {names.label(RESULTS_INPUT)} a folder notebooks can write to here, a /Workspace/... folder "
                "or a Unity Catalog volume (/Volumes/...), or leave it empty for a workspace folder the step makes"
            )
        return [ResultFile(task_key, folder, error=error)]
    return [_read(store, task_key, entry) for entry in entries]


def _read(store: _Store, task_key: str, entry: _Entry) -> ResultFile:
    shown = store.shown_prefix + entry.path
    if entry.size is not None and entry.size > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES >> 20
        return ResultFile(task_key, shown, error=f"{shown} is {entry.size} bytes, over the {limit} MB dbcicd reads")
    try:
        return ResultFile(task_key, shown, content=store.read(entry))
    except DatabricksError as err:
        return ResultFile(task_key, shown, error=f"Could not read {shown}: {err}")


def _store_for(client: WorkspaceClient, folder: str) -> tuple[_Store | None, str]:
    """The store behind a notebook's path, and the path as that store's API names it."""
    if folder == "/Workspace" or folder.startswith("/Workspace/"):
        return _workspace(client), folder[len("/Workspace") :] or "/"
    if folder.startswith("/Volumes/"):
        return _volumes(client), folder
    for prefix in ("/dbfs/", "dbfs:/"):
        if folder.startswith(prefix):
            return _dbfs(client), "/" + folder[len(prefix) :].lstrip("/")
    return None, folder


def _is_xml(path: str) -> bool:
    return path.lower().endswith(".xml")


def _workspace(client: WorkspaceClient) -> _Store:
    def list_xml(folder: str) -> Iterator[_Entry]:
        for info in client.workspace.list(folder, recursive=True):
            if info.object_type == ObjectType.FILE and info.path and _is_xml(info.path):
                yield _Entry(info.path, info.size)

    def read(entry: _Entry) -> bytes:
        return client.workspace.download(entry.path, format=ExportFormat.AUTO).read()

    return _Store("/Workspace", list_xml, read)


def _volumes(client: WorkspaceClient) -> _Store:
    def list_xml(folder: str) -> Iterator[_Entry]:
        pending = [folder]
        while pending:
            for entry in client.files.list_directory_contents(pending.pop()):
                if entry.is_directory and entry.path:
                    pending.append(entry.path)
                elif entry.path and _is_xml(entry.path):
                    yield _Entry(entry.path, entry.file_size)

    def read(entry: _Entry) -> bytes:
        contents = client.files.download(entry.path).contents
        return contents.read() if contents is not None else b""

    return _Store("", list_xml, read)


def _dbfs(client: WorkspaceClient) -> _Store:
    def list_xml(folder: str) -> Iterator[_Entry]:
        for info in client.dbfs.list(folder, recursive=True):
            if not info.is_dir and info.path and _is_xml(info.path):
                yield _Entry(posixpath.normpath(info.path.removeprefix("dbfs:")), info.file_size)

    def read(entry: _Entry) -> bytes:
        chunks, offset = [], 0
        while entry.size is None or offset < entry.size:
            block = client.dbfs.read(entry.path, offset=offset, length=DBFS_CHUNK_BYTES)
            if not block.bytes_read:
                break
            chunks.append(base64.b64decode(block.data or ""))
            offset += block.bytes_read
        return b"".join(chunks)

    return _Store("dbfs:", list_xml, read)
