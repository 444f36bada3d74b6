"""What a pipeline user sees when the workspace refuses the step as real workspaces do: a token of another workspace,
and a Git repository the workspace cannot clone without a Git credential. Through the packaged task, run as the
agent runs it; the advice must name the fix (the workspace URL, a Git credential for the identity), never a
permission to grant."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient

from dbcicd_localworkspace import LocalWorkspaceServer
from task_harness import Agent

HEADER = "# Databricks notebook source\n"
FILES = {"tests/test_ok.py": HEADER + "print('ok')\n"}


def _build(remote: Any, sha: str) -> dict[str, str]:
    return {"Build.Repository.Uri": remote.url, "Build.SourceBranch": "refs/heads/main", "Build.SourceVersion": sha}


def _folders_under(client: WorkspaceClient, parent: str) -> list[str]:
    return [r.path or "" for r in client.repos.list(path_prefix=parent + "/")]


@pytest.fixture
def other_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWorkspaceServer]:
    with LocalWorkspaceServer(root=tmp_path_factory.mktemp("other-workspace")) as server:
        yield server


def test_a_token_of_another_workspace_says_to_point_at_the_right_workspace(
    agent: Agent, other_workspace: LocalWorkspaceServer, make_remote: Callable[[dict[str, str]], Any]
) -> None:
    """The service connection names one workspace and holds a token of another: the step fails saying so, and what
    to change — not that the token expired, nor that a permission is missing."""
    remote = make_remote(FILES)
    agent.connection = replace(agent.connection, url=f"{other_workspace.host}/")
    inputs = {"command": "test", "gitProvider": "gitHub", "notebooks": "tests/test_ok", "tempFolder": "/Repos/ci"}
    run = agent.run(inputs, _build(remote, remote.commit({}, "empty")))

    assert run.result == "Failed"
    [error] = [e for e in run.errors if "Invalid access to Org" in e]
    assert error.startswith(
        "Databricks refused the credentials of the service connection of input 'databricksConnection' "
        "(403: Invalid access to Org: "
    ), error
    assert error.endswith(
        "they are valid, but not for the workspace the Server URL of that service connection names. Point the "
        "Server URL of that service connection at the workspace they belong to, or use a token made in the "
        "workspace it names."
    ), error
    assert not any("expired" in e or "Can Manage" in e for e in run.errors), run.errors


def test_a_clone_without_git_credentials_says_to_add_one_for_the_identity(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], client: WorkspaceClient
) -> None:
    """An Azure DevOps repository the workspace may only clone with a Git credential: without one the step fails
    with the workspace's reason and how to add a credential for the connection's identity (a service principal
    too), leaves no folder, and passes once the identity has one."""
    remote = make_remote(FILES)
    agent.workspace.workspace.git_credentials.mark_private(remote.url)
    parent = f"/Repos/refused-{time.time_ns() % 10**9}"
    inputs = {
        "command": "test",
        "gitProvider": "azureDevOpsServices",
        "notebooks": "tests/test_ok",
        "tempFolder": parent,
    }
    variables = _build(remote, remote.commit({}, "empty"))
    run = agent.run(inputs, variables)

    assert run.result == "Failed"
    [error] = [e for e in run.errors if "Git credential" in e]
    assert error.startswith(f"Creating the Git folder {parent}/"), error
    assert (
        f"from {remote.url} failed: Azure Active Directory credentials missing (403 PERMISSION_DENIED). The workspace "
        "clones and pulls as the identity of the service connection of input 'databricksConnection', which has no "
        "working Git credential there for the repository's Git provider (azureDevOpsServices)."
    ) in error
    assert "databricks git-credentials create" in error and "> Git integration" in error
    assert not any("Can Manage" in e or "lacks a permission" in e for e in run.errors), run.errors
    assert _folders_under(client, parent) == []

    credential = client.git_credentials.create(
        git_provider="azureDevOpsServices", git_username="ci", personal_access_token="ado-pat-for-ci"
    )
    try:
        assert agent.run(inputs, variables).result == "Succeeded"
    finally:
        client.git_credentials.delete(credential.credential_id)
    assert _folders_under(client, parent) == []
