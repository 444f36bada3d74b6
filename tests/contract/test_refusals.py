"""Refusals as real workspaces word them, through databricks-sdk: a token of another workspace, and Git folders of
a private remote cloned or pulled without a working Git credential; and the Git credentials API that fixes the
latter."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound, PermissionDenied

from dbcicd_localworkspace import LocalWorkspaceServer, Tenant
from dbcicd_localworkspace.services.compute import WORKSPACE_ID
from git_remote import GitRemote

INVALID_GIT_CREDENTIALS = r"^Invalid Git provider credentials\. Go to User Settings > Git Integration to ensure that:"
AZURE_AD_MISSING = r"^Azure Active Directory credentials missing\. Ensure you are either logged in"


@pytest.fixture
def other_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWorkspaceServer]:
    """A second workspace: a server of its own (its own host), as each Databricks workspace has."""
    with LocalWorkspaceServer(root=tmp_path_factory.mktemp("other-workspace")) as server:
        yield server


def test_a_token_of_another_workspace_is_403_invalid_access_to_org(
    local_workspace: LocalWorkspaceServer, other_workspace: LocalWorkspaceServer
) -> None:
    """A token valid in one workspace, sent to another, gets what real workspaces answer (databricks-sdk-go#928):
    403 `{"error_code": 403, "message": "Invalid access to Org: <id>"}`, the reason also in X-Databricks-Reason-Phrase;
    databricks-sdk raises PermissionDenied. A token no workspace issued is still "Invalid access token."."""
    url = f"{other_workspace.host}/api/2.0/clusters/list"
    answer = requests.get(url, headers={"Authorization": f"Bearer {local_workspace.token}"}, timeout=10)
    reason = f"Invalid access to Org: {WORKSPACE_ID}"
    assert (answer.status_code, answer.json()) == (403, {"error_code": 403, "message": reason})
    assert answer.headers["X-Databricks-Reason-Phrase"] == reason

    wrong = WorkspaceClient(host=other_workspace.host, token=local_workspace.token, auth_type="pat")
    with pytest.raises(PermissionDenied, match=r"^Invalid access to Org: "):
        wrong.current_user.me()
    unknown = requests.get(url, headers={"Authorization": "Bearer dapi-nobody-issued-this"}, timeout=10)
    assert unknown.json()["message"] == "Invalid access token."


def test_a_closed_workspace_token_is_unknown_not_another_workspace(
    local_workspace: LocalWorkspaceServer, other_workspace: LocalWorkspaceServer
) -> None:
    """A tenant's token stops being anybody's when the tenant closes: elsewhere it is then merely unknown."""
    tenant = local_workspace.new_tenant()
    local_workspace.close_tenant(tenant)
    wrong = WorkspaceClient(host=other_workspace.host, token=tenant.token, auth_type="pat")
    with pytest.raises(PermissionDenied, match=r"^Invalid access token"):
        wrong.clusters.get("local")


def test_git_credentials_api(isolated_client: WorkspaceClient) -> None:
    """create, get, list, update and delete as databricks-sdk 0.162 calls them; the token is never answered back, the
    provider comes back in Databricks' casing, and one credential per provider is the default."""
    api = isolated_client.git_credentials
    first = api.create(git_provider="github", git_username="ci-bot", personal_access_token="ghp_secret1")
    assert (first.git_provider, first.git_username, first.is_default_for_provider) == ("gitHub", "ci-bot", True)
    second = api.create(git_provider="gitHub", name="second", personal_access_token="ghp_secret2")
    assert second.credential_id != first.credential_id and not second.is_default_for_provider

    api.update(second.credential_id, git_provider="gitHub", is_default_for_provider=True, git_email="bot@x.org")
    by_id = {c.credential_id: c for c in api.list()}
    assert not by_id[first.credential_id].is_default_for_provider
    got = api.get(second.credential_id)
    assert (got.is_default_for_provider, got.git_email, got.name) == (True, "bot@x.org", "second")
    raw = isolated_client.api_client.do("GET", "/api/2.0/git-credentials")
    assert "ghp_secret" not in str(raw)

    api.delete(first.credential_id)
    assert [c.credential_id for c in api.list()] == [second.credential_id]
    with pytest.raises(NotFound):
        api.get(first.credential_id)


def _private_remote(
    tenant: Tenant, make_remote: Callable[[dict[str, str]], GitRemote], accepted_token: str | None = None
) -> GitRemote:
    remote = make_remote({"a.py": "print(1)\n"})
    tenant.workspace.git_credentials.mark_private(remote.url, accepted_token)
    return remote


def test_cloning_a_private_remote_without_a_git_credential_is_refused(
    isolated_workspace: Tenant, isolated_client: WorkspaceClient, make_remote: Callable[[dict[str, str]], GitRemote]
) -> None:
    """Without a Git credential for the folder's provider, repos/create answers 403 PERMISSION_DENIED as a real
    workspace does (cli#1551; for Azure DevOps databricks-cli#404), and no folder is left; with one it clones."""
    remote = _private_remote(isolated_workspace, make_remote)
    isolated_client.workspace.mkdirs("/Repos/ci")
    with pytest.raises(PermissionDenied, match=INVALID_GIT_CREDENTIALS) as refused:
        isolated_client.repos.create(url=remote.url, provider="gitHub", path="/Repos/ci/private")
    assert refused.value.error_code == "PERMISSION_DENIED"
    with pytest.raises(PermissionDenied, match=AZURE_AD_MISSING):
        isolated_client.repos.create(url=remote.url, provider="azureDevOpsServices", path="/Repos/ci/private")
    assert list(isolated_client.workspace.list("/Repos/ci")) == []

    isolated_client.git_credentials.create(git_provider="azureDevOpsServices", personal_access_token="ado-pat")
    with pytest.raises(PermissionDenied, match=INVALID_GIT_CREDENTIALS):  # a credential of another provider
        isolated_client.repos.create(url=remote.url, provider="gitHub", path="/Repos/ci/private")
    folder = isolated_client.repos.create(url=remote.url, provider="azureDevOpsServices", path="/Repos/ci/private")
    assert folder.head_commit_id


def test_a_wrong_token_and_a_removed_credential_refuse_clone_and_pull(
    isolated_workspace: Tenant, isolated_client: WorkspaceClient, make_remote: Callable[[dict[str, str]], GitRemote]
) -> None:
    """A remote that accepts one token refuses a credential holding another (an expired or revoked one); a Git folder
    made while the credential worked cannot pull once it is gone; public remotes need none."""
    remote = _private_remote(isolated_workspace, make_remote, accepted_token="the-right-pat")
    api = isolated_client.git_credentials
    isolated_client.workspace.mkdirs("/Repos/ci")
    credential = api.create(git_provider="gitLab", personal_access_token="an-expired-pat")
    with pytest.raises(PermissionDenied, match=INVALID_GIT_CREDENTIALS):
        isolated_client.repos.create(url=remote.url, provider="gitLab", path="/Repos/ci/private")

    api.update(credential.credential_id, git_provider="gitLab", personal_access_token="the-right-pat")
    folder = isolated_client.repos.create(url=remote.url, provider="gitLab", path="/Repos/ci/private")
    assert folder.id is not None
    isolated_client.repos.update(folder.id, branch="main")

    api.delete(credential.credential_id)
    with pytest.raises(PermissionDenied, match=INVALID_GIT_CREDENTIALS):
        isolated_client.repos.update(folder.id, branch="main")
    public = make_remote({"b.py": "print(2)\n"})
    isolated_client.repos.create(url=public.url, provider="gitLab", path="/Repos/ci/public")


def test_a_remote_is_marked_private_over_http(
    isolated_workspace: Tenant, isolated_client: WorkspaceClient, make_remote: Callable[[dict[str, str]], GitRemote]
) -> None:
    """`POST /__dbcicd/private-remotes` marks a remote of the caller's tenant private, for `dbcicd local serve`."""
    remote = make_remote({"a.py": "print(1)\n"})
    answer = requests.post(
        f"{isolated_workspace.host}/__dbcicd/private-remotes",
        json={"url": remote.url},
        headers={"Authorization": f"Bearer {isolated_workspace.token}"},
        timeout=10,
    )
    assert answer.status_code == 200
    isolated_client.workspace.mkdirs("/Repos/ci")
    with pytest.raises(PermissionDenied, match=INVALID_GIT_CREDENTIALS):
        isolated_client.repos.create(url=remote.url, provider="gitHub", path="/Repos/ci/private")
