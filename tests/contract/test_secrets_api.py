"""Secrets API 2.0 through the real databricks-sdk client, and `dbutils.secrets` in a notebook whose output shows
the value as [REDACTED], as Databricks redacts secret values in notebook output."""

from __future__ import annotations

import base64
import contextlib
import uuid
from collections.abc import Iterator

import pytest
from contract_target import Target
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError, InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from databricks.sdk.service import jobs
from databricks.sdk.service.compute import Environment
from databricks.sdk.service.workspace import AclPermission
from jobs_helpers import folder, notebook, notebook_task, upload, wait

from dbcicd_localworkspace import LocalWorkspaceServer

VALUE = "pa55-" + uuid.uuid4().hex  # unique, so finding it anywhere in output is a leak


@pytest.fixture
def scope(client: WorkspaceClient) -> Iterator[str]:
    """A fresh secret scope for one test, deleted after it."""
    name = f"dbcicd-contract-{uuid.uuid4().hex[:10]}"
    client.secrets.create_scope(name)
    yield name
    with contextlib.suppress(DatabricksError):
        client.secrets.delete_scope(name)


def test_scopes_create_list_delete(client: WorkspaceClient, scope: str) -> None:
    """A scope is listed once made (Databricks-backed); a second one of that name, a name with a space, and deleting
    a scope that is gone are refused with the API's codes."""
    listed = {s.name: s.backend_type.value for s in client.secrets.list_scopes() if s.backend_type}
    assert listed[scope] == "DATABRICKS"
    with pytest.raises(ResourceAlreadyExists):
        client.secrets.create_scope(scope)
    with pytest.raises(InvalidParameterValue):
        client.secrets.create_scope("has a space")
    client.secrets.delete_scope(scope)
    assert scope not in {s.name for s in client.secrets.list_scopes()}
    with pytest.raises(ResourceDoesNotExist):
        client.secrets.delete_scope(scope)


def test_secrets_put_list_delete(client: WorkspaceClient, scope: str) -> None:
    """put stores string and bytes values, list shows keys without values, delete removes one; a missing scope or
    key is RESOURCE_DOES_NOT_EXIST."""
    client.secrets.put_secret(scope, "text", string_value=VALUE)
    client.secrets.put_secret(scope, "raw", bytes_value=base64.b64encode(b"\x00\xffbin").decode())
    listed = list(client.secrets.list_secrets(scope))
    assert [s.key for s in listed] == ["raw", "text"]
    assert all(s.last_updated_timestamp for s in listed)
    client.secrets.delete_secret(scope, "raw")
    assert [s.key for s in client.secrets.list_secrets(scope)] == ["text"]
    with pytest.raises(ResourceDoesNotExist):
        client.secrets.delete_secret(scope, "raw")
    with pytest.raises(ResourceDoesNotExist):
        client.secrets.put_secret(f"{scope}-missing", "k", string_value="v")
    with pytest.raises(InvalidParameterValue):
        client.secrets.put_secret(scope, "k", string_value="x" * (128 * 1024 + 1))


@pytest.mark.local_only("secrets/get answers values outside notebooks only to some callers on a real workspace")
def test_get_secret_answers_the_value_base64(client: WorkspaceClient, scope: str) -> None:
    client.secrets.put_secret(scope, "text", string_value=VALUE)
    assert base64.b64decode(client.secrets.get_secret(scope, "text").value).decode() == VALUE


def test_scope_acls(client: WorkspaceClient, scope: str) -> None:
    """The creator holds MANAGE; an ACL can be put, read and deleted."""
    me = client.current_user.me().user_name
    assert {(a.principal, a.permission) for a in client.secrets.list_acls(scope)} == {(me, AclPermission.MANAGE)}
    client.secrets.put_acl(scope, "users", AclPermission.READ)
    assert client.secrets.get_acl(scope, "users").permission == AclPermission.READ
    client.secrets.delete_acl(scope, "users")
    with pytest.raises(ResourceDoesNotExist):
        client.secrets.get_acl(scope, "users")


READER = notebook(
    'value = dbutils.secrets.get(scope=dbutils.widgets.get("scope"), key="token")\n'
    'print(f"token={value}")\n'
    'print("scopes", [s.name for s in dbutils.secrets.listScopes() if s.name == dbutils.widgets.get("scope")])\n'
    'print("keys", [m.key for m in dbutils.secrets.list(dbutils.widgets.get("scope"))])\n'
    'print("length", len(value), "bytes", dbutils.secrets.getBytes(dbutils.widgets.get("scope"), "token"))',
    'raise RuntimeError("could not sign in with " + value)',
)
# The same as a Python file task, whose printed output runs/get-output returns as `logs`.
READER_FILE = (
    "from databricks.sdk.runtime import dbutils\n"
    "import sys\n"
    'value = dbutils.secrets.get(sys.argv[1], "token")\n'
    'print(f"token={value}")\n'
    'print("length", len(value))\n'
)


def run_reader(client: WorkspaceClient, target: Target, scope: str) -> tuple[jobs.Run, jobs.RunOutput]:
    client.secrets.put_secret(scope, "token", string_value=VALUE)
    path = upload(client, f"{folder(client)}/reader", READER)
    task = notebook_task("read", path, params={"scope": scope}, **target.compute())
    run = wait(client, client.jobs.submit(run_name=f"{target.session}-secrets", tasks=[task]).run_id, timeout=600)
    return run, client.jobs.get_run_output(run.tasks[0].run_id)


def test_notebook_reads_a_secret_and_its_error_is_redacted(client: WorkspaceClient, target: Target, scope: str) -> None:
    """dbutils.secrets.get returns the real value, and the error and trace runs/get-output shows of the notebook's
    failure have [REDACTED] in its place."""
    run, output = run_reader(client, target, scope)
    assert run.state.result_state == jobs.RunResultState.FAILED
    assert output.error == "RuntimeError: could not sign in with [REDACTED]"
    assert VALUE not in (output.error_trace or "") and "[REDACTED]" in (output.error_trace or "")


def test_notebook_output_on_disk_is_redacted(
    client: WorkspaceClient, target: Target, scope: str, local_workspace: LocalWorkspaceServer
) -> None:
    """What the notebook printed (the task's stdout.txt, the cell output Databricks redacts) shows [REDACTED]; the
    value itself was whole (its length), and listScopes, list and getBytes work."""
    run, _ = run_reader(client, target, scope)
    task_folder = local_workspace.workspace.runs_root / str(run.run_id) / str(run.tasks[0].run_id)
    printed = (task_folder / "stdout.txt").read_text() + (task_folder / "stderr.txt").read_text()
    assert VALUE not in printed
    assert "token=[REDACTED]" in printed
    assert f"scopes ['{scope}']" in printed and "keys ['token']" in printed
    assert f"length {len(VALUE)} bytes b'[REDACTED]'" in printed


def test_python_file_logs_are_redacted(client: WorkspaceClient, target: Target, scope: str) -> None:
    """A Python file task's printed output is runs/get-output `logs`; the secret it read shows as [REDACTED]."""
    client.secrets.put_secret(scope, "token", string_value=VALUE)
    path = upload(client, f"{folder(client)}/reader.py", READER_FILE)
    task = jobs.SubmitTask(
        task_key="read", spark_python_task=jobs.SparkPythonTask(python_file=path, parameters=[scope]),
        environment_key=None if target.cluster_id else "default", **target.compute(),
    )  # fmt: skip
    serverless = [jobs.JobEnvironment("default", Environment(environment_version="2"))]
    environments = None if target.cluster_id else serverless
    run_id = client.jobs.submit(run_name=f"{target.session}-secrets", tasks=[task], environments=environments).run_id
    run = wait(client, run_id, timeout=600)
    assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state
    logs = client.jobs.get_run_output(run.tasks[0].run_id).logs or ""
    assert VALUE not in logs
    assert "token=[REDACTED]" in logs and f"length {len(VALUE)}" in logs
