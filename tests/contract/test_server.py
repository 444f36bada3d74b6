"""The HTTP layer: authentication, errors for unknown endpoints and bad bodies, discovery, fault rules."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from contract_target import Target
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound, PermissionDenied
from databricks.sdk.service import jobs

from dbcicd_localworkspace import FaultRule, LocalWorkspaceServer, Tenant
from dbcicd_localworkspace.services.compute import ACCOUNT_ID, WORKSPACE_ID


def raw(
    server: LocalWorkspaceServer | Tenant, method: str, path: str, body: bytes | None = None, token: str | None = "ok"
):
    """(status, headers, decoded JSON or bytes) of a request sent without the SDK."""
    req = urllib.request.Request(server.host + path, data=body, method=method)
    if token == "ok":
        req.add_header("Authorization", f"Bearer {server.token}")
    elif token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            data = resp.read()
            status, headers = resp.status, resp.headers
    except urllib.error.HTTPError as err:
        data, status, headers = err.read(), err.code, err.headers
    try:
        return status, headers, json.loads(data)
    except ValueError:
        return status, headers, data


def test_identity_through_the_sdk(client: WorkspaceClient) -> None:
    """SCIM Me answers with a userName, as per-user Git folders need."""
    me = client.current_user.me()
    assert me.user_name and me.active


def test_missing_token_is_401(target: Target) -> None:
    """A request without a bearer token is refused with 401 and Databricks' error body."""
    status, _, body = raw(target, "GET", "/api/2.0/clusters/list", token=None)
    assert status == 401
    assert body["error_code"] == "UNAUTHENTICATED"


def test_wrong_token_is_403_invalid_access_token(target: Target) -> None:
    """A token the workspace does not know gets what real workspaces answer (databricks-sdk-go#873): 403,
    `{"error_code": 403, "message": "Invalid access token."}`, the reason also in X-Databricks-Reason-Phrase."""
    status, headers, body = raw(target, "GET", "/api/2.0/clusters/list", token="not-the-token")
    assert (status, body) == (403, {"error_code": 403, "message": "Invalid access token."})
    assert headers["X-Databricks-Reason-Phrase"] == "Invalid access token."


def test_wrong_token_raises_permission_denied(target: Target) -> None:
    """The SDK reads that 403 as PermissionDenied, with the workspace's message."""
    bad = WorkspaceClient(host=target.host, token="wrong", auth_type="pat")
    with pytest.raises(PermissionDenied, match="Invalid access token"):
        bad.clusters.get("local")


def test_discovery_needs_no_token(target: Target) -> None:
    """The SDK probes /.well-known/databricks-config before it authenticates; it names the workspace and account."""
    status, _, body = raw(target, "GET", "/.well-known/databricks-config", token=None)
    assert status == 200
    assert body == {
        "oidc_endpoint": f"{target.host}/oidc",
        "account_id": ACCOUNT_ID,
        "workspace_id": str(WORKSPACE_ID),
    }


def test_one_workspace_id_everywhere(target: Target, client: WorkspaceClient) -> None:
    """Host metadata, SCIM Me's X-Databricks-Org-Id and the `?o=` of run pages agree, as on a real workspace."""
    _, headers, _ = raw(target, "GET", "/api/2.0/preview/scim/v2/Me", token=target.token)
    assert headers["X-Databricks-Org-Id"] == str(WORKSPACE_ID)
    assert client.get_workspace_id() == WORKSPACE_ID  # from host metadata
    # What get_workspace_id() asks when the id is not known otherwise (databricks-sdk 0.162 __init__.py):
    me = client.api_client.do("GET", "/api/2.0/preview/scim/v2/Me", response_headers=["X-Databricks-Org-Id"])
    assert int(me["X-Databricks-Org-Id"]) == WORKSPACE_ID
    run = client.jobs.submit(
        run_name="workspace id", tasks=[jobs.SubmitTask(task_key="t", notebook_task=jobs.NotebookTask("/Shared/x"))]
    ).run_id
    assert f"/?o={WORKSPACE_ID}#job/" in (client.jobs.get_run(run).run_page_url or "")


@pytest.mark.unrouted_ok
def test_unknown_endpoint_is_endpoint_not_found(target: Target) -> None:
    status, _, body = raw(target, "GET", "/api/2.0/no/such/thing")
    assert status == 404 and body["error_code"] == "ENDPOINT_NOT_FOUND"


@pytest.mark.unrouted_ok
def test_unknown_endpoint_raises_not_found(client: WorkspaceClient) -> None:
    with pytest.raises(NotFound):
        client.api_client.do("GET", "/api/2.0/no/such/thing")


@pytest.mark.unrouted_ok
def test_unrouted_requests_are_recorded(
    local_workspace: LocalWorkspaceServer, isolated_workspace: Tenant, isolated_client: WorkspaceClient
) -> None:
    """A request no route answers keeps Databricks' answer and is recorded (method, path, time, tenant), readable
    in-process and at /__dbcicd/unrouted; a routed 404 (an id that does not exist) is not."""
    started = time.time()
    with pytest.raises(NotFound):
        isolated_client.api_client.do("POST", "/api/2.0/instance-pools/create", body={"instance_pool_name": "x"})
    assert raw(isolated_workspace, "DELETE", "/api/2.0/clusters/list")[0] == 405
    with pytest.raises(NotFound):
        isolated_client.repos.get(1)
    recorded = local_workspace.unrouted_requests(isolated_workspace)
    assert [(r.method, r.path, r.tenant) for r in recorded] == [
        ("POST", "/api/2.0/instance-pools/create", isolated_workspace.name),
        ("DELETE", "/api/2.0/clusters/list", isolated_workspace.name),
    ]
    assert started <= recorded[0].time <= time.time()
    assert local_workspace.unrouted_requests(local_workspace.default_tenant) == []
    status, _, body = raw(isolated_workspace, "GET", "/__dbcicd/unrouted")
    assert status == 200
    assert [r["path"] for r in body["requests"]] == ["/api/2.0/instance-pools/create", "/api/2.0/clusters/list"]
    assert len(raw(isolated_workspace, "DELETE", "/__dbcicd/unrouted")[2]["requests"]) == 2
    assert local_workspace.unrouted_requests(isolated_workspace) == []


def test_malformed_json_is_a_400(target: Target) -> None:
    status, _, body = raw(target, "POST", "/api/2.0/workspace/mkdirs", body=b"{not json")
    assert status == 400 and "not valid JSON" in body["message"]


@pytest.mark.local_only("the local workspace's one cluster, always running")
def test_clusters(client: WorkspaceClient) -> None:
    """One running cluster, id `local`; an unknown id gets the error Databricks gives."""
    clusters = list(client.clusters.list())
    assert [c.cluster_id for c in clusters] == ["local"]
    assert client.clusters.get("local").state.value == "RUNNING"
    with pytest.raises(Exception, match="Cluster nope does not exist"):
        client.clusters.get("nope")


def test_injected_429_is_retried_by_the_sdk(isolated_workspace: Tenant, isolated_client: WorkspaceClient) -> None:
    """Two 429s with Retry-After, then success: the SDK retries and the tenant counted three calls."""
    isolated_workspace.faults.replace(
        [FaultRule.parse({"route": "GET /api/2.1/clusters/get", "status": 429, "times": 2})]
    )
    assert isolated_client.clusters.get("local").cluster_id == "local"
    assert isolated_workspace.calls["GET /api/2.1/clusters/get"] == 3


def test_faults_via_admin_endpoint(faults: LocalWorkspaceServer) -> None:
    """Rules can be set at runtime outside /api; a bad rule is a 400 naming the field."""
    rule = {"route": "GET /api/2.0/clusters/list", "status": 503, "times": 1}
    status, _, body = raw(faults, "POST", "/__dbcicd/faults", json.dumps(rule).encode())
    assert status == 200 and body["rules"][0]["status"] == 503
    assert raw(faults, "GET", "/api/2.0/clusters/list")[0] == 503
    assert raw(faults, "GET", "/api/2.0/clusters/list")[0] == 200
    status, _, body = raw(faults, "POST", "/__dbcicd/faults", json.dumps({"route": "GET /x", "status": 418}).encode())
    assert status == 400 and "status" in body["message"]
    assert raw(faults, "DELETE", "/__dbcicd/faults")[0] == 200


def test_probability_faults_replay_with_a_seed() -> None:
    """Two rules with the same seed fire on the same calls."""
    spec = {"route": "GET /a", "status": 503, "probability": 0.5, "seed": 7}
    first, second = FaultRule.parse(spec), FaultRule.parse(spec)
    assert [first._fires() for _ in range(50)] == [second._fires() for _ in range(50)]
    assert 5 < first.fired < 45


def test_oversized_body_is_refused_and_the_server_lives_on(local_workspace: LocalWorkspaceServer) -> None:
    """A body over the limit gets 413 without being read; the next request is served normally."""
    import http.client

    from dbcicd_localworkspace.http.server import MAX_BODY_BYTES

    conn = http.client.HTTPConnection("127.0.0.1", local_workspace.port, timeout=10)
    conn.putrequest("POST", "/api/2.0/workspace/import")
    conn.putheader("Authorization", f"Bearer {local_workspace.token}")
    conn.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    conn.close()
    assert raw(local_workspace, "GET", "/api/2.0/clusters/list")[0] == 200


@pytest.mark.unrouted_ok
def test_wrong_method_and_wrong_types_name_the_problem(target: Target) -> None:
    """A known path with the wrong method is a 405; a wrongly typed field is a 400 naming the field."""
    assert raw(target, "DELETE", "/api/2.0/clusters/list")[0] == 405
    status, _, body = raw(target, "POST", "/api/2.2/jobs/runs/submit", json.dumps({"tasks": "x"}).encode())
    assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE" and "tasks" in body["message"]
