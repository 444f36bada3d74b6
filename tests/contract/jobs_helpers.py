"""Helpers for the Jobs contract tests: notebooks uploaded through the Workspace API, fast polling, raw calls."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import ImportFormat, Language

from dbcicd_localworkspace import LocalWorkspaceServer, Tenant

TERMINAL = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")
HEADER = "# Databricks notebook source\n"
CELL = "\n\n# COMMAND ----------\n\n"


def notebook(*cells: str) -> str:
    """A notebook in Databricks' .py source format."""
    return HEADER + CELL.join(cells) + "\n"


# Exits with the value of widget `name` (declared with a default), prefixed so the test sees it went through.
ECHO = notebook(
    'dbutils.widgets.text("name", "nobody")', 'dbutils.notebook.exit("hello " + dbutils.widgets.get("name"))'
)
FAIL = notebook('raise ValueError("the data is wrong")')
# Writes its pid to the file named by widget `marker`, then waits far longer than any test: only a kill ends it.
SLEEPER = notebook(
    "import os, time",
    'dbutils.widgets.text("marker", "")\n'
    'open(dbutils.widgets.get("marker"), "w").write(str(os.getpid()))\n'
    "time.sleep(120)",
)


def folder(client: WorkspaceClient) -> str:
    """A fresh workspace folder for one test."""
    path = f"/Shared/jobs-tests/{uuid.uuid4().hex[:12]}"
    client.workspace.mkdirs(path)
    return path


def upload(client: WorkspaceClient, path: str, source: str) -> str:
    """Import a Python notebook (or, without the header, a workspace file) and return its workspace path."""
    is_notebook = source.startswith(HEADER)
    client.workspace.upload(
        path,
        source.encode(),
        format=ImportFormat.SOURCE if is_notebook else ImportFormat.AUTO,
        language=Language.PYTHON if is_notebook else None,
        overwrite=True,
    )
    return path


def notebook_task(key: str, path: str, depends_on: tuple[str, ...] = (), **kwargs: Any) -> jobs.SubmitTask:
    params = kwargs.pop("params", None)
    return jobs.SubmitTask(
        task_key=key,
        notebook_task=jobs.NotebookTask(notebook_path=path, base_parameters=params),
        depends_on=[jobs.TaskDependency(d) for d in depends_on] or None,
        **kwargs,
    )


def wait(client: WorkspaceClient, run_id: int, timeout: float = 60) -> jobs.Run:
    """Poll runs/get every 50 ms until the run ends (the SDK's own waiter sleeps a second or more per poll)."""
    deadline = time.monotonic() + timeout
    while True:
        run = client.jobs.get_run(run_id)
        if run.state and run.state.life_cycle_state and run.state.life_cycle_state.value in TERMINAL:
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run.state}"
        time.sleep(0.05)


def submit_and_wait(client: WorkspaceClient, *tasks: jobs.SubmitTask, **kwargs: Any) -> jobs.Run:
    return wait(client, client.jobs.submit(run_name="test", tasks=list(tasks), **kwargs).run_id)


def by_key(run: jobs.Run) -> dict[str, jobs.RunTask]:
    return {t.task_key: t for t in run.tasks or []}


def results(run: jobs.Run) -> dict[str, str]:
    """task_key -> result_state."""
    return {t.task_key: t.state.result_state.value for t in run.tasks or [] if t.state and t.state.result_state}


def raw(
    server: LocalWorkspaceServer | Tenant,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    content_type: str = "application/json",
) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of a call made without the SDK (old clients' shapes, exact error bodies)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(server.host + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {server.token}")
    if data is not None:
        req.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def wait_raw(server: LocalWorkspaceServer, run_id: int, version: str = "2.1", timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status, run = raw(server, "GET", f"/api/{version}/jobs/runs/get?run_id={run_id}")
        assert status == 200, run
        if run["state"]["life_cycle_state"] in TERMINAL:
            return run
        assert time.monotonic() < deadline, run["state"]
        time.sleep(0.05)
