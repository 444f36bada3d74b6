"""Results from runs of existing jobs through the packaged task: every notebook task of the job's run gets
`dbcicd_results_dir` as the Jobs API lets run-now give it (steps/runs.py job_results_route), and the JUnit its
pytest notebook writes there is published, as for a run of notebooks."""

from __future__ import annotations

import uuid
from pathlib import Path

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import ImportFormat, Language
from test_task_results import home_entries, published

from dbcicd_localworkspace.http.tenants import Tenant
from task_harness import Agent, TaskRun

HEADER = "# Databricks notebook source\n"
# Each task writes a file named after itself: run-now's parameters are the run's, so a job's tasks share the folder.
# A failed test fails the task; `count` names a file of this machine the notebook appends a line to on each run.
RUN_PYTEST = HEADER + (
    "import pytest\n"
    "dbutils.widgets.text('dbcicd_results_dir', '')\n"
    "dbutils.widgets.text('name', 'checks')\n"
    "dbutils.widgets.text('count', '')\n"
    "out = dbutils.widgets.get('dbcicd_results_dir')\n"
    "name = dbutils.widgets.get('name')\n"
    "if dbutils.widgets.get('count'):\n"
    "    open(dbutils.widgets.get('count'), 'a').write('ran\\n')\n"
    "args = ['-q', '-p', 'no:cacheprovider', f'{name}.py'] + ([f'--junitxml={out}/{name}.xml'] if out else [])\n"
    "if pytest.main(args):\n"
    "    raise AssertionError('tests failed')\n"
)
CHECKS = "def test_add():\n    assert 1 + 1 == 2\n"
OTHER = "def test_other():\n    assert 'a' < 'b'\n"
# Fails until the marker file exists, as a test against a flaky data source would.
FLAKY = "import os\n\n\ndef test_source():\n    assert os.path.exists({marker!r}), 'the data source timed out'\n"


def make_job(
    client: WorkspaceClient,
    parameters: list[jobs.JobParameterDefinition] | None = None,
    checks: dict[str, str] | None = None,
    counts: Path | None = None,
) -> int:
    """A job of pytest notebook tasks, one for each of `checks` (task key -> test file), in a folder of its own."""
    checks = checks or {"checks": CHECKS, "other": OTHER}
    folder = f"/Shared/job-results/{uuid.uuid4().hex[:12]}"
    client.workspace.mkdirs(folder)
    client.workspace.upload(
        f"{folder}/run_pytest", RUN_PYTEST.encode(), format=ImportFormat.SOURCE, language=Language.PYTHON
    )
    for name, source in checks.items():
        client.workspace.upload(f"{folder}/{name}.py", source.encode(), format=ImportFormat.AUTO)
    tasks = [
        jobs.Task(
            task_key=key,
            notebook_task=jobs.NotebookTask(
                notebook_path=f"{folder}/run_pytest",
                base_parameters={"name": key, "count": str(counts / key) if counts else ""},
            ),
        )
        for key in checks
    ]
    return int(client.jobs.create(name=f"pytest job {folder}", tasks=tasks, parameters=parameters).job_id)


def run_job(agent: Agent, tenant: Tenant, job_id: int, variables: dict[str, str] | None = None) -> TaskRun:
    agent.sign_in(tenant)
    return agent.run({"command": "run", "jobId": str(job_id)}, variables)


def test_a_job_without_job_parameters_gets_the_results_folder_as_notebook_params(
    agent: Agent, isolated_workspace: Tenant, isolated_client: WorkspaceClient
) -> None:
    run = run_job(agent, isolated_workspace, make_job(isolated_client))

    assert run.result == "Succeeded", run.stdout + run.stderr
    assert {("test_add", "Passed"), ("test_other", "Passed")} <= published(run)
    assert ".dbcicd" not in home_entries(isolated_client)  # the step's folder is deleted once read


def test_a_job_declaring_the_results_parameter_gets_it_as_a_job_parameter(
    agent: Agent, isolated_workspace: Tenant, isolated_client: WorkspaceClient
) -> None:
    declared = [
        jobs.JobParameterDefinition(name="dbcicd_results_dir", default=""),
        jobs.JobParameterDefinition(name="env", default="ci"),
    ]
    run = run_job(agent, isolated_workspace, make_job(isolated_client, declared))

    assert run.result == "Succeeded", run.stdout + run.stderr
    assert {("test_add", "Passed"), ("test_other", "Passed")} <= published(run)


def test_a_job_with_other_job_parameters_runs_and_is_told_the_line_to_add(
    agent: Agent, isolated_workspace: Tenant, isolated_client: WorkspaceClient
) -> None:
    job_id = make_job(isolated_client, [jobs.JobParameterDefinition(name="env", default="ci")])
    run = run_job(agent, isolated_workspace, job_id)

    assert run.result == "Succeeded", run.stdout + run.stderr
    warnings = run.record.warnings
    assert any('- {name: dbcicd_results_dir, default: ""}' in w and f"Job {job_id}" in w for w in warnings), warnings


def test_the_next_job_attempt_repairs_the_job_run_and_runs_only_the_failed_task(
    agent: Agent, isolated_workspace: Tenant, isolated_client: WorkspaceClient, tmp_path: Path
) -> None:
    """ "Rerun failed jobs" of the pipeline (System.JobAttempt one higher) repairs the run the first attempt started:
    only the failed task runs again, in the same run of the job, and its cases are published."""
    counts, marker = tmp_path / "counts", tmp_path / "marker"
    counts.mkdir()
    checks = {"checks": CHECKS, "flaky": FLAKY.format(marker=str(marker))}
    job_id = make_job(isolated_client, checks=checks, counts=counts)

    def attempt(number: int) -> TaskRun:
        variables = {"System.JobAttempt": str(number), "System.TaskInstanceId": str(uuid.uuid4())}
        return run_job(agent, isolated_workspace, job_id, variables)

    first = attempt(1)
    assert first.result == "Failed", first.stdout[-3000:]
    assert ("test_source", "Failed") in published(first)
    marker.write_text("the data source is back")

    second = attempt(2)

    assert second.result == "Succeeded", second.stdout[-3000:]
    assert ("test_source", "Passed") in published(second)
    ran = {p.name: len(p.read_text().splitlines()) for p in counts.iterdir()}
    assert ran == {"checks": 1, "flaky": 2}, "only the failed task ran again"
    assert second.variables["runId"] == first.variables["runId"], "the same run of the job, repaired"
    assert f"repaired run {first.variables['runId']} (job attempt 1): re-ran flaky" in second.stdout
    repaired = isolated_client.jobs.get_run(int(first.variables["runId"]), include_history=True)
    assert [item.type for item in repaired.repair_history or []] == [
        jobs.RepairHistoryItemType.ORIGINAL,
        jobs.RepairHistoryItemType.REPAIR,
    ]
    assert ".dbcicd" not in home_entries(isolated_client)
