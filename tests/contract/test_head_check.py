"""`run` in a shared Git folder through the CLI: the folder must hold the commit given with --commit (in a pipeline,
the build's) before anything runs, and still hold it when the run has ended."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from dbcicd.entry.cli import main

PASSING = "# Databricks notebook source\ndbutils.notebook.exit(open('version.txt').read())\n"
# Waits for the test to say so (the file `marker`), after saying that it has started (`marker`.started).
WAITING = """# Databricks notebook source
import os, time
marker = dbutils.widgets.get("marker")
open(marker + ".started", "w").close()
deadline = time.monotonic() + 300
while not os.path.exists(marker) and time.monotonic() < deadline:
    time.sleep(0.1)
"""


def shared_folder(make_remote: Callable[..., Any], capsys: pytest.CaptureFixture[str]) -> tuple[Any, str, str]:
    """A remote and a shared Git folder `repo` put at its first commit; (remote, path, that commit)."""
    remote = make_remote({"nb.py": PASSING, "wait.py": WAITING, "version.txt": "1"})
    path = f"/Repos/staging-{time.time_ns() % 10**9}/project"
    repo = ["repo", "--repo-path", path, "--git-url", remote.url, "--git-provider", "gitHub", "--branch", "main"]
    assert main(repo) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    [head] = [line.split("=", 1)[1] for line in out.splitlines() if line.startswith("headCommit=")]
    return remote, path, head


def test_run_refuses_a_folder_at_another_commit_naming_both_and_the_fix(
    cli_env: Path, make_remote: Callable[..., Any], client: WorkspaceClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """--commit names the commit the folder must be at: another one fails before anything runs (exit 1); the
    folder's own commit runs, and so does `--commit any`; a --commit that is no commit id is refused (exit 2)."""
    remote, path, first = shared_folder(make_remote, capsys)
    newer = remote.commit({"version.txt": "2"})
    repo = ["repo", "--repo-path", path, "--git-url", remote.url, "--git-provider", "gitHub", "--branch", "main"]
    assert main(repo) == 0
    capsys.readouterr()
    runs_before = len(list(client.jobs.list_runs()))

    assert main(["run", "--repo-path", path, "-n", "nb", "--commit", first[:7]]) == 1
    err = capsys.readouterr().err
    assert f"The Git folder {path} is at {newer[:12]}, --commit is {first[:7]}" in err
    assert f"run `dbcicd repo --repo-path {path}` for this commit first, or give --commit any" in err
    assert len(list(client.jobs.list_runs())) == runs_before  # nothing was started

    assert main(["run", "--repo-path", path, "-n", "nb", "--commit", newer]) == 0, capsys.readouterr().err
    assert "notebookOutput=2" in capsys.readouterr().out
    assert main(["run", "--repo-path", path, "-n", "nb", "--commit", "ANY"]) == 0
    assert "--commit any: running whatever" in capsys.readouterr().out
    assert main(["run", "--repo-path", path, "-n", "nb", "--commit", "main"]) == 2
    assert "--commit is 'main'; it must be a commit id" in capsys.readouterr().err
    client.workspace.delete(path, recursive=True)


def test_a_job_run_in_a_named_folder_is_held_to_the_builds_commit(
    cli_env: Path,
    make_remote: Callable[..., Any],
    client: WorkspaceClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In a pipeline (TF_BUILD) `run --job-id` with --repo-path checks the folder the job's notebooks are in against
    Build.SourceVersion: at another commit, the job is not started."""
    remote, path, first = shared_folder(make_remote, capsys)
    task = jobs.Task(task_key="t", notebook_task=jobs.NotebookTask(notebook_path=f"{path}/nb"))
    job_id = int(client.jobs.create(name=f"nightly {path}", tasks=[task]).job_id)  # type: ignore[arg-type]
    newer = remote.commit({"version.txt": "2"})
    build = {"TF_BUILD": "True", "BUILD_BUILDID": "7", "BUILD_REPOSITORY_URI": remote.url}
    for name, value in {**build, "BUILD_SOURCEVERSION": newer, "BUILD_SOURCEBRANCH": "refs/heads/main"}.items():
        monkeypatch.setenv(name, value)

    assert main(["run", "--job-id", str(job_id), "--repo-path", path]) == 1
    err = capsys.readouterr().err
    assert f"The Git folder {path} is at {first[:12]}, this build is {newer[:12]}" in err
    assert f"run `dbcicd repo --repo-path {path}` for this commit first" in err
    assert list(client.jobs.list_runs(job_id=job_id)) == []

    monkeypatch.setenv("BUILD_SOURCEVERSION", first)
    assert main(["run", "--job-id", str(job_id), "--repo-path", path]) == 0, capsys.readouterr().err
    assert f"variable=headCommit;isoutput=true]{first}" in capsys.readouterr().out
    client.jobs.delete(job_id)
    client.workspace.delete(path, recursive=True)


def test_a_folder_moved_while_the_run_ran_fails_the_run(
    cli_env: Path,
    make_remote: Callable[..., Any],
    client: WorkspaceClient,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Another build points the folder at its commit while this run's notebook runs: the run itself succeeds, but its
    result cannot stand for the commit it started at, so the step fails saying why."""
    remote, path, first = shared_folder(make_remote, capsys)
    marker = tmp_path / "go"
    codes: list[int] = []
    running = threading.Thread(
        target=lambda: codes.append(main(["run", "--repo-path", path, "-n", "wait", "-p", f"marker={marker}"]))
    )
    running.start()
    try:
        deadline = time.monotonic() + 300
        while not Path(f"{marker}.started").exists() and running.is_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        newer = remote.commit({"version.txt": "2"})
        folder_id = int(client.workspace.get_status(path).object_id)  # type: ignore[arg-type]
        client.repos.update(folder_id, branch="main")
    finally:
        marker.touch()
        running.join()

    assert codes == [1]
    captured = capsys.readouterr()
    assert f"The Git folder {path} moved to {newer[:12]} while run" in captured.err
    assert f"ran at {first[:12]}" in captured.err
    client.workspace.delete(path, recursive=True)
