"""Jobs API 2.0 as old clients speak it: one task at the top level, `text/json` bodies, runs without `tasks`."""

from __future__ import annotations

from contract_target import Target
from databricks.sdk import WorkspaceClient
from jobs_helpers import ECHO, folder, raw, upload, wait_raw


def test_single_task_submit_and_the_2_0_run_shape(client: WorkspaceClient, target: Target, cluster_id: str) -> None:
    """The task's fields sit at the top level; runs/get 2.0 shows `task` and `cluster_spec`, not `tasks`."""
    path = upload(client, f"{folder(client)}/echo", ECHO)
    body = {
        "run_name": "legacy run",
        "existing_cluster_id": cluster_id,
        "notebook_task": {"notebook_path": path, "base_parameters": {"name": "2.0"}},
        "timeout_seconds": 600,
    }
    status, started = raw(target, "POST", "/api/2.0/jobs/runs/submit", body, content_type="text/json")
    assert status == 200 and set(started) == {"run_id"}
    run = wait_raw(target, started["run_id"], version="2.0")

    assert run["state"]["result_state"] == "SUCCESS" and "tasks" not in run
    assert run["task"] == {
        "notebook_task": {"notebook_path": path, "base_parameters": {"name": "2.0"}, "source": "WORKSPACE"}
    }
    assert run["cluster_spec"] == {"existing_cluster_id": cluster_id}
    assert run["cluster_instance"]["cluster_id"] == cluster_id
    assert run["run_type"] == "SUBMIT_RUN" and run["execution_duration"] >= 0
    status, output = raw(target, "GET", f"/api/2.0/jobs/runs/get-output?run_id={run['run_id']}")
    assert output["notebook_output"]["result"] == "hello 2.0" and "tasks" not in output["metadata"]

    status, newer = raw(target, "GET", f"/api/2.1/jobs/runs/get?run_id={run['run_id']}")
    assert [t["task_key"] for t in newer["tasks"]] == ["legacy_run"]
    assert raw(target, "POST", "/api/2.2/jobs/runs/delete", {"run_id": run["run_id"]})[0] == 200


def test_multi_task_run_read_through_2_0_keeps_its_tasks(client: WorkspaceClient, target: Target) -> None:
    """A run with several tasks has no single-task form: API 2.0 shows it in the multi-task format."""
    path = upload(client, f"{folder(client)}/echo", ECHO)
    tasks = [{"task_key": k, "notebook_task": {"notebook_path": path}} for k in ("a", "b")]
    status, started = raw(target, "POST", "/api/2.0/jobs/runs/submit", {"tasks": tasks})
    assert status == 200
    run = wait_raw(target, started["run_id"], version="2.0")
    assert run["format"] == "MULTI_TASK" and [t["task_key"] for t in run["tasks"]] == ["a", "b"]
    assert raw(target, "POST", "/api/2.2/jobs/runs/delete", {"run_id": run["run_id"]})[0] == 200
