"""Jobs: create, get (2.2 pages its tasks), list by name, delete, and run-now with its parameter overrides."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from contract_target import Target
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue, ResourceDoesNotExist
from databricks.sdk.service import jobs
from jobs_helpers import ECHO, SLEEPER, folder, raw, upload, wait

from dbcicd_localworkspace import Tenant


def _task(key: str, path: str, **params: str) -> jobs.Task:
    return jobs.Task(task_key=key, notebook_task=jobs.NotebookTask(notebook_path=path, base_parameters=params or None))


def test_create_get_list_and_delete_a_job(client: WorkspaceClient) -> None:
    """jobs/get shows the settings with server defaults; list matches the exact name case-insensitively."""
    path = upload(client, f"{folder(client)}/echo", ECHO)
    name = f"Nightly {uuid.uuid4().hex[:8]}"
    job_id = client.jobs.create(name=name, tasks=[_task("echo", path)]).job_id
    job = client.jobs.get(job_id)
    assert job.job_id == job_id and job.creator_user_name == client.current_user.me().user_name
    assert job.created_time > 0
    assert job.settings.name == name and job.settings.max_concurrent_runs == 1
    assert job.settings.tasks[0].run_if.value == "ALL_SUCCESS"
    assert job.settings.tasks[0].notebook_task.source.value == "WORKSPACE"

    assert [j.job_id for j in client.jobs.list(name=name.upper())] == [job_id]
    assert list(client.jobs.list(name=name + " 2")) == []
    listed = next(iter(client.jobs.list(name=name)))
    assert listed.settings.name == name and not listed.settings.tasks  # tasks only with expand_tasks
    assert next(iter(client.jobs.list(name=name, expand_tasks=True))).settings.tasks[0].task_key == "echo"

    client.jobs.delete(job_id)
    with pytest.raises(ResourceDoesNotExist, match=f"Job {job_id} does not exist"):
        client.jobs.get(job_id)


def test_jobs_list_pages(isolated_client: WorkspaceClient, isolated_workspace: Tenant) -> None:
    """limit and page_token walk the jobs newest first; the SDK follows next_page_token to the end (in a tenant of
    its own, so the list holds this test's jobs only)."""
    ids = [isolated_client.jobs.create(name=f"job-{i}").job_id for i in range(3)]
    status, page = raw(isolated_workspace, "GET", "/api/2.2/jobs/list?limit=2")
    assert status == 200 and [j["job_id"] for j in page["jobs"]] == ids[::-1][:2] and page["has_more"]
    assert [j.job_id for j in isolated_client.jobs.list(limit=1)] == ids[::-1]
    status, body = raw(isolated_workspace, "GET", "/api/2.2/jobs/list?limit=101")
    assert status == 400 and "between 1 and 100" in body["message"]


def test_a_job_with_150_tasks_is_read_back_whole(client: WorkspaceClient, target: Target) -> None:
    """jobs/get in API 2.2 pages settings.tasks at 100; the SDK joins the pages."""
    tasks = [_task(f"t{i:03}", "/Shared/nowhere") for i in range(150)]
    job_id = client.jobs.create(name="wide", tasks=tasks).job_id
    status, first = raw(target, "GET", f"/api/2.2/jobs/get?job_id={job_id}")
    assert status == 200 and len(first["settings"]["tasks"]) == 100 and first["next_page_token"]
    assert [t.task_key for t in client.jobs.get(job_id).settings.tasks] == [t.task_key for t in tasks]


def test_run_now_overrides_notebook_parameters(client: WorkspaceClient) -> None:
    """notebook_params replace base_parameters; the run is a JOB_RUN of the job with number_in_job = run_id."""
    path = upload(client, f"{folder(client)}/echo", ECHO)
    job_id = client.jobs.create(name="greeter", tasks=[_task("greet", path, name="base")]).job_id
    started = client.jobs.run_now(job_id, notebook_params={"name": "override"})
    assert started.response.number_in_job == started.run_id
    run = wait(client, started.run_id)
    assert (run.run_type.value, run.job_id, run.run_name) == ("JOB_RUN", job_id, "greeter")
    assert run.trigger.value == "ONE_TIME" and run.overriding_parameters.notebook_params == {"name": "override"}
    assert client.jobs.get_run_output(run.tasks[0].run_id).notebook_output.result == "hello override"
    plain = wait(client, client.jobs.run_now(job_id).run_id)
    assert client.jobs.get_run_output(plain.tasks[0].run_id).notebook_output.result == "hello base"
    assert [r.run_id for r in client.jobs.list_runs(job_id=job_id)] == [plain.run_id, run.run_id]


def test_run_now_with_job_parameters(client: WorkspaceClient) -> None:
    """Job parameters reach notebooks as widgets (defaults or the run's values); undeclared names are refused."""
    path = upload(client, f"{folder(client)}/echo", ECHO)
    job_id = client.jobs.create(
        name="params",
        tasks=[_task("greet", path, name="from-task")],
        parameters=[jobs.JobParameterDefinition(name="name", default="{{job.id}}")],
    ).job_id
    run = wait(client, client.jobs.run_now(job_id, job_parameters={"name": "Grace"}).run_id)
    assert client.jobs.get_run_output(run.tasks[0].run_id).notebook_output.result == "hello Grace"
    assert [(p.name, p.default, p.value) for p in run.job_parameters] == [("name", "{{job.id}}", "Grace")]
    default = wait(client, client.jobs.run_now(job_id).run_id)
    assert client.jobs.get_run_output(default.tasks[0].run_id).notebook_output.result == f"hello {job_id}"
    with pytest.raises(InvalidParameterValue, match="does not define a parameter named 'nope'"):
        client.jobs.run_now(job_id, job_parameters={"nope": "x"})


def test_run_now_only_runs_the_chosen_tasks(client: WorkspaceClient) -> None:
    """`only` keeps the listed tasks; dependencies on the others are dropped."""
    path = upload(client, f"{folder(client)}/echo", ECHO)
    first = _task("first", path)
    second = jobs.Task(
        task_key="second",
        notebook_task=jobs.NotebookTask(notebook_path=path),
        depends_on=[jobs.TaskDependency("first")],
    )
    job_id = client.jobs.create(name="pick", tasks=[first, second]).job_id
    run = wait(client, client.jobs.run_now(job_id, only=["second"]).run_id)
    assert [t.task_key for t in run.tasks] == ["second"] and run.state.result_state.value == "SUCCESS"


def test_idempotent_run_now_and_unknown_job(client: WorkspaceClient) -> None:
    """The same token gives the same run; an unknown job is "Job N does not exist."."""
    path = upload(client, f"{folder(client)}/echo", ECHO)
    job_id = client.jobs.create(name="once", tasks=[_task("t", path)]).job_id
    token = uuid.uuid4().hex
    assert (
        client.jobs.run_now(job_id, idempotency_token=token).run_id
        == client.jobs.run_now(job_id, idempotency_token=token).run_id
    )
    with pytest.raises(InvalidParameterValue, match="Job 42 does not exist"):
        client.jobs.run_now(42)


def test_max_concurrent_runs_skips_the_extra_run(client: WorkspaceClient, tmp_path: Path) -> None:
    """With one run active and max_concurrent_runs 1 (queueing off), the next run is SKIPPED at once."""
    path = upload(client, f"{folder(client)}/sleeper", SLEEPER)
    job_id = client.jobs.create(name="single", tasks=[_task("sleep", path, marker=str(tmp_path / "pid"))]).job_id
    first = client.jobs.run_now(job_id).run_id
    second = wait(client, client.jobs.run_now(job_id).run_id)
    assert (second.state.life_cycle_state.value, second.state.result_state.value) == (
        "SKIPPED",
        "MAXIMUM_CONCURRENT_RUNS_REACHED",
    )
    client.jobs.cancel_run(first)
    assert wait(client, first).state.result_state.value == "CANCELED"


def test_invalid_job_settings(target: Target) -> None:
    """jobs/create validates like runs/submit, plus job_cluster_key against job_clusters."""
    body = {"name": "x", "tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "/x"}, "job_cluster_key": "c"}]}
    status, answer = raw(target, "POST", "/api/2.2/jobs/create", body)
    assert status == 400 and "job_cluster_key 'c'" in answer["message"]
    body["job_clusters"] = [{"job_cluster_key": "c", "new_cluster": {"spark_version": "15.4.x-scala2.12"}}]
    status, created = raw(target, "POST", "/api/2.2/jobs/create", body)
    assert status == 200
    assert raw(target, "POST", "/api/2.2/jobs/delete", {"job_id": created["job_id"]})[0] == 200
