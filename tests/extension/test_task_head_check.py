"""Never green on another build's code: `run` in a shared Git folder, through the packaged task as the agent runs it,
checks the folder's head against the commit being built (Build.SourceVersion) before anything runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from databricks.sdk import WorkspaceClient

from task_harness import Agent

NOTEBOOK = "# Databricks notebook source\ndbutils.notebook.exit(open('version.txt').read())\n"


def build(remote: Any, sha: str) -> dict[str, str]:
    """The variables of a CI build of `main` at `sha` of `remote`."""
    return {"Build.Repository.Uri": remote.url, "Build.SourceBranch": "refs/heads/main", "Build.SourceVersion": sha}


def test_two_builds_racing_on_one_folder_fail_instead_of_running_each_others_code(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], client: WorkspaceClient
) -> None:
    """Build A points the staging folder at commit A; build B, close behind, points it at commit B; A's `run` then
    finds B's code in the folder: it fails naming both commits and the fix, and starts no run. B's run goes on at
    B, and `commit: any` runs whatever the folder holds, saying so."""
    remote = make_remote({"nb.py": NOTEBOOK, "version.txt": "A"})
    sha_a = remote.commit({}, "build A")
    name = f"race-{time.time_ns() % 10**9}"
    path = f"/Repos/staging/{name}"
    repo = {"command": "repo", "gitProvider": "gitHub", "repoPath": path}
    run = {"command": "run", "repoPath": path, "notebooks": "nb"}

    assert agent.run(repo, build(remote, sha_a)).result == "Succeeded"
    sha_b = remote.commit({"version.txt": "B"}, "build B")
    assert agent.run(repo, build(remote, sha_b)).result == "Succeeded"
    late = agent.run(run, build(remote, sha_a))

    assert late.result == "Failed", late.stdout
    [error] = [e for e in late.record.errors if "is at" in e]
    assert f"The Git folder {path} is at {sha_b[:12]}, this build is {sha_a[:12]}" in error
    assert f"run the repo command for {path} in the same job before run" in error
    assert "commit: any" in error
    assert "runId" not in late.variables
    assert not [r for r in client.jobs.list_runs() if name in (r.run_name or "")]  # nothing was started

    current = agent.run(run, build(remote, sha_b))
    assert current.result == "Succeeded", current.stdout
    assert (current.variables["notebookOutput"], current.variables["headCommit"]) == ("B", sha_b)

    waived = agent.run({**run, "commit": "any"}, build(remote, sha_a))
    assert waived.result == "Succeeded", waived.stdout
    assert waived.variables["notebookOutput"] == "B"
    assert f"commit any: running whatever {path} holds, without checking its head" in waived.stdout
    client.workspace.delete(path, recursive=True)
