"""Evidence on every way out, through the packaged task as the agent runs it: a step whose run times out or is
cancelled still publishes what the run left — a test case per task with its state, the JUnit its notebooks wrote,
the summary, the output variables and the page of what ran, showing what its cell printed until it was stopped."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound

from junit_reader import read
from localagent import SIGINT_TIMEOUT_S
from notebook_pages import printed
from task_harness import Agent, TaskRun, cancel, finish

HEADER = "# Databricks notebook source\n"
# Writes one pytest-style case to dbcicd_results_dir, prints `tick 0`, then waits far longer than any test.
STUCK = HEADER + (
    "import os, time\n"
    "out = dbutils.widgets.get('dbcicd_results_dir')\n"
    "os.makedirs(out, exist_ok=True)\n"
    "print('tick', 0, flush=True)\n"
    "with open(os.path.join(out, 'pytest.xml'), 'w') as fh:\n"
    '    fh.write(\'<testsuite name="pytest" tests="1"><testcase classname="test_io" name="test_reads"/>\'\n'
    "             '</testsuite>')\n"
    "time.sleep(600)\n"
)
QUICK = HEADER + "dbutils.notebook.exit('done')\n"


def start_step(agent: Agent, make_remote: Callable[[dict[str, str]], Any], **inputs: str) -> Any:
    remote = make_remote({"tests/test_stuck.py": STUCK, "tests/test_quick.py": QUICK})
    sha = remote.commit({}, "build")
    variables = {
        "Build.Repository.Uri": remote.url,
        "Build.SourceBranch": "refs/heads/main",
        "Build.SourceVersion": sha,
    }
    base = {"command": "test", "gitProvider": "gitHub", "notebooks": "tests/test_*", "exportNotebooks": "all"}
    return agent.start({**base, **inputs}, variables)


def published_cases(run: TaskRun) -> dict[str, Any]:
    """Every test case the step published, by title."""
    [publish] = run.commands("results.publish")
    return {case.title: case for path in publish.properties["resultfiles"].split(",") for case in read(Path(path))}


def page_of(run: TaskRun, task_key: str) -> str:
    [upload] = run.commands("artifact.upload")
    [page] = [p for p in Path(upload.data).iterdir() if p.name.startswith(task_key)]
    return page.read_text(encoding="utf-8")


def assert_evidence(run: TaskRun, state: str, stuck_message: str) -> None:
    """What a reviewer needs of a run that did not end by itself: its variables, a case per task with its state, the
    notebook's own case, the summary and the stuck task's page with what it printed."""
    assert run.variables["runId"].isdigit() and run.variables["runPageUrl"], run.stdout
    assert run.variables["resultState"] == state
    cases = published_cases(run)
    assert cases["tests_test_quick"].outcome == "Passed"
    assert cases["tests_test_stuck"].outcome == "Failed"
    assert stuck_message in cases["tests_test_stuck"].error_message, cases["tests_test_stuck"].error_message
    assert cases["test_reads"].outcome == "Passed", cases  # the JUnit the notebook wrote before it was stopped
    [summary] = run.commands("task.uploadsummary")
    assert f"Databricks run {run.variables['runId']}" in Path(summary.data).read_text(encoding="utf-8")
    assert any(text.startswith("tick 0") for text in printed(page_of(run, "tests_test_stuck")))


def test_a_timed_out_run_publishes_what_it_left(agent: Agent, make_remote: Callable[[dict[str, str]], Any]) -> None:
    """timeoutMinutes passes: the run is cancelled and the step fails naming the timeout, with the evidence."""
    started = time.monotonic()
    run = finish(start_step(agent, make_remote, timeoutMinutes="0.25"), started, timeout=300)

    assert run.result == "Failed", run.stdout
    # Databricks' own timeout (timeout_seconds, which the run is submitted with) or the step's, whichever is first
    assert re.search("timed out after 15 seconds", run.stdout, re.IGNORECASE), run.stdout
    assert_evidence(run, "TIMEDOUT", "imed out after 15 seconds")


def test_a_cancelled_step_publishes_what_the_run_left_and_still_ends_in_time(
    agent: Agent,
    make_remote: Callable[[dict[str, str]], Any],
    client: WorkspaceClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The agent cancels the step once the notebook has printed and written its results: the step ends on SIGINT
    alone, Canceled, and publishes the run's evidence on the way out."""
    started = time.monotonic()
    process = start_step(agent, make_remote)
    wait_for_results_file(client, agent.build_id, process)

    cancelled = cancel(process)
    run = finish(process, started)

    with capsys.disabled():
        print(f"\nDatabricks@1 cancelled with evidence published, exited {cancelled.exited_s:.2f} s after SIGINT")
    assert cancelled.by_sigint, f"the agent had to send {cancelled.sent}\n{run.stdout}\n{run.stderr}"
    assert cancelled.exited_s is not None and cancelled.exited_s < SIGINT_TIMEOUT_S
    assert run.result == "Canceled"
    assert_evidence(run, "CANCELED", "Cancelled: the step was cancelled before the run ended")


def wait_for_results_file(client: WorkspaceClient, build_id: str, process: Any) -> None:
    """Until the quick notebook of the step's run has ended and the stuck one has written its JUnit file (polled
    every 0.2 s, at most 120 s)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, "the task ended before its notebook wrote its results"
        for listed in client.jobs.list_runs(active_only=True):
            if f"build {build_id} " not in (listed.run_name or "") or listed.run_id is None:
                continue
            tasks = {task.task_key: task for task in client.jobs.get_run(listed.run_id).tasks or []}
            stuck, quick = tasks.get("tests_test_stuck"), tasks.get("tests_test_quick")
            quick_done = quick is not None and quick.state is not None and quick.state.result_state is not None
            params = stuck.notebook_task.base_parameters if stuck and stuck.notebook_task else None
            folder = (params or {}).get("dbcicd_results_dir")
            if quick_done and folder and _exists(client, f"{folder}/pytest.xml"):
                return
        time.sleep(0.2)
    raise AssertionError("the notebook did not write its results within 120 s")


def _exists(client: WorkspaceClient, path: str) -> bool:
    try:
        client.workspace.get_status(path)
    except NotFound:
        return False
    return True


def test_a_run_databricks_refuses_to_start_publishes_every_task_not_started(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any]
) -> None:
    """runs/submit refused (a new cluster from an instance pool the workspace does not have): the step fails naming
    Databricks' answer, and publishes a test case per notebook, not started with that answer as its reason, the
    summary and resultState NOT_STARTED; no runId or runPageUrl, as no run exists."""
    cluster = '{"spark_version": "15.4.x-scala2.12", "instance_pool_id": "pool-gone-0000", "num_workers": 1}'
    run = finish(start_step(agent, make_remote, compute="newCluster", newClusterJson=cluster), time.monotonic())

    assert run.result == "Failed", run.stdout
    assert "Databricks refused the run" in run.stdout and "pool-gone-0000" in run.stdout
    assert run.variables == {"resultState": "NOT_STARTED"}, run.stdout
    cases = published_cases(run)
    assert {title: case.outcome for title, case in cases.items()} == {
        "tests_test_quick": "NotExecuted",
        "tests_test_stuck": "NotExecuted",
    }
    message = cases["tests_test_stuck"].error_message
    assert message.startswith("Not started: Databricks refused the run: "), message
    assert "Can't find an instance pool with id: pool-gone-0000" in message
    [summary] = run.commands("task.uploadsummary")
    text = Path(summary.data).read_text(encoding="utf-8")
    assert Path(summary.data).name.startswith("Databricks run not-started-")
    assert "## Databricks run not started" in text and "⏭️ NOT_STARTED" in text
