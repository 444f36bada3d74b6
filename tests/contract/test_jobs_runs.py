"""The life of runs: dependencies and run_if, parallel tasks, 2.2 paging, cancel, timeouts, list and delete."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from contract_target import Target
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue, ResourceDoesNotExist
from databricks.sdk.service import jobs
from jobs_helpers import ECHO, FAIL, SLEEPER, by_key, folder, notebook, notebook_task, raw, results, upload, wait

from dbcicd_localworkspace import LocalWorkspaceServer, Tenant


def _alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie (POSIX)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def _wait_for_file(path: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)
    return path.read_text()


def test_run_if_conditions_decide_what_runs_after_a_failure(client: WorkspaceClient) -> None:
    """ALL_SUCCESS dependents are UPSTREAM_FAILED, ALL_DONE and AT_LEAST_ONE_FAILED run, unmet ones are EXCLUDED."""
    base = folder(client)
    bad, good = upload(client, f"{base}/bad", FAIL), upload(client, f"{base}/good", ECHO)
    run = wait(
        client,
        client.jobs.submit(
            run_name="conditions",
            tasks=[
                notebook_task("load", bad),
                notebook_task("transform", good, ("load",)),
                notebook_task("cleanup", good, ("load",), run_if=jobs.RunIf.ALL_DONE),
                notebook_task("alert", good, ("load",), run_if=jobs.RunIf.AT_LEAST_ONE_FAILED),
                notebook_task("celebrate", good, ("load",), run_if=jobs.RunIf.NONE_FAILED),
            ],
        ).run_id,
    )
    assert results(run) == {
        "load": "FAILED",
        "transform": "UPSTREAM_FAILED",
        "cleanup": "SUCCESS",
        "alert": "SUCCESS",
        "celebrate": "EXCLUDED",
    }
    assert by_key(run)["transform"].status.termination_details.code.value == "SKIPPED"
    # A leaf (transform) failed because of `load`, so the run fails and names where it started.
    assert run.state.result_state.value == "FAILED" and run.state.state_message.startswith("Task load failed")


def test_failure_that_no_leaf_shows_is_success_with_failures(client: WorkspaceClient) -> None:
    """When only a non-leaf task failed and every leaf succeeded, the run is SUCCESS_WITH_FAILURES."""
    base = folder(client)
    bad, good = upload(client, f"{base}/bad", FAIL), upload(client, f"{base}/good", ECHO)
    run = wait(
        client,
        client.jobs.submit(
            tasks=[notebook_task("try", bad), notebook_task("always", good, ("try",), run_if=jobs.RunIf.ALL_DONE)]
        ).run_id,
    )
    assert (run.state.life_cycle_state.value, run.state.result_state.value) == ("TERMINATED", "SUCCESS_WITH_FAILURES")


def test_independent_tasks_run_in_parallel(client: WorkspaceClient, tmp_path: Path) -> None:
    """Three tasks each wait until all three have started: only parallel execution lets them finish."""
    barrier = notebook(
        "import pathlib, time",
        'dbutils.widgets.text("dir", "")\n'
        'd = pathlib.Path(dbutils.widgets.get("dir"))\n'
        'dbutils.widgets.text("me", "")\n'
        '(d / dbutils.widgets.get("me")).touch()\n'
        "deadline = time.monotonic() + 20\n"
        'while len(list(d.iterdir())) < 3:\n    assert time.monotonic() < deadline, "ran alone"\n    time.sleep(0.02)',
    )
    path = upload(client, f"{folder(client)}/barrier", barrier)
    tasks = [notebook_task(k, path, params={"dir": str(tmp_path), "me": k}) for k in ("a", "b", "c")]
    run = wait(client, client.jobs.submit(tasks=tasks).run_id)
    assert results(run) == {"a": "SUCCESS", "b": "SUCCESS", "c": "SUCCESS"}


def test_a_150_task_run_is_read_back_whole(client: WorkspaceClient, target: Target) -> None:
    """API 2.2 pages tasks at 100 with next_page_token (none on the last page); the SDK's get_run joins them."""
    bad = upload(client, f"{folder(client)}/bad", FAIL)
    tasks = [notebook_task("root", bad)] + [notebook_task(f"t{i:03}", bad, ("root",)) for i in range(149)]
    run_id = client.jobs.submit(run_name="wide", tasks=tasks).run_id
    run = wait(client, run_id)
    assert len(run.tasks) == 150 and len({t.run_id for t in run.tasks}) == 150
    assert results(run)["root"] == "FAILED" and results(run)["t148"] == "UPSTREAM_FAILED"

    status, first = raw(target, "GET", f"/api/2.2/jobs/runs/get?run_id={run_id}")
    assert status == 200 and len(first["tasks"]) == 100 and first["next_page_token"]
    token = first["next_page_token"]
    status, last = raw(target, "GET", f"/api/2.2/jobs/runs/get?run_id={run_id}&page_token={token}")
    assert status == 200 and len(last["tasks"]) == 50 and "next_page_token" not in last
    status, whole = raw(target, "GET", f"/api/2.1/jobs/runs/get?run_id={run_id}")
    assert len(whole["tasks"]) == 150 and "next_page_token" not in whole


@pytest.mark.skipif(os.name != "posix", reason="checks process ids through POSIX signals")
def test_cancel_kills_the_process_tree_within_a_second(client: WorkspaceClient, tmp_path: Path) -> None:
    """runs/cancel ends a running notebook and the process it started; waiting tasks end UPSTREAM_CANCELED."""
    spawner = SLEEPER.replace(
        "time.sleep(120)",
        'import subprocess, sys\nchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])\n'
        'open(dbutils.widgets.get("marker") + ".child", "w").write(str(child.pid))\ntime.sleep(120)',
    )
    path = upload(client, f"{folder(client)}/sleeper", spawner)
    marker = tmp_path / "pid"
    run_id = client.jobs.submit(
        tasks=[notebook_task("sleep", path, params={"marker": str(marker)}), notebook_task("next", path, ("sleep",))]
    ).run_id
    pid = int(_wait_for_file(marker))
    child = int(_wait_for_file(Path(f"{marker}.child")))
    assert client.jobs.get_run(run_id).state.life_cycle_state.value == "RUNNING"

    started = time.monotonic()
    client.jobs.cancel_run(run_id)
    run = wait(client, run_id, timeout=5)
    assert time.monotonic() - started < 1.0
    assert (run.state.life_cycle_state.value, run.state.result_state.value) == ("TERMINATED", "CANCELED")
    assert run.state.user_cancelled_or_timedout is True
    assert run.status.termination_details.code.value == "USER_CANCELED"
    assert results(run) == {"sleep": "CANCELED", "next": "UPSTREAM_CANCELED"}
    deadline = time.monotonic() + 2
    while (_alive(pid) or _alive(child)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(pid) and not _alive(child)

    client.jobs.cancel_run(run_id)  # cancelling an ended run changes nothing
    assert client.jobs.get_run(run_id).state.result_state.value == "CANCELED"


def test_cancel_one_task_run(client: WorkspaceClient, tmp_path: Path) -> None:
    """Cancelling a task's run_id cancels that task only; its dependents end UPSTREAM_CANCELED, others go on."""
    base = folder(client)
    sleeper, echo = upload(client, f"{base}/sleeper", SLEEPER), upload(client, f"{base}/echo", ECHO)
    marker = tmp_path / "pid"
    run_id = client.jobs.submit(
        tasks=[
            notebook_task("slow", sleeper, params={"marker": str(marker)}),
            notebook_task("after", echo, ("slow",)),
            notebook_task("other", echo),
        ]
    ).run_id
    _wait_for_file(marker)
    slow = by_key(client.jobs.get_run(run_id))["slow"]
    client.jobs.cancel_run(slow.run_id)
    run = wait(client, run_id, timeout=10)
    assert results(run) == {"slow": "CANCELED", "after": "UPSTREAM_CANCELED", "other": "SUCCESS"}
    assert run.state.result_state.value == "CANCELED"


def test_run_timeout_ends_the_run_timedout(client: WorkspaceClient, tmp_path: Path) -> None:
    """timeout_seconds of the run: TIMEDOUT, and the notebook's process killed."""
    path = upload(client, f"{folder(client)}/sleeper", SLEEPER)
    marker = tmp_path / "pid"
    run = wait(
        client,
        client.jobs.submit(
            tasks=[notebook_task("sleep", path, params={"marker": str(marker)})], timeout_seconds=1
        ).run_id,
        timeout=15,
    )
    assert (run.state.life_cycle_state.value, run.state.result_state.value) == ("TERMINATED", "TIMEDOUT")
    assert run.state.user_cancelled_or_timedout is True
    assert results(run) == {"sleep": "TIMEDOUT"}
    if os.name == "posix":
        assert not _alive(int(marker.read_text()))


def test_task_timeout_fails_the_run(client: WorkspaceClient, tmp_path: Path) -> None:
    """A task's own timeout_seconds ends it TIMEDOUT and the run names it; runs/get-output's error names the
    timeout, not the signal that killed the task."""
    path = upload(client, f"{folder(client)}/sleeper", SLEEPER)
    run = wait(
        client,
        client.jobs.submit(
            tasks=[notebook_task("sleep", path, params={"marker": str(tmp_path / "pid")}, timeout_seconds=1)]
        ).run_id,
        timeout=15,
    )
    task = run.tasks[0]
    assert (task.state.result_state.value, task.state.user_cancelled_or_timedout) == ("TIMEDOUT", True)
    assert run.state.result_state.value == "TIMEDOUT"
    assert run.state.state_message.startswith("Task sleep failed with message: Task timed out after 1 seconds")
    output = client.jobs.get_run_output(task.run_id)
    assert output.error == "Task timed out after 1 seconds"
    assert "signal" not in (output.error_trace or "")


def test_delete_only_ended_runs(client: WorkspaceClient, tmp_path: Path, local_workspace: LocalWorkspaceServer) -> None:
    """Deleting an active run is refused (INVALID_STATE); an ended one disappears, with its folder."""
    path = upload(client, f"{folder(client)}/sleeper", SLEEPER)
    marker = tmp_path / "pid"
    run_id = client.jobs.submit(tasks=[notebook_task("sleep", path, params={"marker": str(marker)})]).run_id
    _wait_for_file(marker)
    status, body = raw(local_workspace, "POST", "/api/2.2/jobs/runs/delete", {"run_id": run_id})
    assert status == 400 and body["error_code"] == "INVALID_STATE"
    client.jobs.cancel_run(run_id)
    wait(client, run_id)
    assert (local_workspace.root / "runs" / str(run_id)).is_dir()
    client.jobs.delete_run(run_id)
    with pytest.raises(ResourceDoesNotExist):
        client.jobs.get_run(run_id)
    assert not (local_workspace.root / "runs" / str(run_id)).exists()


def test_list_runs_filters_and_pages(isolated_client: WorkspaceClient, isolated_workspace: Tenant) -> None:
    """runs/list: newest first, completed_only/active_only, paging with tokens, tasks only with expand_tasks (in a
    tenant of its own, so the list holds this test's runs only)."""
    client = isolated_client
    path = upload(client, f"{folder(client)}/echo", ECHO)
    ids = [client.jobs.submit(tasks=[notebook_task("t", path)]).run_id for _ in range(3)]
    for run_id in ids:
        wait(client, run_id)
    listed = [r.run_id for r in client.jobs.list_runs(completed_only=True, run_type=jobs.RunType.SUBMIT_RUN)]
    assert listed == ids[::-1]
    assert list(client.jobs.list_runs(active_only=True)) == []
    status, page = raw(isolated_workspace, "GET", "/api/2.2/jobs/runs/list?limit=2")
    assert status == 200 and [r["run_id"] for r in page["runs"]] == ids[:0:-1] and page["has_more"]
    assert "tasks" not in page["runs"][0]
    status, nxt = raw(
        isolated_workspace, "GET", f"/api/2.2/jobs/runs/list?limit=2&page_token={page['next_page_token']}"
    )
    assert [r["run_id"] for r in nxt["runs"]] == ids[:1] and not nxt.get("has_more") and nxt["prev_page_token"]
    expanded = next(iter(client.jobs.list_runs(limit=1, expand_tasks=True)))
    assert expanded.run_id == ids[-1] and expanded.tasks and expanded.tasks[0].task_key == "t"
    with pytest.raises(InvalidParameterValue, match="cannot both be true"):
        next(iter(client.jobs.list_runs(active_only=True, completed_only=True)))


@pytest.mark.skipif(os.name != "posix", reason="checks process ids through POSIX signals")
def test_stopping_the_server_kills_active_runs(tmp_path: Path) -> None:
    """Shutting the local workspace down kills the processes of the runs still active."""
    with LocalWorkspaceServer(root=tmp_path / "workspace") as server:
        client = WorkspaceClient(host=server.host, token=server.token, auth_type="pat")
        path = upload(client, f"{folder(client)}/sleeper", SLEEPER)
        client.jobs.submit(tasks=[notebook_task("sleep", path, params={"marker": str(tmp_path / "pid")})])
        pid = int(_wait_for_file(tmp_path / "pid"))
    assert not _alive(pid)
