"""runs/submit through the real databricks-sdk: notebooks and Python files run, their output, and validation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from contract_target import Target
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue, OperationFailed, ResourceDoesNotExist
from databricks.sdk.service import compute, jobs
from jobs_helpers import ECHO, FAIL, by_key, folder, notebook, notebook_task, raw, submit_and_wait, upload, wait


def test_notebook_reads_a_widget_and_exits_with_a_value(client: WorkspaceClient, cluster_id: str) -> None:
    """The SDK's own waiter sees SUCCESS; get-output of the task run holds the value given to notebook.exit."""
    path = upload(client, f"{folder(client)}/echo", ECHO)
    run = client.jobs.submit(
        run_name="echo", tasks=[notebook_task("echo", path, params={"name": "Ada"}, existing_cluster_id=cluster_id)]
    ).result(timeout=timedelta(seconds=60))

    assert (run.state.life_cycle_state.value, run.state.result_state.value) == ("TERMINATED", "SUCCESS")
    assert run.status.state.value == "TERMINATED"
    assert run.status.termination_details.code.value == "SUCCESS"
    assert run.run_type.value == "SUBMIT_RUN" and run.run_name == "echo"
    task = run.tasks[0]
    assert task.run_id != run.run_id and task.task_key == "echo"
    assert task.state.result_state.value == "SUCCESS" and task.notebook_task.source.value == "WORKSPACE"
    assert run.start_time <= task.start_time <= task.end_time <= run.end_time
    workspace_id = client.get_workspace_id()
    assert run.run_page_url == f"{client.config.host}/?o={workspace_id}#job/{run.job_id}/run/{run.run_id}"
    assert task.run_page_url.endswith(f"#job/{run.job_id}/run/{task.run_id}")
    output = client.jobs.get_run_output(task.run_id)
    assert output.notebook_output.result == "hello Ada" and output.notebook_output.truncated is False
    assert output.metadata.tasks[0].run_id == task.run_id and output.error is None


def test_failing_task_skips_its_dependent_and_fails_the_run(client: WorkspaceClient) -> None:
    """The raising task is FAILED, its dependent UPSTREAM_FAILED, the run INTERNAL_ERROR as real workspaces say."""
    base = folder(client)
    bad, good = upload(client, f"{base}/bad", FAIL), upload(client, f"{base}/good", ECHO)
    waiter = client.jobs.submit(
        run_name="failing", tasks=[notebook_task("ingest", bad), notebook_task("report", good, ("ingest",))]
    )
    with pytest.raises(OperationFailed, match="Task ingest failed with message"):
        waiter.result(timeout=timedelta(seconds=60))  # the SDK waiter raises on INTERNAL_ERROR
    run = client.jobs.get_run(waiter.run_id)

    assert (run.state.life_cycle_state.value, run.state.result_state.value) == ("INTERNAL_ERROR", "FAILED")
    assert run.state.state_message == (
        "Task ingest failed with message: Workload failed, see run output for details. "
        "This caused all downstream tasks to get skipped."
    )
    assert run.status.termination_details.code.value == "RUN_EXECUTION_ERROR"
    tasks = by_key(run)
    assert (tasks["ingest"].state.life_cycle_state.value, tasks["ingest"].state.result_state.value) == (
        "TERMINATED",
        "FAILED",
    )
    assert tasks["report"].state.result_state.value == "UPSTREAM_FAILED"
    output = client.jobs.get_run_output(tasks["ingest"].run_id)
    assert output.error == "ValueError: the data is wrong"
    assert "Traceback" in output.error_trace and "the data is wrong" in output.error_trace
    with pytest.raises(InvalidParameterValue, match="Retrieving the output of runs with multiple tasks"):
        client.jobs.get_run_output(run.run_id)


def test_unknown_run_ids(client: WorkspaceClient, target: Target) -> None:
    """An unknown run is 400 INVALID_PARAMETER_VALUE "Run N does not exist.", which the SDK maps to not-found."""
    status, body = raw(target, "GET", "/api/2.2/jobs/runs/get?run_id=123")
    assert (status, body) == (400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "Run 123 does not exist."})
    with pytest.raises(ResourceDoesNotExist):
        client.jobs.get_run(123)
    with pytest.raises(InvalidParameterValue, match="Run 123 does not exist"):
        client.jobs.cancel_run(123)


def test_idempotency_token_returns_the_first_run(client: WorkspaceClient) -> None:
    """A retried submit with the same token gets the run the first one started, not a second run."""
    path = upload(client, f"{folder(client)}/echo", ECHO)
    token = f"retry-{path.rsplit('/', 2)[-2]}"
    first = client.jobs.submit(run_name="a", tasks=[notebook_task("t", path)], idempotency_token=token).run_id
    second = client.jobs.submit(run_name="b", tasks=[notebook_task("t", path)], idempotency_token=token).run_id
    assert first == second
    assert wait(client, first).run_name == "a"
    with pytest.raises(InvalidParameterValue, match="at most 64"):
        client.jobs.submit(tasks=[notebook_task("t", path)], idempotency_token="x" * 65)


def test_missing_notebook_fails_the_task_not_the_submit(client: WorkspaceClient) -> None:
    """Databricks accepts the submit; the task ends INTERNAL_ERROR/FAILED with RESOURCE_NOT_FOUND."""
    missing = f"{folder(client)}/nothing-here"
    run = submit_and_wait(client, notebook_task("t", missing))
    task = run.tasks[0]
    assert (task.state.life_cycle_state.value, task.state.result_state.value) == ("INTERNAL_ERROR", "FAILED")
    assert task.status.termination_details.code.value == "RESOURCE_NOT_FOUND"
    assert missing in task.state.state_message
    assert run.state.result_state.value == "FAILED" and missing in run.state.state_message
    assert missing in client.jobs.get_run_output(task.run_id).error


BAD_SUBMITS = [
    ({"tasks": [{"notebook_task": {"notebook_path": "/x"}}]}, "Missing required field: tasks[0].task_key"),
    ({"tasks": []}, "Missing required field: tasks"),
    ({"tasks": [{"task_key": "a b", "notebook_task": {"notebook_path": "/x"}}]}, "Invalid tasks[0].task_key 'a b'"),
    (
        {"tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "/x"}}] * 2},
        "'a' is already used by tasks[0]",
    ),
    (
        {"tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "/x"}, "depends_on": [{"task_key": "z"}]}]},
        "depends_on names task_key 'z'",
    ),
    (
        {
            "tasks": [
                {"task_key": "a", "notebook_task": {"notebook_path": "/x"}, "depends_on": [{"task_key": "b"}]},
                {"task_key": "b", "notebook_task": {"notebook_path": "/x"}, "depends_on": [{"task_key": "a"}]},
            ]
        },
        "cycle: a -> b -> a",
    ),
    ({"tasks": [{"task_key": "a"}]}, "exactly one task type must be set"),
    (
        {
            "tasks": [
                {"task_key": "a", "notebook_task": {"notebook_path": "/x"}, "spark_python_task": {"python_file": "/y"}}
            ]
        },
        "it sets notebook_task, spark_python_task",
    ),
    (
        {
            "tasks": [
                {
                    "task_key": "a",
                    "notebook_task": {"notebook_path": "/x"},
                    "existing_cluster_id": "local",
                    "environment_key": "e",
                }
            ]
        },
        "set only one of existing_cluster_id",
    ),
    (
        {"tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "/x"}, "existing_cluster_id": "nope"}]},
        "Cluster nope does not exist",
    ),
    (
        {"tasks": [{"task_key": "a", "spark_python_task": {"python_file": "/x.py"}, "environment_key": "e"}]},
        "environment_key 'e': no entry of environments",
    ),
    ({"tasks": [{"task_key": "a", "spark_python_task": {"python_file": "/x.py"}}]}, "needs compute"),
    ({"tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "relative"}}]}, "must be absolute"),
    (
        {"tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "nb", "source": "GIT"}}]},
        "the run has no git_source",
    ),
    (
        {
            "git_source": {"git_url": "https://x/y", "git_provider": "gitHub", "git_branch": "m", "git_tag": "t"},
            "tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "nb"}}],
        },
        "set exactly one of git_branch, git_tag or git_commit",
    ),
    (
        {
            "git_source": {"git_url": "https://x/y", "git_provider": "svn", "git_branch": "m"},
            "tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "nb"}}],
        },
        "git_source.git_provider 'svn'",
    ),
    (
        {"tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "/x"}, "run_if": "SOMETIMES"}]},
        "run_if 'SOMETIMES'",
    ),
    (
        {"tasks": [{"task_key": "a", "notebook_task": {"notebook_path": "/x", "base_parameters": {"n": 1}}}]},
        "tasks[0].notebook_task.base_parameters.n",
    ),
]


@pytest.mark.parametrize(("body", "message"), BAD_SUBMITS, ids=[m for _, m in BAD_SUBMITS])
def test_invalid_submits_are_refused_naming_the_field(target: Target, body: dict[str, object], message: str) -> None:
    """Request mistakes are 400 INVALID_PARAMETER_VALUE before any run starts, and the message names the field."""
    status, answer = raw(target, "POST", "/api/2.2/jobs/runs/submit", body)
    assert status == 400 and answer["error_code"] == "INVALID_PARAMETER_VALUE", answer
    assert message in answer["message"]


def test_invalid_submit_raises_in_the_sdk(client: WorkspaceClient) -> None:
    """The SDK raises InvalidParameterValue for the unknown cluster."""
    with pytest.raises(InvalidParameterValue, match="Cluster nope does not exist"):
        client.jobs.submit(tasks=[notebook_task("a", "/x", existing_cluster_id="nope")])


def test_python_file_task_gets_its_parameters_and_shows_its_logs(client: WorkspaceClient) -> None:
    """spark_python_task: argv from `parameters`, stdout in get-output `logs`, on serverless compute."""
    base = folder(client)
    script = upload(client, f"{base}/job.py", "import sys\nprint('args:', sys.argv[1:])\n")
    run = submit_and_wait(
        client,
        jobs.SubmitTask(
            task_key="py",
            spark_python_task=jobs.SparkPythonTask(python_file=script, parameters=["--day", "{{job.run_id}}"]),
            environment_key="default",
        ),
        environments=[jobs.JobEnvironment("default", spec=compute.Environment(environment_version="2"))],
    )
    assert run.state.result_state.value == "SUCCESS", run.state
    output = client.jobs.get_run_output(run.tasks[0].run_id)
    assert output.logs.strip() == f"args: ['--day', '{run.run_id}']"
    assert output.logs_truncated is False and output.notebook_output is None


def test_python_file_failure_reports_the_exception(client: WorkspaceClient, cluster_id: str) -> None:
    """A raising Python file: FAILED with error and traceback, and whatever it printed in the logs."""
    script = upload(client, f"{folder(client)}/bad.py", "print('starting')\nraise KeyError('day')\n")
    run = submit_and_wait(
        client,
        jobs.SubmitTask(task_key="py", spark_python_task=jobs.SparkPythonTask(script), existing_cluster_id=cluster_id),
    )
    output = client.jobs.get_run_output(run.tasks[0].run_id)
    assert run.tasks[0].state.result_state.value == "FAILED"
    assert output.error == "KeyError: 'day'" and "starting" in output.logs


def test_notebook_result_is_cut_at_five_megabytes(client: WorkspaceClient) -> None:
    """notebook_output.result holds the first 5 MB of the exit value and says it was truncated."""
    path = upload(client, f"{folder(client)}/big", notebook('dbutils.notebook.exit("x" * (6 * 1024 * 1024))'))
    run = submit_and_wait(client, notebook_task("big", path))
    output = client.jobs.get_run_output(run.tasks[0].run_id)
    assert output.notebook_output.truncated is True
    assert len(output.notebook_output.result) == 5 * 1024 * 1024


def test_notebook_without_exit_has_empty_output(client: WorkspaceClient) -> None:
    """A notebook that never calls notebook.exit succeeds with notebook_output {} (no result)."""
    path = upload(client, f"{folder(client)}/quiet", notebook("x = 1"))
    run = submit_and_wait(client, notebook_task("quiet", path))
    output = client.api_client.do("GET", "/api/2.2/jobs/runs/get-output", query={"run_id": run.tasks[0].run_id})
    assert output["notebook_output"] == {}


@pytest.mark.local_only("python_wheel_task is a task type the local workspace does not run")
def test_unsupported_task_type_fails_clearly(client: WorkspaceClient) -> None:
    """A python_wheel_task is accepted and fails its task saying the local workspace does not run it."""
    run = submit_and_wait(
        client,
        jobs.SubmitTask(
            task_key="wheel",
            python_wheel_task=jobs.PythonWheelTask(package_name="pkg", entry_point="main"),
            existing_cluster_id="local",
        ),
    )
    task = run.tasks[0]
    assert task.state.result_state.value == "FAILED"
    assert task.status.termination_details.code.value == "FEATURE_DISABLED"
    assert re.search(r"python_wheel_task is not supported", task.state.state_message)


def test_task_run_id_answers_as_a_run(client: WorkspaceClient) -> None:
    """runs/get with a task's run_id describes that task run, with the parent in job_run_id."""
    path = upload(client, f"{folder(client)}/echo", ECHO)
    run = submit_and_wait(client, notebook_task("one", path), notebook_task("two", path, ("one",)))
    task = by_key(run)["two"]
    as_run = client.jobs.get_run(task.run_id)
    assert as_run.run_id == task.run_id and as_run.job_run_id == run.run_id
    assert as_run.state.result_state.value == "SUCCESS" and [t.task_key for t in as_run.tasks] == ["two"]
    assert client.jobs.get_run_output(task.run_id).notebook_output.result == "hello nobody"
