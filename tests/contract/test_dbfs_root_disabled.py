"""A workspace whose admin turned on `disable_legacy_dbfs` (Settings API): tasks and the DBFS API are refused the DBFS
root, as Databricks' "Disable access to DBFS root and mounts" describes, while /Workspace and /Volumes stay open."""

from __future__ import annotations

import json

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import PermissionDenied
from databricks.sdk.service.settings import BooleanMessage, DisableLegacyDbfs
from jobs_helpers import by_key, folder, notebook, notebook_task, submit_and_wait, upload

# Tries the DBFS root every way a notebook can, then the places that stay open; exits with what it met.
PROBE = notebook(
    "import json, os\n"
    "seen = {}\n"
    "try:\n"
    "    open('/dbfs/tmp/report.xml', 'w')\n"
    "except OSError as err:\n"
    "    seen['open'] = f'{type(err).__name__}: {err}'\n"
    "seen['exists'] = os.path.exists('/dbfs/tmp')\n"
    "try:\n"
    "    dbutils.fs.ls('dbfs:/tmp')\n"
    "except Exception as err:\n"
    "    seen['fs'] = f'{type(err).__name__}: {err}'\n"
    "out = dbutils.widgets.get('out')\n"
    "os.makedirs(out, exist_ok=True)\n"
    "open(f'{out}/report.xml', 'w').write('<testsuite/>')\n"
    "dbutils.fs.mkdirs('/Volumes/main/default/ci/probe')\n"
    "seen['volume'] = [f.name for f in dbutils.fs.ls('/Volumes/main/default/ci')]\n"
    "dbutils.notebook.exit(json.dumps(seen))"
)
FUSE_REFUSAL = "OSError: [Errno 95] Operation not supported: '/dbfs/tmp/report.xml'"
FS_REFUSAL = (
    "ExecutionError: [DBFS_DISABLED] Public DBFS root is disabled. Access is denied on path: /tmp SQLSTATE: 56038"
)


def disable_dbfs_root(client: WorkspaceClient, disabled: bool = True) -> DisableLegacyDbfs:
    """What an admin runs (or Terraform's databricks_disable_legacy_dbfs_setting does)."""
    return client.settings.disable_legacy_dbfs.update(
        allow_missing=True,
        setting=DisableLegacyDbfs(disable_legacy_dbfs=BooleanMessage(value=disabled)),
        field_mask="disable_legacy_dbfs.value",
    )


def test_the_setting_is_read_set_and_reset_through_the_settings_api(isolated_client: WorkspaceClient) -> None:
    settings = isolated_client.settings.disable_legacy_dbfs
    assert settings.get().disable_legacy_dbfs.value is False
    updated = disable_dbfs_root(isolated_client)
    assert updated.disable_legacy_dbfs.value is True and updated.etag
    assert settings.get().disable_legacy_dbfs.value is True
    assert settings.delete().etag != updated.etag
    assert settings.get().disable_legacy_dbfs.value is False


def test_a_serverless_task_is_refused_the_dbfs_root_but_not_workspace_files_or_volumes(
    isolated_client: WorkspaceClient,
) -> None:
    client = isolated_client
    disable_dbfs_root(client)
    base = folder(client)
    path = upload(client, f"{base}/probe", PROBE)
    out = f"/Workspace{base}/results"
    run = submit_and_wait(client, notebook_task("probe", path, params={"out": out}))  # no cluster: serverless

    seen = json.loads(client.jobs.get_run_output(by_key(run)["probe"].run_id).notebook_output.result)
    assert seen == {"open": FUSE_REFUSAL, "exists": False, "fs": FS_REFUSAL, "volume": ["probe/"]}
    assert client.workspace.download(f"{base}/results/report.xml").read() == b"<testsuite/>"


def test_a_task_that_does_not_catch_the_refusal_fails_with_its_words(isolated_client: WorkspaceClient) -> None:
    client = isolated_client
    disable_dbfs_root(client)
    path = upload(client, f"{folder(client)}/writer", notebook("dbutils.fs.put('dbfs:/tmp/x.xml', '<testsuite/>')"))
    run = submit_and_wait(client, notebook_task("writer", path))
    output = client.jobs.get_run_output(by_key(run)["writer"].run_id)
    assert output.error == FS_REFUSAL.replace("/tmp", "/tmp/x.xml")


@pytest.mark.parametrize(
    "call",
    [
        lambda c: list(c.dbfs.list("/tmp")),
        lambda c: c.dbfs.get_status("dbfs:/tmp"),
        lambda c: c.dbfs.read("/tmp/report.xml"),
    ],
    ids=["list", "get-status", "read"],
)
def test_the_dbfs_api_is_refused_the_root(isolated_client: WorkspaceClient, call) -> None:
    disable_dbfs_root(isolated_client)
    with pytest.raises(PermissionDenied, match=r"^Public DBFS root is disabled\. Access is denied on path: /tmp"):
        call(isolated_client)


def test_without_the_setting_the_dbfs_root_is_open(isolated_client: WorkspaceClient) -> None:
    client = isolated_client
    disable_dbfs_root(client, disabled=False)
    path = upload(client, f"{folder(client)}/writer", notebook("dbutils.fs.put('dbfs:/tmp/x.xml', '<testsuite/>')"))
    run = submit_and_wait(client, notebook_task("writer", path))
    assert by_key(run)["writer"].state.result_state.value == "SUCCESS"
    assert client.dbfs.get_status("/tmp/x.xml").file_size == len("<testsuite/>")
