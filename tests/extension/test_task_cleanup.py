"""The packaged task's `cleanup` after a killed agent, run as the agent runs it: the folder's active run is cancelled,
the folder deleted, and a hand-made folder named after the pattern kept."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from dbcicd.steps.tempnames import temporary_name
from task_harness import Agent

SLOW = "# Databricks notebook source\nimport time\ntime.sleep(120)\n"


def test_cleanup_cancels_the_run_and_keeps_a_look_alike(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], client: WorkspaceClient
) -> None:
    remote = make_remote({"tests/slow.py": SLOW})
    parent = f"/Repos/task-cleanup-{time.time_ns() % 10**9}"
    client.workspace.mkdirs(parent)
    name = temporary_name("project", "7", "1", datetime.now(timezone.utc) - timedelta(hours=30))
    ours, lookalike = f"{parent}/{name}", f"{parent}/{name[:-6]}byhand"
    for path in (ours, lookalike):
        client.repos.create(url=remote.url, provider="gitHub", path=path)
    task = jobs.SubmitTask(task_key="slow", notebook_task=jobs.NotebookTask(notebook_path=f"{ours}/tests/slow"))
    orphan = client.jobs.submit(run_name="the killed agent's run", tasks=[task]).run_id
    try:
        run = agent.run({"command": "cleanup", "tempFolder": parent, "olderThanHours": "24"})
        assert run.result == "Succeeded", run.stdout
        assert run.variables == {"deletedCount": "1"}
        assert [r.path for r in client.repos.list(path_prefix=parent + "/")] == [lookalike]
        deadline = time.monotonic() + 10
        while (
            state := client.jobs.get_run(orphan).state
        ) and state.life_cycle_state != jobs.RunLifeCycleState.TERMINATED:
            assert time.monotonic() < deadline, f"run {orphan} still {state.life_cycle_state}"
            time.sleep(0.2)
        assert state is not None and state.result_state == jobs.RunResultState.CANCELED
    finally:
        client.jobs.cancel_run(orphan)
