"""A job's permissions through the Permissions API for jobs, which `databricks bundle deploy` calls for a job with a
`permissions:` block (databricks/cli bundle/direct/dresources/permissions.go): get, set (PUT, replacing) and update
(PATCH, merging), with the real databricks-sdk over HTTP (JobsAPI.get_permissions, set_permissions,
update_permissions). Inherited permissions (a real workspace's admins) are left out of what is compared."""

from __future__ import annotations

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError
from databricks.sdk.service import jobs
from jobs_helpers import ECHO, folder, upload

VIEW, MANAGE_RUN, OWNER = (
    jobs.JobPermissionLevel.CAN_VIEW,
    jobs.JobPermissionLevel.CAN_MANAGE_RUN,
    jobs.JobPermissionLevel.IS_OWNER,
)


def _direct(answer: jobs.JobPermissions) -> dict[str, jobs.JobPermissionLevel]:
    """Principal -> level of the permissions set on the job itself."""
    found = {}
    for entry in answer.access_control_list or []:
        for permission in entry.all_permissions or []:
            if not permission.inherited and permission.permission_level is not None:
                name = entry.user_name or entry.group_name or entry.service_principal_name or ""
                found[name] = permission.permission_level
    return found


def _job(client: WorkspaceClient) -> str:
    echo = upload(client, f"{folder(client)}/echo", ECHO)
    task = jobs.Task(task_key="a", notebook_task=jobs.NotebookTask(notebook_path=echo), existing_cluster_id="local")
    return str(client.jobs.create(name="permissions", tasks=[task]).job_id)


def test_the_creator_owns_a_new_job_and_set_replaces_what_update_merges(client: WorkspaceClient) -> None:
    me = client.current_user.me().user_name or ""
    job_id = _job(client)
    first = client.jobs.get_permissions(job_id)
    assert first.object_id == f"/jobs/{job_id}", "the id databricks/cli parses (parsePermissionsID)"
    assert _direct(first) == {me: OWNER}

    owner = jobs.JobAccessControlRequest(user_name=me, permission_level=OWNER)
    viewers = jobs.JobAccessControlRequest(group_name="users", permission_level=VIEW)
    assert _direct(client.jobs.set_permissions(job_id, access_control_list=[owner, viewers])) == {
        me: OWNER,
        "users": VIEW,
    }
    runners = jobs.JobAccessControlRequest(group_name="users", permission_level=MANAGE_RUN)
    assert _direct(client.jobs.update_permissions(job_id, access_control_list=[runners])) == {
        me: OWNER,
        "users": MANAGE_RUN,
    }
    assert _direct(client.jobs.set_permissions(job_id, access_control_list=[owner])) == {me: OWNER}
    assert _direct(client.jobs.get_permissions(job_id)) == {me: OWNER}


def test_a_refused_change_changes_nothing(client: WorkspaceClient) -> None:
    me = client.current_user.me().user_name or ""
    job_id = _job(client)
    with pytest.raises(DatabricksError):
        client.api_client.do(
            "PUT",
            f"/api/2.0/permissions/jobs/{job_id}",
            body={"access_control_list": [{"group_name": "users", "permission_level": "CAN_FLY"}]},
        )
    with pytest.raises(DatabricksError):
        client.jobs.get_permissions(str(10**15))
    assert _direct(client.jobs.get_permissions(job_id)) == {me: OWNER}
