"""Git folders outside /Repos through the packaged task, as the agent runs it: since the Git CLI rollout they are
plain directories marked `is_git_folder` that repos/list leaves out, and every command must still find, update and
delete them — the default `tempFolder` is one of them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service.workspace import ObjectType

from dbcicd_localworkspace import FaultRule, LocalWorkspaceServer
from task_harness import Agent

PASSING = "# Databricks notebook source\ndbutils.notebook.exit('ok')\n"


def build(remote: Any, sha: str) -> dict[str, str]:
    """The variables of a CI build of `main` at `sha` of `remote`."""
    return {"Build.Repository.Uri": remote.url, "Build.SourceBranch": "refs/heads/main", "Build.SourceVersion": sha}


def names_in(client: WorkspaceClient, parent: str) -> list[str]:
    try:
        return [o.path or "" for o in client.workspace.list(parent)]
    except NotFound:
        return []


def test_default_temp_folder_is_in_the_identitys_home_and_is_deleted(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], client: WorkspaceClient
) -> None:
    """Without `tempFolder`, `test` makes its folder in /Users/<identity>/dbcicd-temp — a Git CLI folder there — and
    deletes it at the end."""
    remote = make_remote({"tests/test_ok.py": PASSING})
    parent = f"/Users/{client.current_user.me().user_name}/dbcicd-temp"
    inputs = {"command": "test", "gitProvider": "gitHub", "notebooks": "tests/test_*"}
    run = agent.run(inputs, build(remote, remote.commit({}, "empty")))
    assert run.result == "Succeeded", run.stdout + run.stderr
    made = run.variables["repoPath"]
    assert made.startswith(f"{parent}/dbcicd-remote-b{agent.build_id}-a1-")
    assert made not in names_in(client, parent)
    assert f"Deleted the temporary Git folder {made}" in run.stdout


def test_temp_folder_outside_repos_is_not_left_behind(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], client: WorkspaceClient
) -> None:
    """A `tempFolder` in /Shared: the temporary Git folder is found again and deleted, not leaked on every build."""
    remote = make_remote({"tests/test_ok.py": PASSING})
    parent = f"/Shared/ci-{time.time_ns() % 10**9}"
    inputs = {"command": "test", "gitProvider": "gitHub", "notebooks": "tests/test_*", "tempFolder": parent}
    run = agent.run(inputs, build(remote, remote.commit({}, "empty")))
    assert run.result == "Succeeded", run.stdout + run.stderr
    assert names_in(client, parent) == []
    assert not run.record.warnings, run.record.warnings


def test_repo_outside_repos_is_updated_from_the_second_build_on(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], client: WorkspaceClient
) -> None:
    """`repo` with a repoPath in the identity's home: the second build finds the folder and follows the branch."""
    remote = make_remote({"tests/test_ok.py": PASSING})
    path = f"/Users/{client.current_user.me().user_name}/staging-{time.time_ns() % 10**9}/project"
    inputs = {"command": "repo", "gitProvider": "gitHub", "repoPath": path}
    first = agent.run(inputs, build(remote, remote.commit({"a.txt": "1"})))
    second_sha = remote.commit({"a.txt": "2"})
    second = agent.run(inputs, build(remote, second_sha))
    assert (first.result, second.result) == ("Succeeded", "Succeeded"), second.stdout
    assert second.variables["repoId"] == first.variables["repoId"]
    assert second.variables["headCommit"] == second_sha
    assert client.workspace.get_status(path).object_type == ObjectType.DIRECTORY
    client.repos.delete(int(second.variables["repoId"]))


def test_clone_timeout_input_waits_for_a_slow_clone(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], client: WorkspaceClient, faults: LocalWorkspaceServer
) -> None:
    """`cloneTimeoutSeconds` reaches the create call: a clone slower than it (2.5 s against 1 s, scaled down from
    ~64 s against 60 s) has its answer given up on, and the step waits for the folder the clone makes, uses it, and
    deletes it at the end."""
    remote = make_remote({"tests/test_ok.py": PASSING})
    parent = f"/Shared/slow-{time.time_ns() % 10**9}"
    rule = FaultRule.parse({"route": "POST /api/2.0/repos", "latency_ms": 2500, "latency_at": "during", "times": 1})
    faults.faults.replace([rule])
    inputs = {
        "command": "test",
        "gitProvider": "gitHub",
        "notebooks": "tests/test_*",
        "tempFolder": parent,
        "cloneTimeoutSeconds": "1",
    }
    run = agent.run(inputs, build(remote, remote.commit({}, "empty")))
    assert run.result == "Succeeded", run.stdout + run.stderr
    assert any("did not answer within 1 s; waiting for the clone to finish" in w for w in run.record.warnings)
    assert rule.fired == 1
    assert names_in(client, parent) == []
