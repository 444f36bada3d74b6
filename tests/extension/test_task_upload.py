"""`source: upload` through the packaged task, as the agent runs it: the build's checkout (Build.SourcesDirectory)
is uploaded, so a repository the workspace cannot clone is tested all the same, and the folder is always deleted."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound

from git_remote import git
from junit_reader import read
from task_harness import Agent

HEADER = "# Databricks notebook source\n"
CELL = "\n# COMMAND ----------\n"
TEST_NOTEBOOK = (
    HEADER
    + "# MAGIC %run ./fixtures"
    + CELL
    + "import scoring\nassert scoring.score(2) == 4, 'scoring.score(2)'\nassert FIXTURE == 'loaded'\n"
    + "dbutils.notebook.exit('ok')\n"
)
FILES = {
    "tests/test_scoring.py": TEST_NOTEBOOK,
    "tests/fixtures.py": HEADER + "FIXTURE = 'loaded'\n",
    "tests/scoring.py": "def score(x):\n    return x * x\n",
}
UNREACHABLE = "https://git.invalid/org/private-repo.git"  # .invalid never resolves (RFC 6761)


def test_upload_tests_a_repository_the_workspace_cannot_clone(
    agent: Agent, make_remote: Callable[..., Any], client: WorkspaceClient
) -> None:
    remote = make_remote(FILES)
    git("clone", "--quiet", str(remote.bare), ".", cwd=agent.sources)  # the job's `checkout: self`
    sha = git("rev-parse", "HEAD", cwd=agent.sources)
    parent = f"/Workspace/Shared/e2e-upload-{time.time_ns() % 10**9}"
    variables = {"Build.Repository.Uri": UNREACHABLE, "Build.SourceBranch": "refs/heads/main"}
    variables["Build.SourceVersion"] = sha
    inputs = {"command": "test", "source": "upload", "notebooks": "tests/test_*", "tempFolder": parent}
    run = agent.run(inputs, variables)

    assert run.result == "Succeeded", run.stdout + run.stderr
    [publish] = run.commands("results.publish")
    results = {(r.title, r.outcome) for p in publish.properties["resultfiles"].split(",") for r in read(Path(p))}
    assert ("tests_test_scoring", "Passed") in results
    assert run.variables["headCommit"] == sha
    assert f"Uploading commit {sha[:12]}: 3 file(s)" in run.stdout
    try:
        leftovers = list(client.workspace.list(parent))
    except NotFound:
        leftovers = []
    assert leftovers == []
