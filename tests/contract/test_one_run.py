"""One command, one run: every invocation starts a run of its own and reports only that run.

Databricks answers a repeated idempotency token with the run it already started (runs/submit and run-now). A token
derived only from the build made a second command of the same step, or a re-run with the same build id, report the
earlier run as its own; these are those cases, as users hit them, through the CLI.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from dbcicd.entry.cli import main
from dbcicd.errors import RunFailed
from dbcicd.output import PlainOutput
from dbcicd.steps.ownership import RunOwner
from dbcicd.steps.waiting import RunWatcher

PASSING = "# Databricks notebook source\ndbutils.notebook.exit('passed')\n"
FAILING = "# Databricks notebook source\nraise ValueError('expected 3, got 4')\n"


def outputs(text: str) -> dict[str, str]:
    """The `name=value` lines the CLI prints at the end (outside a pipeline)."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and " " not in line.split("=")[0])


def vso_outputs(text: str) -> dict[str, str]:
    """Output variables set with ##vso[task.setvariable variable=NAME;isOutput=true] (under TF_BUILD)."""
    found = {}
    for line in text.splitlines():
        if line.startswith("##vso[task.setvariable variable="):
            head, _, value = line.partition("]")
            found[head.split("variable=", 1)[1].split(";", 1)[0]] = value
    return found


def test_a_rerun_with_the_same_build_id_runs_the_new_commit(
    cli_env: Path, make_remote: Callable[..., Any], client: WorkspaceClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """`dbcicd test --var Build.BuildId=314` fails; the test is fixed and pushed; the same command runs the fix."""
    remote = make_remote({"tests/test_fail.py": FAILING})
    parent = f"/Repos/rerun-{time.time_ns() % 10**9}"
    args = ["test", "--git-url", remote.url, "--git-provider", "gitHub", "--branch", "main"]
    args += ["--temp-folder", parent, "-n", "tests/test_fail", "--var", "Build.BuildId=314"]

    assert main(args) == 1
    first = outputs(capsys.readouterr().out)
    fixed = remote.commit({"tests/test_fail.py": PASSING}, "fix the test")
    assert main(args) == 0, capsys.readouterr()
    second = outputs(capsys.readouterr().out)

    assert second["runId"] != first["runId"]
    assert second["headCommit"] == fixed and second["resultState"] == "SUCCESS"
    assert client.jobs.get_run(int(second["runId"])).state.result_state == jobs.RunResultState.SUCCESS


def test_two_commands_in_one_script_step_each_report_their_own_run(
    cli_env: Path,
    make_remote: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """In a script step (TF_BUILD, one SYSTEM_TASKINSTANCEID) a passing run, then a failing one: the second fails."""
    remote = make_remote({"jobs/ok.py": PASSING, "jobs/bad.py": FAILING})
    path = f"/Repos/script-{time.time_ns() % 10**9}/project"
    repo = ["repo", "--repo-path", path, "--git-url", remote.url, "--git-provider", "gitHub", "--branch", "main"]
    assert main(repo) == 0
    capsys.readouterr()
    for name, value in {
        "TF_BUILD": "True",
        "BUILD_BUILDID": "271",
        "SYSTEM_JOBATTEMPT": "1",
        "SYSTEM_JOBID": "job-1",
        "SYSTEM_TASKINSTANCEID": "script-step-1",
    }.items():
        monkeypatch.setenv(name, value)

    assert main(["run", "--repo-path", path, "-n", "jobs/ok"]) == 0
    first = vso_outputs(capsys.readouterr().out)
    assert main(["run", "--repo-path", path, "-n", "jobs/bad"]) == 1
    captured = capsys.readouterr()
    second = vso_outputs(captured.out)

    assert second["runId"] != first["runId"]
    assert second["resultState"] == "FAILED"
    assert "ValueError: expected 3, got 4" in captured.out + captured.err


def test_a_run_that_is_not_ours_is_refused_naming_both(client: WorkspaceClient) -> None:
    """A run Databricks answers with that is not this invocation's is reported as such, never as our result."""
    other = client.jobs.submit(
        run_name=f"someone else's run {time.time_ns()}",
        tasks=[jobs.SubmitTask(task_key="t", notebook_task=jobs.NotebookTask(notebook_path="/Shared/nope"))],
    ).run_id
    ours = RunOwner.named("dbcicd project build 12 [a1b2c3d4e5]")
    watcher = RunWatcher(client, PlainOutput(io.StringIO()))
    with pytest.raises(RunFailed) as refused:
        watcher.wait(other, 30, check=ours.check)
    message = str(refused.value)
    assert f"run {other}" in message and "someone else's run" in message
    assert "'dbcicd project build 12 [a1b2c3d4e5]'" in message


def test_a_job_run_is_ours_only_when_of_the_job_and_started_after_us() -> None:
    """run-now carries no name of ours: the job and the start time decide."""
    owner = RunOwner.of_job(42)
    now = int(time.time() * 1000)
    assert owner.owns(jobs.Run(run_id=1, job_id=42, start_time=now))
    assert not owner.owns(jobs.Run(run_id=2, job_id=43, start_time=now))
    assert not owner.owns(jobs.Run(run_id=3, job_id=42, start_time=now - 3600 * 1000))
