"""Re-running only what failed, through the packaged task: the second job attempt of a `test` step runs the one
notebook that failed, and the published results hold every task.

"Rerun failed jobs" runs the job again with System.JobAttempt one higher; whether the step keeps its
System.TaskInstanceId then is not documented, so the second attempt here gets a new one (the product must not rely
on it). The notebooks count their own runs in files of this machine; one fails until a marker file exists, as a
flaky data source would.
"""

from __future__ import annotations

import json
import posixpath
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service import jobs
from test_task_e2e import CHECKS, RUN_PYTEST, wait_for_running_run

from dbcicd.steps.tempnames import created_at
from git_remote import git
from junit_reader import read
from task_harness import Agent, TaskRun, cancel, finish

TASKS = 10
FLAKY_INDEX = 3
NOTEBOOK = """# Databricks notebook source
import os
open({count!r}, "a").write("ran\\n")
if {flaky} and not os.path.exists({marker!r}):
    raise ConnectionError("the data source timed out")
dbutils.notebook.exit("{name} fine")
"""


def notebooks(counts: Path, marker: Path, variant: str = "") -> dict[str, str]:
    """Ten short notebooks, each appending a line to its own count file; number 3 fails until `marker` exists."""
    counts.mkdir(exist_ok=True)
    files = {}
    for i in range(TASKS):
        name = f"test_{i:02d}"
        source = NOTEBOOK.format(count=str(counts / name), flaky=i == FLAKY_INDEX, marker=str(marker), name=name)
        files[f"tests/{name}.py"] = source + variant
    return files


def step_of(make_remote: Callable[[dict[str, str]], Any], files: dict[str, str]) -> tuple[Any, str, dict[str, str]]:
    """A repository of `files` at a commit, and the inputs of a `test` step of its notebooks."""
    remote = make_remote(files)
    sha = remote.commit({}, "build")
    parent = f"/Repos/rerun-{time.time_ns() % 10**9}"
    return remote, sha, {"command": "test", "gitProvider": "gitHub", "notebooks": "tests/test_*", "tempFolder": parent}


def runs_of(counts: Path) -> dict[str, int]:
    return {p.name: len(p.read_text().splitlines()) for p in sorted(counts.iterdir())}


def published(run: TaskRun) -> dict[str, Any]:
    [publish] = run.commands("results.publish")
    return {r.title: r for path in publish.properties["resultfiles"].split(",") for r in read(Path(path))}


def attempt(agent: Agent, inputs: dict[str, str], remote: Any, sha: str, number: int) -> TaskRun:
    """One job attempt of the step: the build's variables, this attempt's number, a task instance of its own."""
    return agent.run(
        inputs,
        {
            "Build.Repository.Uri": remote.url,
            "Build.SourceBranch": "refs/heads/main",
            "Build.SourceVersion": sha,
            "System.JobAttempt": str(number),
            "System.TaskInstanceId": str(uuid.uuid4()),
        },
    )


def test_the_second_job_attempt_runs_only_the_failed_notebook(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], client: WorkspaceClient, tmp_path: Path
) -> None:
    counts, marker = tmp_path / "counts", tmp_path / "marker"
    remote, sha, inputs = step_of(make_remote, notebooks(counts, marker))
    parent = inputs["tempFolder"]

    first = attempt(agent, inputs, remote, sha, 1)
    assert first.result == "Failed", first.stdout[-3000:]
    assert runs_of(counts) == {f"test_{i:02d}": 1 for i in range(TASKS)}
    assert published(first)["tests_test_03"].outcome == "Failed"
    marker.write_text("the data source is back")

    second = attempt(agent, inputs, remote, sha, 2)

    assert second.result == "Succeeded", second.stdout[-4000:]
    ran = runs_of(counts)
    assert ran.pop("test_03") == 2 and set(ran.values()) == {1}, "only the failed notebook ran again"
    results = published(second)
    assert sorted(results) == [f"tests_test_{i:02d}" for i in range(TASKS)]
    # The kept ones are Not executed with a message naming the attempt: the Tests tab keeps a skipped case's message,
    # and nothing but the name of a passed one (the agent's JunitResultReader.cs).
    assert results["tests_test_03"].outcome == "Passed"
    kept = {r.outcome for name, r in results.items() if name != "tests_test_03"}
    assert kept == {"NotExecuted"}
    assert (
        results["tests_test_00"].error_message
        == f"Passed in job attempt 1 (run {first.variables['runId']}); not run again."
    )
    assert "Re-running 1 task of 10 that did not succeed in run " + first.variables["runId"] in second.stdout
    [summary] = [Path(c.data) for c in second.commands("task.uploadsummary")]
    text = summary.read_text()
    assert "Re-run of what failed: `re-ran tests_test_03 of run " + first.variables["runId"] in text
    assert "9 tasks kept from earlier attempts, saving" in text
    assert text.count("(re-run)") == 1 and text.count(f"1 (run {first.variables['runId']})") == 9
    # The same temporary folder was made again for the re-run and deleted again.
    assert second.variables["repoPath"] == first.variables["repoPath"]
    assert [r.path for r in client.repos.list(path_prefix=parent + "/")] == []
    # Exit values of every task, the kept ones' read from their earlier task runs.
    assert json.loads(second.variables["notebookOutput"]) == {
        f"tests_test_{i:02d}": f"test_{i:02d} fine" for i in range(10)
    }


def test_a_new_commit_or_other_notebooks_start_a_full_run(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], tmp_path: Path
) -> None:
    counts, marker = tmp_path / "counts", tmp_path / "marker"
    remote, sha, inputs = step_of(make_remote, notebooks(counts, marker))
    assert attempt(agent, inputs, remote, sha, 1).result == "Failed"

    changed = remote.commit(notebooks(counts, marker, variant="\n# changed\n"), "the notebooks changed")
    second = attempt(agent, inputs, remote, changed, 2)

    assert second.result == "Failed"  # the marker is still missing: every notebook ran, test_03 failed again
    assert set(runs_of(counts).values()) == {2}
    assert f"the earlier run was at commit {sha[:12]}, this one is at {changed[:12]}" in second.stdout

    fewer = {**inputs, "notebooks": "tests/test_0[0-4]"}
    third = attempt(agent, fewer, remote, changed, 3)
    assert "No earlier run of this step (this command, source and notebooks)" in third.stdout
    assert [runs_of(counts)[f"test_{i:02d}"] for i in range(TASKS)] == [3] * 5 + [2] * 5

    marker.write_text("")
    off = attempt(agent, {**inputs, "rerunFailedOnly": "false"}, remote, changed, 4)
    assert off.result == "Succeeded"
    assert set(runs_of(counts).values()) == {3, 4}, "switched off, every notebook ran again"


# Fails until `marker` exists; once it does, it takes a minute: a re-run long enough to be cancelled.
SLOW_ONCE_BACK = """# Databricks notebook source
import os, time
if not os.path.exists({marker!r}):
    raise ConnectionError("the data source timed out")
time.sleep(60)
"""


def test_an_agent_retry_reruns_only_the_failed_notebook_and_a_cancel_stops_the_rerun(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], client: WorkspaceClient, tmp_path: Path
) -> None:
    """The agent's retry of the step (same job attempt, same task instance) re-runs only what failed; cancelling it
    mid-run cancels the re-run's Databricks run and deletes the folder made again, as for any run."""
    counts, marker = tmp_path / "counts", tmp_path / "marker"
    files = {k: v for k, v in notebooks(counts, marker).items() if k < "tests/test_03"}
    files["tests/test_slow.py"] = SLOW_ONCE_BACK.format(marker=str(marker))
    remote, sha, inputs = step_of(make_remote, files)
    step = {
        "Build.Repository.Uri": remote.url,
        "Build.SourceBranch": "refs/heads/main",
        "Build.SourceVersion": sha,
        "System.TaskInstanceId": str(uuid.uuid4()),  # the same on every try of the step
    }
    first = agent.run(inputs, step)
    assert first.result == "Failed", first.stdout[-3000:]
    marker.write_text("")

    started = time.monotonic()
    process = agent.start(inputs, step)
    rerun_id = wait_for_running_run(client, agent.build_id, process)
    cancel(process)
    retry = finish(process, started)

    assert retry.result == "Canceled", retry.stdout[-3000:]
    assert "Re-running 1 task of 4 that did not succeed in run " + first.variables["runId"] in retry.stdout
    rerun = client.jobs.get_run(rerun_id)
    assert [t.task_key for t in rerun.tasks or []] == ["tests_test_slow"]
    assert rerun.state is not None and rerun.state.result_state == jobs.RunResultState.CANCELED
    assert runs_of(counts) == {"test_00": 1, "test_01": 1, "test_02": 1}
    assert [r.path for r in client.repos.list(path_prefix=inputs["tempFolder"] + "/")] == []


def test_an_upload_step_reruns_only_the_failed_notebook_on_the_next_job_attempt(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], client: WorkspaceClient, tmp_path: Path
) -> None:
    """`source: upload`: the second job attempt uploads the same commit again to the earlier run's folder and runs
    only the notebook that failed; the results hold every task, and the folder is deleted again."""
    counts, marker = tmp_path / "counts", tmp_path / "marker"
    remote = make_remote(notebooks(counts, marker))
    git("clone", "--quiet", str(remote.bare), ".", cwd=agent.sources)  # the job's `checkout: self`
    sha = git("rev-parse", "HEAD", cwd=agent.sources)
    parent = f"/Workspace/Shared/rerun-upload-{time.time_ns() % 10**9}"
    inputs = {"command": "test", "source": "upload", "notebooks": "tests/test_*", "tempFolder": parent}

    first = attempt(agent, inputs, remote, sha, 1)
    assert first.result == "Failed", first.stdout[-3000:]
    marker.write_text("the data source is back")
    second = attempt(agent, inputs, remote, sha, 2)

    assert second.result == "Succeeded", second.stdout[-4000:]
    ran = runs_of(counts)
    assert ran.pop("test_03") == 2 and set(ran.values()) == {1}, "only the failed notebook ran again"
    assert "Re-running 1 task of 10 that did not succeed in run " + first.variables["runId"] in second.stdout
    results = published(second)
    assert sorted(results) == [f"tests_test_{i:02d}" for i in range(TASKS)]
    assert results.pop("tests_test_03").outcome == "Passed"
    assert {r.outcome for r in results.values()} == {"NotExecuted"}  # kept from attempt 1, not run again
    assert list(client.workspace.list(parent)) == []


def test_a_rerun_attempt_publishes_the_kept_notebooks_pytest_cases(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], client: WorkspaceClient, tmp_path: Path
) -> None:
    """The Tests tab of the second job attempt is whole: the pytest cases the kept notebook wrote on attempt 1 are
    published again, read from where attempt 1 left them; the attempt that succeeds deletes them."""
    counts, marker = tmp_path / "counts", tmp_path / "marker"
    files = {k: v for k, v in notebooks(counts, marker).items() if k == "tests/test_03.py"}
    files["tests/test_pytest.py"] = RUN_PYTEST
    files["tests/checks.py"] = CHECKS
    remote, sha, inputs = step_of(make_remote, files)

    first = attempt(agent, inputs, remote, sha, 1)
    assert first.result == "Failed", first.stdout[-3000:]
    assert {"test_add", "test_sub"} <= set(published(first))
    marker.write_text("the data source is back")
    second = attempt(agent, inputs, remote, sha, 2)

    assert second.result == "Succeeded", second.stdout[-4000:]
    assert "Re-running 1 task of 2 that did not succeed in run " + first.variables["runId"] in second.stdout
    results = published(second)
    assert results["tests_test_03"].outcome == "Passed"
    assert results["tests_test_pytest"].outcome == "NotExecuted"  # kept from attempt 1
    assert results["test_add"].outcome == "Passed" and results["test_sub"].outcome == "Passed"
    # Attempt 1 kept its results folder for attempt 2, which deleted it: its run has no task left to run again.
    [kept] = [
        t for t in client.jobs.get_run(int(first.variables["runId"])).tasks or [] if t.task_key != "tests_test_03"
    ]
    folder = (kept.notebook_task.base_parameters or {})["dbcicd_results_dir"] if kept.notebook_task else ""
    assert folder.startswith("/Workspace/Users/")
    assert created_at(posixpath.basename(posixpath.dirname(folder))) is not None  # a name `cleanup` knows the age of
    with pytest.raises(NotFound):
        client.workspace.get_status(folder.removeprefix("/Workspace"))
