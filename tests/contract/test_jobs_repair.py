"""runs/repair through the real databricks-sdk: failed tasks and their dependents re-run inside the original run.

Follows the Jobs API reference (runs/repair, runs/get include_history) and databricks-sdk's JobsAPI.repair_run;
what those do not settle is listed in dbcicd_localworkspace/jobs/repair.py. The notebooks count their runs in files
of this machine, which only the local workspace's tasks can reach.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError
from databricks.sdk.service import jobs
from jobs_helpers import ECHO, SLEEPER, by_key, folder, notebook, raw, results, upload, wait

from dbcicd_localworkspace import LocalWorkspaceServer

# Fails until the file named by widget `marker` exists; appends one line per run to widget `count`.
FLAKY = notebook(
    "import os",
    'dbutils.widgets.text("marker", "")\ndbutils.widgets.text("count", "")\n'
    'open(dbutils.widgets.get("count"), "a").write("ran\\n")\n'
    'if not os.path.exists(dbutils.widgets.get("marker")):\n'
    '    raise ConnectionError("the data source timed out")',
)


def _task(key: str, path: str, params: dict[str, str], depends_on: tuple[str, ...] = ()) -> jobs.Task:
    return jobs.Task(
        task_key=key,
        notebook_task=jobs.NotebookTask(notebook_path=path, base_parameters=params),
        depends_on=[jobs.TaskDependency(d) for d in depends_on] or None,
    )


@pytest.fixture
def failed_job_run(client: WorkspaceClient, tmp_path: Path) -> tuple[int, Path, dict[str, Path]]:
    """A job run of four tasks: `ingest` fails (flaky), `report` depends on it, `other` and `lonely` succeed."""
    base = folder(client)
    flaky, echo = upload(client, f"{base}/flaky", FLAKY), upload(client, f"{base}/echo", ECHO)
    counts = {k: tmp_path / f"{k}.count" for k in ("ingest", "report", "other")}
    marker = tmp_path / "marker"

    def params(key: str) -> dict[str, str]:
        return {"marker": str(tmp_path / "always"), "count": str(counts[key])}

    (tmp_path / "always").write_text("")
    job_id = client.jobs.create(
        name="repairable",
        tasks=[
            _task("ingest", flaky, {"marker": str(marker), "count": str(counts["ingest"])}),
            _task("report", flaky, params("report"), ("ingest",)),
            _task("other", flaky, params("other")),
            _task("lonely", echo, {"name": "x"}),
        ],
    ).job_id
    run_id = client.jobs.run_now(job_id).run_id
    run = wait(client, run_id)
    assert results(run) == {"ingest": "FAILED", "report": "UPSTREAM_FAILED", "other": "SUCCESS", "lonely": "SUCCESS"}
    return run_id, marker, counts


def test_repair_reruns_failed_tasks_and_dependents_inside_the_run(
    client: WorkspaceClient, failed_job_run: tuple[int, Path, dict[str, Path]]
) -> None:
    run_id, marker, counts = failed_job_run
    before = by_key(client.jobs.get_run(run_id))
    marker.write_text("")

    repair_id = client.jobs.repair_run(run_id, rerun_all_failed_tasks=True, rerun_dependent_tasks=True).response
    run = wait(client, run_id)

    assert repair_id.repair_id
    assert run.run_id == run_id and run.state.result_state == jobs.RunResultState.SUCCESS
    assert {k: v for k, v in results(run).items()} == dict.fromkeys(("ingest", "report", "other", "lonely"), "SUCCESS")
    after = by_key(run)
    assert after["ingest"].run_id != before["ingest"].run_id and after["ingest"].attempt_number == 1
    assert after["report"].run_id != before["report"].run_id and after["report"].attempt_number == 1
    assert after["other"].run_id == before["other"].run_id and after["other"].attempt_number == 0
    # Each notebook counted its own runs: the successful one did not run again.
    assert [len(counts[k].read_text().splitlines()) for k in ("ingest", "report", "other")] == [2, 1, 1]
    # The earlier task run stays readable, with its failure.
    assert "timed out" in (client.jobs.get_run_output(before["ingest"].run_id).error or "")

    history = client.jobs.get_run(run_id, include_history=True).repair_history
    assert [h.type for h in history] == [jobs.RepairHistoryItemType.ORIGINAL, jobs.RepairHistoryItemType.REPAIR]
    assert history[0].id is None and history[1].id == repair_id.repair_id
    assert set(history[0].task_run_ids) == {t.run_id for t in before.values()}
    assert set(history[1].task_run_ids) == {after["ingest"].run_id, after["report"].run_id}
    assert history[0].state.result_state == jobs.RunResultState.FAILED
    assert history[1].state.result_state == jobs.RunResultState.SUCCESS
    assert history[1].start_time >= history[0].end_time > 0
    assert not client.jobs.get_run(run_id).repair_history  # only with include_history


def test_a_second_repair_needs_the_latest_repair_id(
    client: WorkspaceClient, failed_job_run: tuple[int, Path, dict[str, Path]]
) -> None:
    run_id, _marker, counts = failed_job_run
    first = client.jobs.repair_run(run_id, rerun_tasks=["ingest"]).response.repair_id
    run = wait(client, run_id)
    assert results(run)["ingest"] == "FAILED" and by_key(run)["ingest"].attempt_number == 1

    with pytest.raises(
        DatabricksError, match="The latest repair ID needs to be provided in order to create a new repair"
    ):
        client.jobs.repair_run(run_id, rerun_all_failed_tasks=True)
    with pytest.raises(DatabricksError, match="latest_repair_id"):
        client.jobs.repair_run(run_id, rerun_all_failed_tasks=True, latest_repair_id=first + 12345)
    second = client.jobs.repair_run(run_id, rerun_all_failed_tasks=True, latest_repair_id=first).response.repair_id
    run = wait(client, run_id)

    assert second != first and by_key(run)["ingest"].attempt_number == 2
    assert len(counts["ingest"].read_text().splitlines()) == 3
    history = client.jobs.get_run(run_id, include_history=True).repair_history
    assert [h.id for h in history] == [None, first, second]


@pytest.mark.unrouted_ok  # Jobs API 2.0 has no runs/repair
def test_repair_refuses_an_active_run_and_bad_requests(
    client: WorkspaceClient, local_workspace: LocalWorkspaceServer, tmp_path: Path
) -> None:
    base = folder(client)
    sleeper = upload(client, f"{base}/sleeper", SLEEPER)
    job_id = client.jobs.create(name="busy", tasks=[_task("sleep", sleeper, {"marker": str(tmp_path / "pid")})]).job_id
    run_id = client.jobs.run_now(job_id).run_id
    try:
        with pytest.raises(DatabricksError, match="in progress"):
            client.jobs.repair_run(run_id, rerun_all_failed_tasks=True)
    finally:
        client.jobs.cancel_run(run_id)
    wait(client, run_id)
    status, body = raw(
        local_workspace,
        "POST",
        "/api/2.2/jobs/runs/repair",
        {"run_id": run_id, "rerun_tasks": ["sleep"], "rerun_all_failed_tasks": True},
    )
    assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "Only one of rerun_tasks or rerun_all_failed_tasks" in body["message"]
    status, body = raw(
        local_workspace, "POST", "/api/2.2/jobs/runs/repair", {"run_id": run_id, "rerun_tasks": ["nope"]}
    )
    assert status == 400 and "nope" in body["message"]
    status, body = raw(
        local_workspace, "POST", "/api/2.0/jobs/runs/repair", {"run_id": run_id, "rerun_tasks": ["sleep"]}
    )
    assert status == 404  # Jobs API 2.0 has no runs/repair
    # The cancelled task is repaired (and cancelled again by the same runs/cancel).
    client.jobs.repair_run(run_id, rerun_all_failed_tasks=True)
    client.jobs.cancel_run(run_id)
    assert results(wait(client, run_id)) == {"sleep": "CANCELED"}
