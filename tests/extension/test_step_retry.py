"""The agent's retry of a failed step (`retryCountOnTaskFailure`) through the packaged task: the retry runs again.

The agent runs the task's handler again in the same environment — the step keeps its System.TaskInstanceId
(microsoft/azure-pipelines-agent src/Agent.Worker/TaskRunner.cs, RetryHelper.RetryStep) — so anything derived from
the step alone is the same on every attempt. A retry must start a Databricks run of its own, not get the failed run
back: here the notebook fails on its first run only, as a flaky data source would.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from task_harness import Agent

FLAKY = """# Databricks notebook source
import os
marker = "/dbfs/tmp/dbcicd-flaky/{name}"
if not os.path.exists(marker):
    os.makedirs(os.path.dirname(marker), exist_ok=True)
    open(marker, "w").write("failed once")
    raise ConnectionError("the data source timed out")
dbutils.notebook.exit("fine the second time")
"""


def test_an_agent_retry_of_a_failed_step_starts_a_run_of_its_own(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], client: WorkspaceClient
) -> None:
    remote = make_remote({"tests/test_flaky.py": FLAKY.format(name=uuid.uuid4().hex)})
    sha = remote.commit({}, "build")
    step = {
        "Build.Repository.Uri": remote.url,
        "Build.SourceBranch": "refs/heads/main",
        "Build.SourceVersion": sha,
        "System.TaskInstanceId": str(uuid.uuid4()),  # the same on every attempt of the step
        "System.JobId": str(uuid.uuid4()),
    }
    inputs = {"command": "test", "gitProvider": "gitHub", "notebooks": "tests/test_flaky"}
    inputs["tempFolder"] = f"/Repos/retry-{time.time_ns() % 10**9}"

    first = agent.run(inputs, step)
    retry = agent.run(inputs, step)

    assert first.result == "Failed", first.stdout[-2000:]
    assert retry.result == "Succeeded", retry.stdout[-3000:]
    assert retry.variables["runId"] != first.variables["runId"]
    assert retry.variables["notebookOutput"] == "fine the second time"
    assert client.jobs.get_run(int(first.variables["runId"])).state.result_state == jobs.RunResultState.FAILED
