"""`dbcicd local serve` restarted with the same `--root`: the token clients hold still works, and the jobs are still
there, as the Git folders are."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from dbcicd_localworkspace import LocalWorkspaceServer

SERVE_TIMEOUT_S = 60


@contextmanager
def served(root: Path, *extra: str, env: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    """`dbcicd local serve --root ROOT`, as a user starts it; yields the variables it printed, stops it with Ctrl+C."""
    process = subprocess.Popen(
        [sys.executable, "-m", "dbcicd", "local", "serve", "--root", str(root), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert process.stdout is not None
        printed = dict(process.stdout.readline().strip().split("=", 1) for _ in range(2))
        yield printed
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=SERVE_TIMEOUT_S)


def sdk(printed: dict[str, str]) -> WorkspaceClient:
    return WorkspaceClient(host=printed["DATABRICKS_HOST"], token=printed["DATABRICKS_TOKEN"], auth_type="pat")


@pytest.mark.slow
def test_a_restart_keeps_the_token_and_the_jobs(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    task = jobs.Task(task_key="t", notebook_task=jobs.NotebookTask(notebook_path="/Shared/nightly"))
    with served(root) as first:
        job_id = sdk(first).jobs.create(name="nightly", tasks=[task]).job_id
    with served(root) as second:
        assert second["DATABRICKS_TOKEN"] == first["DATABRICKS_TOKEN"]
        client = sdk(second)
        job = client.jobs.get(job_id)
        assert job.settings.name == "nightly" and job.settings.tasks[0].notebook_task.notebook_path == "/Shared/nightly"
        assert [j.job_id for j in client.jobs.list(name="nightly")] == [job_id]
        client.jobs.delete(job_id)
    with served(root) as third:
        assert list(sdk(third).jobs.list(name="nightly")) == []


def test_token_given_is_the_token_kept(tmp_path: Path) -> None:
    """--token (here DBCICD_LOCAL_TOKEN, the same) sets the token; later starts without it keep it."""
    with LocalWorkspaceServer(root=tmp_path, token="dapi-local-given"):
        pass
    with LocalWorkspaceServer(root=tmp_path) as server:
        assert server.token == "dapi-local-given"
        assert WorkspaceClient(host=server.host, token="dapi-local-given", auth_type="pat").current_user.me()
    with LocalWorkspaceServer(root=tmp_path, token="dapi-local-other") as server:
        assert server.token == "dapi-local-other"


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_the_kept_token_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    with LocalWorkspaceServer(root=tmp_path) as server:
        files = [p for p in tmp_path.rglob("*") if p.is_file() and server.token in p.read_text(errors="replace")]
        assert len(files) == 1
        assert stat.S_IMODE(files[0].stat().st_mode) == 0o600


def test_new_roots_get_new_tokens(tmp_path: Path) -> None:
    with LocalWorkspaceServer(root=tmp_path / "a") as a, LocalWorkspaceServer(root=tmp_path / "b") as b:
        assert a.token != b.token
