"""Repos API 2.0 (Git folders) through the real databricks-sdk client: real clones, pulls, tags and sparse checkout."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import BadRequest, DatabricksError, ResourceAlreadyExists, ResourceDoesNotExist
from databricks.sdk.service.workspace import ObjectType, SparseCheckout, SparseCheckoutUpdate

from dbcicd_localworkspace import FaultRule, LocalWorkspaceServer
from dbcicd_localworkspace.http.errors import ApiError
from dbcicd_localworkspace.services import repos as repos_module

NOTEBOOK = "# Databricks notebook source\nprint('hello')\n"
FILES = {"nb/hello.py": NOTEBOOK, "src/lib/util.py": "X = 1\n", "docs/readme.md": "# demo\n", "top.txt": "top\n"}


@pytest.fixture
def folder(client: WorkspaceClient) -> str:
    """A fresh `/Repos/{folder}` for one test, so tests sharing the server never collide."""
    path = f"/Repos/t-{uuid.uuid4().hex[:10]}"
    client.workspace.mkdirs(path)
    return path


@pytest.fixture
def remote(make_remote: Callable) -> object:
    return make_remote(FILES)


def paths_under(client: WorkspaceClient, path: str) -> set[str]:
    return {o.path[len(path) + 1 :] for o in client.workspace.list(path, recursive=True)}


def test_create_clones_and_reports_the_head(client: WorkspaceClient, folder: str, remote) -> None:
    """Creating a Git folder clones the remote and answers id, path, url, canonical provider, branch and head."""
    head = remote.commit({"more.txt": "more\n"}, "second")
    repo = client.repos.create(url=remote.url, provider="gitHub", path=f"{folder}/demo")
    assert repo.id > 10**15 and repo.path == f"{folder}/demo" and repo.url == remote.url
    assert (repo.provider, repo.branch, repo.head_commit_id) == ("gitHub", "main", head)
    got = client.repos.get(repo.id)
    assert (got.id, got.path, got.branch, got.head_commit_id) == (repo.id, repo.path, "main", repo.head_commit_id)


def test_default_path_is_under_the_users_repos_folder(client: WorkspaceClient, make_remote: Callable) -> None:
    """Without a path the Git folder goes to /Repos/{userName}/{name from the URL}."""
    remote = make_remote(FILES)
    repo = client.repos.create(url=remote.url, provider="gitHub")
    try:
        assert repo.path == f"/Repos/{client.current_user.me().user_name}/remote"
    finally:
        client.repos.delete(repo.id)


def test_provider_is_case_insensitive_and_answered_canonically(client: WorkspaceClient, folder: str, remote) -> None:
    """Any casing of a known provider is accepted; the answer uses Databricks' own casing."""
    assert client.repos.create(url=remote.url, provider="GITHUB", path=f"{folder}/a").provider == "gitHub"
    repo = client.repos.create(url=remote.url, provider="azuredevopsservices", path=f"{folder}/b")
    assert repo.provider == "azureDevOpsServices"


def test_unknown_provider_is_refused(client: WorkspaceClient, folder: str, remote) -> None:
    """An unknown provider is a 400 that lists the supported ones."""
    with pytest.raises(BadRequest, match="gitLabEnterpriseEdition"):
        client.repos.create(url=remote.url, provider="svn", path=f"{folder}/demo")


def test_missing_provider_is_guessed_from_well_known_hosts(client: WorkspaceClient, folder: str, remote) -> None:
    """A github.com URL needs no provider (the request gets as far as the path check); a local one does."""
    taken = client.repos.create(url=remote.url, provider="gitHub", path=f"{folder}/taken")
    with pytest.raises(ResourceAlreadyExists):
        client.repos.create(url="https://github.com/org/demo.git", provider=None, path=taken.path)
    with pytest.raises(BadRequest, match="provider"):
        client.repos.create(url=remote.url, provider=None, path=f"{folder}/other")


def test_repos_paths_need_exactly_three_parts(client: WorkspaceClient, folder: str, remote) -> None:
    """Under /Repos a Git folder must be /Repos/{folder}/{name}: deeper or shallower paths are 400."""
    for path in (f"{folder}/a/b", folder):
        with pytest.raises(BadRequest, match=r"/Repos/\{folder\}/\{repo-name\}"):
            client.repos.create(url=remote.url, provider="gitHub", path=path)


def test_parent_folder_must_exist(client: WorkspaceClient, remote) -> None:
    """A /Repos/{folder} other than the user's own needs workspace/mkdirs first; the 404 names the parent."""
    parent = f"/Repos/missing-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ResourceDoesNotExist, match=parent):
        client.repos.create(url=remote.url, provider="gitHub", path=f"{parent}/demo")
    client.workspace.mkdirs(parent)
    assert client.repos.create(url=remote.url, provider="gitHub", path=f"{parent}/demo").path == f"{parent}/demo"


def test_taken_path_is_resource_already_exists(client: WorkspaceClient, folder: str, remote) -> None:
    """A second Git folder at the same path is refused with RESOURCE_ALREADY_EXISTS."""
    client.repos.create(url=remote.url, provider="gitHub", path=f"{folder}/demo")
    with pytest.raises(ResourceAlreadyExists, match="already exists"):
        client.repos.create(url=remote.url, provider="gitHub", path=f"{folder}/demo")


def test_concurrent_creates_at_one_path_make_one_git_folder(client: WorkspaceClient, folder: str, remote) -> None:
    """Of several simultaneous creates at the same path exactly one wins; the others get ResourceAlreadyExists."""
    barrier, results = threading.Barrier(4), []

    def create() -> None:
        barrier.wait()
        try:
            results.append(client.repos.create(url=remote.url, provider="gitHub", path=f"{folder}/race").id)
        except ResourceAlreadyExists as err:
            results.append(err)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if isinstance(r, int)]
    assert len(winners) == 1 and len(results) == 4
    assert [r.id for r in client.repos.list(path_prefix=f"{folder}/")] == winners


def test_failed_clone_leaves_nothing_behind(
    client: WorkspaceClient, local_workspace: LocalWorkspaceServer, folder: str, tmp_path
) -> None:
    """A clone git cannot make is a 400 carrying git's message, and neither the workspace nor the disk keeps a trace."""
    with pytest.raises(BadRequest, match="Failed to clone repo") as err:
        client.repos.create(url=(tmp_path / "nope.git").as_uri(), provider="gitHub", path=f"{folder}/broken")
    assert "nope.git" in str(err.value)
    with pytest.raises(ResourceDoesNotExist):
        client.workspace.get_status(f"{folder}/broken")
    assert list(client.repos.list(path_prefix=f"{folder}/")) == []
    staging = local_workspace.root / "state" / repos_module.STAGING_FOLDER
    assert not staging.exists() or list(staging.iterdir()) == []


def test_credentials_in_the_url_are_masked(client: WorkspaceClient, folder: str) -> None:
    """A token embedded in a clone URL never comes back in an error message."""
    with pytest.raises(BadRequest) as err:
        client.repos.create(url="https://user:s3cret@127.0.0.1:9/x.git", provider="gitHub", path=f"{folder}/x")
    assert "s3cret" not in str(err.value)


def test_get_unknown_or_malformed_id(client: WorkspaceClient) -> None:
    """An unknown id is 404 'Repo could not be found'; a non-numeric one is 400."""
    with pytest.raises(ResourceDoesNotExist, match="Repo could not be found"):
        client.repos.get(1234567890123456)
    with pytest.raises(BadRequest, match="repo_id"):
        client.api_client.do("GET", "/api/2.0/repos/not-a-number")


def test_list_pages_sorted_by_path_and_filters_by_prefix(
    client: WorkspaceClient, folder: str, remote, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages come sorted by path; the last page has no next_page_token; the SDK follows tokens to the end."""
    monkeypatch.setattr(repos_module, "PAGE_SIZE", 2)
    names = ["e", "a", "d", "b", "c"]
    for name in names:
        client.repos.create(url=remote.url, provider="gitHub", path=f"{folder}/{name}")
    listed = [r.path for r in client.repos.list(path_prefix=folder)]
    assert listed == [f"{folder}/{n}" for n in sorted(names)]
    first = client.api_client.do("GET", "/api/2.0/repos", query={"path_prefix": folder})
    assert len(first["repos"]) == 2 and first["next_page_token"]
    last = client.api_client.do(
        "GET", "/api/2.0/repos", query={"path_prefix": folder, "next_page_token": _token_before_last(client, folder)}
    )
    assert [r["path"] for r in last["repos"]] == [f"{folder}/e"] and "next_page_token" not in last
    assert [r.path for r in client.repos.list(path_prefix=f"/Workspace{folder}/c")] == [f"{folder}/c"]


def _token_before_last(client: WorkspaceClient, folder: str) -> str:
    query = {"path_prefix": folder}
    while True:
        page = client.api_client.do("GET", "/api/2.0/repos", query=query)
        if page["repos"][-1]["path"] == f"{folder}/d":
            return page["next_page_token"]
        query["next_page_token"] = page["next_page_token"]


def test_list_without_prefix_serves_the_repos_folder(isolated_client: WorkspaceClient, remote) -> None:
    """With no prefix the list holds /Repos Git folders; a Git folder elsewhere in the workspace is one with Git CLI
    access, which repos/list leaves out even under its own prefix (databricks-sdk `Repos.list`: "repos with the Git
    CLI enabled are not included in its results"). In a tenant of its own, so the list holds this test's folders."""
    client = isolated_client
    client.workspace.mkdirs("/Repos/team")
    inside = client.repos.create(url=remote.url, provider="gitHub", path="/Repos/team/in")
    home = f"/Users/{client.current_user.me().user_name}"
    outside = client.repos.create(url=remote.url, provider="gitHub", path=f"{home}/out")
    assert [r.id for r in client.repos.list()] == [inside.id]
    assert list(client.repos.list(path_prefix=outside.path)) == []
    assert [r.id for r in client.repos.list(path_prefix="/Repos/team")] == [inside.id]


@pytest.mark.parametrize("place", ["/Users/{me}", "/Shared", "/Workspace/Users/{me}"])
def test_git_folders_outside_repos_are_directories_marked_as_git_folders(
    client: WorkspaceClient, remote, place: str
) -> None:
    """Outside /Repos a new Git folder is a DIRECTORY with `directory_info.is_git_folder: true`, and its object id is
    the repo id that repos/get, update and delete take (databricks/cli 24aafba64c, #6181); plain folders say
    `is_git_folder: false`, standard Git folders (under /Repos) are REPO objects without the field."""
    parent = place.format(me=client.current_user.me().user_name) + f"/g-{uuid.uuid4().hex[:8]}"
    client.workspace.mkdirs(parent)
    made = client.repos.create(url=remote.url, provider="gitHub", path=f"{parent}/demo")
    status = client.workspace.get_status(made.path)
    assert status.object_type == ObjectType.DIRECTORY
    assert status.directory_info is not None and status.directory_info.is_git_folder is True
    assert status.object_id == made.id
    listed = {o.path: o for o in client.workspace.list(parent)}
    assert listed[made.path.removeprefix("/Workspace")].directory_info.is_git_folder is True  # type: ignore[union-attr]
    plain = client.workspace.get_status(parent)
    assert plain.directory_info is not None and plain.directory_info.is_git_folder is False
    head = remote.commit({"more.txt": "more\n"}, "second")
    client.repos.update(status.object_id, branch="main")  # type: ignore[arg-type]
    assert client.repos.get(status.object_id).head_commit_id == head  # type: ignore[arg-type]
    client.repos.delete(status.object_id)  # type: ignore[arg-type]
    assert paths_under(client, parent) == set()


def test_git_folders_in_repos_stay_repo_objects(client: WorkspaceClient, folder: str, remote) -> None:
    made = client.repos.create(url=remote.url, provider="gitHub", path=f"{folder}/demo")
    status = client.workspace.get_status(made.path)
    assert status.object_type == ObjectType.REPO and status.directory_info is None
    assert [r.id for r in client.repos.list(path_prefix=folder)] == [made.id]


def test_a_slow_clone_keeps_its_path_until_it_is_complete(client: WorkspaceClient, faults, remote) -> None:
    """A fault rule `latency_at: during` slows the clone itself: repos/create answers only when the clone is done,
    the folder shows nothing at its path until then, and another create of that path is refused meanwhile."""
    parent = f"/Shared/slow-{uuid.uuid4().hex[:8]}"
    client.workspace.mkdirs(parent)
    path = f"{parent}/demo"
    rule = {"route": "POST /api/2.0/repos", "latency_ms": 1500, "latency_at": "during", "times": 1}
    faults.faults.replace([FaultRule.parse(rule)])
    answered: list[float] = []
    started = time.monotonic()

    def create() -> None:
        client.repos.create(url=remote.url, provider="gitHub", path=path)
        answered.append(time.monotonic() - started)

    first = threading.Thread(target=create)
    first.start()
    time.sleep(0.5)
    with pytest.raises(ResourceDoesNotExist):
        client.workspace.get_status(path)
    with pytest.raises(ResourceAlreadyExists):
        client.repos.create(url=remote.url, provider="gitHub", path=path)
    first.join(timeout=30)
    assert answered and answered[0] >= 1.5
    assert client.workspace.get_status(path).directory_info.is_git_folder is True  # type: ignore[union-attr]


def test_latency_at_names_where_the_delay_goes() -> None:
    with pytest.raises(ApiError, match="latency_at must be 'before' or 'during'"):
        FaultRule.parse({"route": "POST /api/2.0/repos", "latency_ms": 10, "latency_at": "after"})


def test_update_same_branch_pulls_new_commits(client: WorkspaceClient, folder: str, remote) -> None:
    """PATCH to the checked-out branch fetches and moves to the remote's new tip; new files appear."""
    repo = client.repos.create(url=remote.url, provider="gitHub", path=f"{folder}/demo")
    new_head = remote.commit({"nb/second.py": NOTEBOOK}, "second")
    client.repos.update(repo.id, branch="main")
    got = client.repos.get(repo.id)
    assert (got.branch, got.head_commit_id) == ("main", new_head) and new_head != repo.head_commit_id
    assert client.workspace.get_status(f"{repo.path}/nb/second").object_type == ObjectType.NOTEBOOK


def test_update_switches_branch(client: WorkspaceClient, folder: str, remote) -> None:
    """PATCH to another branch checks it out at the remote's tip."""
    repo = client.repos.create(url=remote.url, provider="gitHub", path=f"{folder}/demo")
    feature_head = remote.commit({"feature.txt": "f\n"}, "feature", branch="feature")
    client.repos.update(repo.id, branch="feature")
    got = client.repos.get(repo.id)
    assert (got.branch, got.head_commit_id) == ("feature", feature_head)
    assert "feature.txt" in paths_under(client, repo.path)


def test_update_to_a_tag_detaches_head(client: WorkspaceClient, folder: str, remote) -> None:
    """PATCH to a tag leaves a detached HEAD: no branch, head_commit_id is the tag's commit."""
    repo = client.repos.create(url=remote.url, provider="gitHub", path=f"{folder}/demo")
    tagged = remote.tag("v1.0")
    remote.commit({"later.txt": "later\n"}, "after the tag")
    client.repos.update(repo.id, tag="v1.0")
    got = client.repos.get(repo.id)
    assert got.branch is None and got.head_commit_id == tagged
    assert "later.txt" not in paths_under(client, repo.path)


def test_unknown_branch_or_tag_is_a_clear_400(client: WorkspaceClient, folder: str, remote) -> None:
    """An unknown branch or tag is a 400 naming it, and the Git folder stays where it was."""
    repo = client.repos.create(url=remote.url, provider="gitHub", path=f"{folder}/demo")
    with pytest.raises(BadRequest, match="Branch 'nope' does not exist"):
        client.repos.update(repo.id, branch="nope")
    with pytest.raises(BadRequest, match="Tag 'v9' does not exist"):
        client.repos.update(repo.id, tag="v9")
    assert client.repos.get(repo.id).head_commit_id == repo.head_commit_id


def test_update_needs_exactly_one_of_branch_or_tag(client: WorkspaceClient, folder: str, remote) -> None:
    """Both branch and tag, or nothing to do, are 400; so is an unknown Git folder 404."""
    repo = client.repos.create(url=remote.url, provider="gitHub", path=f"{folder}/demo")
    with pytest.raises(BadRequest, match="not both"):
        client.repos.update(repo.id, branch="main", tag="v1")
    with pytest.raises(BadRequest, match="Nothing to update"):
        client.repos.update(repo.id)
    with pytest.raises(ResourceDoesNotExist):
        client.repos.update(1234567890123456, branch="main")


def test_sparse_checkout_at_creation_and_update(client: WorkspaceClient, folder: str, remote) -> None:
    """Cone patterns limit the checkout to those folders (plus top-level files) and can be changed later."""
    repo = client.repos.create(
        url=remote.url, provider="gitHub", path=f"{folder}/sparse", sparse_checkout=SparseCheckout(patterns=["src"])
    )
    assert repo.sparse_checkout.patterns == ["src"]
    assert paths_under(client, repo.path) == {"src/lib/util.py", "top.txt"}
    client.repos.update(repo.id, sparse_checkout=SparseCheckoutUpdate(patterns=["nb"]))
    assert paths_under(client, repo.path) == {"nb/hello", "top.txt"}
    assert client.repos.get(repo.id).sparse_checkout.patterns == ["nb"]


def test_sparse_checkout_cannot_be_added_later(client: WorkspaceClient, folder: str, remote) -> None:
    """Updating patterns of a Git folder created without sparse checkout is a 400."""
    repo = client.repos.create(url=remote.url, provider="gitHub", path=f"{folder}/full")
    with pytest.raises(BadRequest, match="only be chosen when the Git folder is created"):
        client.repos.update(repo.id, sparse_checkout=SparseCheckoutUpdate(patterns=["src"]))


def test_git_folder_contents_through_the_workspace_api(client: WorkspaceClient, folder: str, remote) -> None:
    """The root is a REPO with the repo's id; notebooks lose their extension; other files keep it; .git is hidden."""
    repo = client.repos.create(url=remote.url, provider="gitHub", path=f"{folder}/demo")
    root = client.workspace.get_status(repo.path)
    assert (root.object_type, root.object_id) == (ObjectType.REPO, repo.id)
    kinds = {o.path[len(repo.path) + 1 :]: o.object_type for o in client.workspace.list(repo.path, recursive=True)}
    assert kinds == {
        "nb/hello": ObjectType.NOTEBOOK,
        "src/lib/util.py": ObjectType.FILE,
        "docs/readme.md": ObjectType.FILE,
        "top.txt": ObjectType.FILE,
    }
    with pytest.raises(ResourceDoesNotExist):
        client.workspace.get_status(f"{repo.path}/.git/config")


def test_delete_removes_the_checkout(
    client: WorkspaceClient, local_workspace: LocalWorkspaceServer, folder: str, remote
) -> None:
    """DELETE answers {} and the Git folder is gone from the API, the workspace and the disk."""
    repo = client.repos.create(url=remote.url, provider="gitHub", path=f"{folder}/demo")
    assert client.api_client.do("DELETE", f"/api/2.0/repos/{repo.id}") == {}
    with pytest.raises(ResourceDoesNotExist):
        client.repos.get(repo.id)
    with pytest.raises(ResourceDoesNotExist):
        client.workspace.get_status(repo.path)
    assert not local_workspace.workspace.tree.disk_path(repo.path).exists()
    with pytest.raises(ResourceDoesNotExist):
        client.repos.delete(repo.id)


def test_workspace_delete_of_a_git_folder_deletes_the_repo(client: WorkspaceClient, folder: str, remote) -> None:
    """workspace/delete on a Git folder (or on a folder holding one, recursively) deletes the Git folder itself."""
    direct = client.repos.create(url=remote.url, provider="gitHub", path=f"{folder}/direct")
    client.workspace.delete(direct.path)
    with pytest.raises(ResourceDoesNotExist):
        client.repos.get(direct.id)
    nested = client.repos.create(url=remote.url, provider="gitHub", path=f"{folder}/nested")
    client.workspace.delete(folder, recursive=True)
    with pytest.raises(ResourceDoesNotExist):
        client.repos.get(nested.id)


def test_git_folders_survive_a_restart(tmp_path, make_remote: Callable) -> None:
    """A server started again on the same root keeps its Git folders, ids and heads."""
    remote = make_remote(FILES)
    with LocalWorkspaceServer(root=tmp_path) as first:
        c1 = WorkspaceClient(host=first.host, token=first.token, auth_type="pat")
        repo = c1.repos.create(url=remote.url, provider="gitLab", path="/Repos/local-user@dbcicd.local/keep")
    with LocalWorkspaceServer(root=tmp_path) as second:
        c2 = WorkspaceClient(host=second.host, token=second.token, auth_type="pat")
        got = c2.repos.get(repo.id)
        assert (got.path, got.provider, got.head_commit_id) == (repo.path, "gitLab", repo.head_commit_id)
        assert c2.workspace.get_status(repo.path).object_type == ObjectType.REPO
        new_head = remote.commit({"x.txt": "x\n"}, "after restart")
        c2.repos.update(repo.id, branch="main")
        assert c2.repos.get(repo.id).head_commit_id == new_head


def test_errors_carry_databricks_error_codes(client: WorkspaceClient, folder: str, remote) -> None:
    """Error bodies carry error_code and message, as the SDK needs to pick exception classes."""
    with pytest.raises(DatabricksError) as err:
        client.repos.create(url=remote.url, provider="gitHub", path=f"{folder}/a/b")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
