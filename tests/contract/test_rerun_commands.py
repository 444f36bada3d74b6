"""Re-running only what failed with the `run` command, through the CLI: at a commit (git_source) and in a shared Git
folder. The notebooks count their own runs in files of this machine; one fails until a marker file exists."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import ImportFormat, Language

from dbcicd.entry.cli import main

NOTEBOOK = """# Databricks notebook source
import os
open({count!r}, "a").write("ran\\n")
if {flaky} and not os.path.exists({marker!r}):
    raise ConnectionError("the data source timed out")
dbutils.notebook.exit(dbutils.widgets.get("x"))
"""


def files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "counts").mkdir()
    return {
        f"jobs/step_{i}.py": NOTEBOOK.format(
            count=str(tmp_path / "counts" / str(i)), flaky=i == 1, marker=str(tmp_path / "marker")
        )
        for i in range(3)
    }


def runs_of(tmp_path: Path) -> list[int]:
    return [len((tmp_path / "counts" / str(i)).read_text().splitlines()) for i in range(3)]


def build(build_id: str, sha: str, attempt: int) -> list[str]:
    variables = {
        "Build.BuildId": build_id,
        "Build.SourceBranch": "refs/heads/main",
        "Build.SourceVersion": sha,
        "System.JobAttempt": str(attempt),
        "System.TaskInstanceId": str(uuid.uuid4()),
    }
    return [arg for name, value in variables.items() for arg in ("--var", f"{name}={value}")]


def test_run_at_a_commit_reruns_the_failed_notebook_and_refuses_other_parameters(
    cli_env: Path, make_remote: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = make_remote(files(tmp_path))
    sha = remote.commit({}, "build")
    build_id = str(time.time_ns() % 10**9)
    notebooks = [arg for i in range(3) for arg in ("-n", f"jobs/step_{i}.py")]  # no globs without a Git folder
    run = ["run", "--git-url", remote.url, "--git-provider", "gitHub", *notebooks, "-p", "x=1"]

    assert main([*run, *build(build_id, sha, 1)]) == 1
    (tmp_path / "marker").write_text("")
    capsys.readouterr()
    assert main([*run, *build(build_id, sha, 2)]) == 0
    out = capsys.readouterr().out
    assert runs_of(tmp_path) == [1, 2, 1]
    assert "Re-running 1 task of 3 that did not succeed in run " in out and "jobs_step_1" in out
    assert "Re-run: re-ran jobs_step_1 of run" in out

    # The same step at another attempt, with other parameters: a full run, and why.
    (tmp_path / "marker").unlink()
    assert main([*run, *build(build_id, sha, 3)]) == 1  # nothing failed in attempt 2: all run, step_1 fails
    assert runs_of(tmp_path) == [2, 3, 2]
    capsys.readouterr()
    (tmp_path / "marker").write_text("")
    assert main([*run[:-1], "x=2", *build(build_id, sha, 4)]) == 0
    assert "this attempt's parameters differ from the earlier run's; running every task" in capsys.readouterr().out
    assert runs_of(tmp_path) == [3, 4, 3]


def test_two_steps_of_one_job_each_continue_their_own_run(
    cli_env: Path, make_remote: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two run steps of the same repository in one job (say unit and integration tests): on the next job attempt
    each finds its own earlier run, not the other's, however they are ordered."""
    remote = make_remote(files(tmp_path))
    sha = remote.commit({}, "build")
    build_id = str(time.time_ns() % 10**9)
    base = ["run", "--git-url", remote.url, "--git-provider", "gitHub", "-p", "x=1"]
    flaky = [*base, "-n", "jobs/step_1.py"]
    steady = [*base, "-n", "jobs/step_0.py", "-n", "jobs/step_2.py"]

    assert main([*flaky, *build(build_id, sha, 1)]) == 1
    assert main([*steady, *build(build_id, sha, 1)]) == 0  # the newer run, all of it succeeded
    (tmp_path / "marker").write_text("")
    capsys.readouterr()
    assert main([*flaky, *build(build_id, sha, 2)]) == 0
    assert "Re-running 1 task of 1 that did not succeed" in capsys.readouterr().out
    assert main([*steady, *build(build_id, sha, 2)]) == 0
    assert "had no failed tasks: running every task" in capsys.readouterr().out
    assert runs_of(tmp_path) == [2, 2, 2]


def test_run_in_a_shared_folder_reruns_the_failed_notebook(
    cli_env: Path, make_remote: Callable[..., Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = make_remote(files(tmp_path))
    sha = remote.commit({}, "build")
    path = f"/Repos/staging-{time.time_ns() % 10**9}/project"
    repo = ["repo", "--repo-path", path, "--git-url", remote.url, "--git-provider", "gitHub", "--branch", "main"]
    assert main(repo) == 0
    build_id = str(time.time_ns() % 10**9)
    run = ["run", "--repo-path", path, "-n", "jobs/step_*", "-p", "x=1"]

    assert main([*run, *build(build_id, sha, 1)]) == 1
    (tmp_path / "marker").write_text("")
    assert main([*run, "--no-rerun-failed-only", *build(build_id, sha, 2)]) == 0
    assert runs_of(tmp_path) == [2, 2, 2], "switched off, everything ran again"

    (tmp_path / "marker").unlink()
    assert main([*run, *build(build_id, sha, 3)]) == 1
    (tmp_path / "marker").write_text("")
    capsys.readouterr()
    assert main([*run, *build(build_id, sha, 4)]) == 0
    assert "Re-running 1 task of 3" in capsys.readouterr().out
    assert runs_of(tmp_path) == [3, 4, 3]


def test_a_job_rerun_repairs_the_earlier_attempts_run_and_runs_only_the_failed_task(
    cli_env: Path, client: WorkspaceClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = f"/Users/{client.current_user.me().user_name}/rerun-job-{time.time_ns()}"
    client.workspace.mkdirs(folder)
    for name, source in files(tmp_path).items():
        path = f"{folder}/{Path(name).stem}"
        client.workspace.upload(path, source.encode(), format=ImportFormat.SOURCE, language=Language.PYTHON)
    tasks = [
        jobs.Task(
            task_key=f"step_{i}",
            notebook_task=jobs.NotebookTask(notebook_path=f"{folder}/step_{i}", base_parameters={"x": "1"}),
            existing_cluster_id="local",
            depends_on=[jobs.TaskDependency("step_1")] if i == 2 else None,
            run_if=jobs.RunIf.ALL_DONE if i == 2 else None,
        )
        for i in range(3)
    ]
    job_id = int(client.jobs.create(name=f"rerun-{time.time_ns()}", tasks=tasks).job_id)  # type: ignore[arg-type]
    build_id = str(time.time_ns() % 10**9)
    run = ["run", "--job-id", str(job_id)]

    assert main([*run, *build(build_id, "0" * 40, 1)]) == 1
    assert runs_of(tmp_path) == [1, 1, 1]
    (tmp_path / "marker").write_text("back")
    [first] = client.jobs.list_runs(job_id=job_id)
    capsys.readouterr()

    assert main([*run, *build(build_id, "0" * 40, 2)]) == 0

    out = capsys.readouterr().out
    assert f"repaired run {first.run_id} (job attempt 1): re-ran step_1" in out
    # step_1 failed; step_2 depends on it and runs again with it (rerun_dependent_tasks); step_0 keeps its result.
    assert runs_of(tmp_path) == [1, 2, 2]
    assert [r.run_id for r in client.jobs.list_runs(job_id=job_id)] == [first.run_id], "no second run of the job"
    repaired = client.jobs.get_run(first.run_id, include_history=True)  # type: ignore[arg-type]
    assert [item.type for item in repaired.repair_history or []] == [
        jobs.RepairHistoryItemType.ORIGINAL,
        jobs.RepairHistoryItemType.REPAIR,
    ]


def test_a_job_runs_whole_on_a_rerun_with_no_earlier_run_and_says_so(
    cli_env: Path, client: WorkspaceClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = f"/Users/{client.current_user.me().user_name}/rerun-job-{time.time_ns()}"
    client.workspace.mkdirs(folder)
    source = NOTEBOOK.format(count=str(tmp_path / "count"), flaky=False, marker="")
    client.workspace.upload(f"{folder}/nb", source.encode(), format=ImportFormat.SOURCE, language=Language.PYTHON)
    task = jobs.Task(
        task_key="t",
        notebook_task=jobs.NotebookTask(notebook_path=f"{folder}/nb", base_parameters={"x": "1"}),
        existing_cluster_id="local",
    )
    job_id = client.jobs.create(name=f"rerun-{time.time_ns()}", tasks=[task]).job_id
    capsys.readouterr()

    assert main(["run", "--job-id", str(job_id), *build("7", "0" * 40, 2)]) == 0

    assert f"No earlier run of job {job_id} by this step in 7 days: running it whole" in capsys.readouterr().out
