"""Tenants: a server's isolated workspaces, each with its own token, state, OAuth client, fault rules and counts."""

from __future__ import annotations

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound, PermissionDenied
from databricks.sdk.service import jobs

from dbcicd_localworkspace import FaultRule, LocalWorkspaceServer, Tenant


def client_of(tenant: Tenant) -> WorkspaceClient:
    return WorkspaceClient(host=tenant.host, token=tenant.token, auth_type="pat")


def test_tenants_do_not_see_each_other(local_workspace: LocalWorkspaceServer, client: WorkspaceClient) -> None:
    """Folders, jobs and DBFS of one tenant are invisible to another and to the default tenant, which keeps its own."""
    first, second = local_workspace.new_tenant(), local_workspace.new_tenant()
    try:
        mine, theirs = client_of(first), client_of(second)
        home = f"/Users/{mine.current_user.me().user_name}/only-in-first"
        mine.workspace.mkdirs(home)
        job = mine.jobs.create(name="only-in-first", tasks=[_task()])
        (first.workspace.dbfs_root / "only-in-first.txt").write_text("x")

        assert [j.job_id for j in mine.jobs.list(name="only-in-first")] == [job.job_id]
        for other in (theirs, client):
            assert list(other.jobs.list(name="only-in-first")) == []
            with pytest.raises(NotFound):
                other.workspace.get_status(home)
            with pytest.raises(NotFound):
                other.jobs.get(job.job_id)
            with pytest.raises(NotFound):
                other.dbfs.get_status("/only-in-first.txt")
        assert first.root.parent == local_workspace.root / "tenants" and first.root != second.root
    finally:
        local_workspace.close_tenant(first)
        local_workspace.close_tenant(second)


def test_a_closed_tenant_is_gone(local_workspace: LocalWorkspaceServer) -> None:
    """Closing a tenant refuses its token as any unknown token (403 Invalid access token.), and removes its folder."""
    tenant = local_workspace.new_tenant()
    assert client_of(tenant).clusters.get("local").cluster_id == "local"
    local_workspace.close_tenant(tenant)
    with pytest.raises(PermissionDenied):
        client_of(tenant).clusters.get("local")
    assert not tenant.root.exists()
    with pytest.raises(ValueError, match="default tenant"):
        local_workspace.close_tenant(local_workspace.default_tenant)


def test_faults_and_calls_are_per_tenant(local_workspace: LocalWorkspaceServer, isolated_workspace: Tenant) -> None:
    """A tenant's fault rules fire only on its calls, and each tenant counts its own; the admin endpoints act on the
    tenant of the token they are called with."""
    route = "GET /api/2.1/clusters/get"
    isolated_workspace.faults.replace([FaultRule.parse({"route": route, "status": 503})])
    default_before = local_workspace.calls[route]
    isolated = f"{isolated_workspace.host}/__dbcicd"
    auth = {"Authorization": f"Bearer {isolated_workspace.token}"}

    assert requests.get(f"{isolated}/faults", headers=auth, timeout=10).json()["rules"][0]["route"] == route
    assert local_workspace.faults.describe() == []
    assert client_of(local_workspace.default_tenant).clusters.get("local").cluster_id == "local"
    reply = requests.get(f"{isolated_workspace.host}/api/2.1/clusters/get", headers=auth, timeout=10)
    assert reply.status_code == 503
    assert local_workspace.calls[route] == default_before + 1
    assert requests.delete(f"{isolated}/calls", headers=auth, timeout=10).json() == {"calls": {route: 1}}
    assert isolated_workspace.calls == {}


def test_oauth_credentials_reach_their_tenant(
    local_workspace: LocalWorkspaceServer, isolated_workspace: Tenant
) -> None:
    """A tenant's client credentials mint that tenant's token; the token request is counted against the tenant."""
    oauth = isolated_workspace.oauth
    signed_in = WorkspaceClient(
        host=isolated_workspace.host,
        client_id=oauth.client_id,
        client_secret=oauth.client_secret,
        auth_type="oauth-m2m",
    )
    created = signed_in.jobs.create(name="made-with-oauth", tasks=[_task()])
    assert [j.job_id for j in client_of(isolated_workspace).jobs.list(name="made-with-oauth")] == [created.job_id]
    assert isolated_workspace.calls["POST /oidc/v1/token"] == 1
    wrong = requests.post(
        f"{isolated_workspace.host}/oidc/v1/token",
        {"grant_type": "client_credentials"},
        auth=(oauth.client_id, local_workspace.oauth.client_secret),
        timeout=10,
    )
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")


def _task() -> jobs.Task:
    return jobs.Task(task_key="t", existing_cluster_id="local", notebook_task=jobs.NotebookTask(notebook_path="/x"))
