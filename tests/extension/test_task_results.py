"""Where the packaged task's notebooks write their results by default, on a workspace whose admin disabled the DBFS
root (Settings API `disable_legacy_dbfs`) and on serverless compute, the task's default: a folder of the workspace
the step makes, reads back and deletes, whatever happens to the run."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service.settings import BooleanMessage, DisableLegacyDbfs

from dbcicd_localworkspace.http.tenants import Tenant
from junit_reader import read
from task_harness import Agent, TaskRun, cancel, finish

HEADER = "# Databricks notebook source\n"
# pytest writes JUnit where dbcicd asks notebooks to; the notebook then fails when told to, as a broken test would.
RUN_PYTEST = HEADER + (
    "import pytest\n"
    "out = dbutils.widgets.get('dbcicd_results_dir')\n"
    "code = pytest.main(['-q', '-p', 'no:cacheprovider', 'checks.py', f'--junitxml={out}/pytest.xml'])\n"
    "dbutils.widgets.text('fail', '')\n"
    "if dbutils.widgets.get('fail'):\n"
    "    raise ValueError('told to fail')\n"
    "dbutils.notebook.exit(str(int(code)))\n"
)
CHECKS = "def test_add():\n    assert 1 + 1 == 2\n\n\ndef test_sub():\n    assert 2 - 1 == 1\n"
# Writes its report, then waits for a cancel.
SLOW = HEADER + (
    "import time\n"
    "open(dbutils.widgets.get('dbcicd_results_dir') + '/report.xml', 'w').write('<testsuite/>')\n"
    "time.sleep(60)\n"
)
FILES = {"tests/test_pytest.py": RUN_PYTEST, "tests/checks.py": CHECKS, "slow/wait.py": SLOW}


@pytest.fixture
def dbfs_less(isolated_workspace: Tenant) -> WorkspaceClient:
    """The test's own workspace, its DBFS root disabled as an admin disables it."""
    client = WorkspaceClient(host=isolated_workspace.host, token=isolated_workspace.token)
    client.settings.disable_legacy_dbfs.update(
        allow_missing=True,
        setting=DisableLegacyDbfs(disable_legacy_dbfs=BooleanMessage(value=True)),
        field_mask="disable_legacy_dbfs.value",
    )
    return client


def start_at_commit(
    agent: Agent, tenant: Tenant, remote: Any, notebooks: str, parameters: str = "", results_dir: str = ""
) -> subprocess.Popen[str]:
    """Start `run` of the notebooks at the build's commit (no Git folder), on the default compute (serverless)."""
    agent.sign_in(tenant)
    sha = remote.commit({"README.md": "results"}, "second")
    variables = {
        "Build.Repository.Uri": remote.url,
        "Build.SourceBranch": "refs/heads/main",
        "Build.SourceVersion": sha,
    }
    inputs = {"command": "run", "gitProvider": "gitHub", "notebooks": notebooks, "parameters": parameters}
    if results_dir:
        inputs["notebookResultsDir"] = results_dir
    return agent.start(inputs, variables)


def published(run: TaskRun) -> set[tuple[str, str]]:
    [publish] = run.commands("results.publish")
    return {(r.title, r.outcome) for path in publish.properties["resultfiles"].split(",") for r in read(Path(path))}


def home_entries(client: WorkspaceClient) -> list[str]:
    home = f"/Users/{client.current_user.me().user_name}"
    return [o.path.rsplit("/", 1)[-1] for o in client.workspace.list(home) if o.path]


@pytest.mark.parametrize("fail", [False, True], ids=["passed", "failed"])
def test_a_run_at_a_commit_publishes_its_results_without_the_dbfs_root_and_keeps_a_folder_only_for_a_rerun(
    agent: Agent,
    isolated_workspace: Tenant,
    dbfs_less: WorkspaceClient,
    make_remote: Callable[[dict[str, str]], Any],
    fail: bool,
) -> None:
    remote = make_remote(FILES)
    started = time.monotonic()
    run = finish(
        start_at_commit(agent, isolated_workspace, remote, "tests/test_pytest", "fail=yes" if fail else ""), started
    )

    assert run.result == ("Failed" if fail else "Succeeded"), run.stdout + run.stderr
    assert {("test_add", "Passed"), ("test_sub", "Passed")} <= published(run)
    assert "DBFS" not in run.stdout
    # A failed run's folder is kept for the job's next attempt, which re-runs only what failed (rerunFailedOnly).
    assert (".dbcicd" in home_entries(dbfs_less)) == fail
    shown = [line for line in run.stdout.splitlines() if not line.startswith("##vso[task.setsecret]")]
    assert isolated_workspace.token not in "\n".join([*shown, run.stderr])


def test_a_volume_given_as_the_results_folder_is_used_and_kept(
    agent: Agent,
    isolated_workspace: Tenant,
    dbfs_less: WorkspaceClient,
    make_remote: Callable[[dict[str, str]], Any],
) -> None:
    """notebookResultsDir on a Unity Catalog volume: the notebooks write there and the results are published; the
    folder is the user's, so the step leaves it."""
    volume = "/Volumes/main/default/ci-results"
    started = time.monotonic()
    process = start_at_commit(agent, isolated_workspace, make_remote(FILES), "tests/test_pytest", results_dir=volume)
    run = finish(process, started)

    assert run.result == "Succeeded", run.stdout + run.stderr
    assert {("test_add", "Passed"), ("test_sub", "Passed")} <= published(run)
    [tag] = [(e.path or "").rstrip("/") for e in dbfs_less.files.list_directory_contents(volume)]
    assert [e.name for e in dbfs_less.files.list_directory_contents(f"{tag}/tests_test_pytest")] == ["pytest.xml"]
    assert ".dbcicd" not in home_entries(dbfs_less)


def test_a_cancelled_run_at_a_commit_leaves_no_results_folder(
    agent: Agent,
    isolated_workspace: Tenant,
    dbfs_less: WorkspaceClient,
    make_remote: Callable[[dict[str, str]], Any],
) -> None:
    started = time.monotonic()
    process = start_at_commit(agent, isolated_workspace, make_remote(FILES), "slow/wait")
    results = f"/Users/{dbfs_less.current_user.me().user_name}/.dbcicd/results"
    deadline = time.monotonic() + 60
    while not written(dbfs_less, results):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.1)
    cancel(process)
    run = finish(process, started)

    assert run.result == "Canceled", run.stdout + run.stderr
    assert f"the results folder /Workspace{results}/" in run.stdout
    assert ".dbcicd" not in home_entries(dbfs_less)


def written(client: WorkspaceClient, folder: str) -> bool:
    try:
        return any((o.path or "").endswith("/report.xml") for o in client.workspace.list(folder, recursive=True))
    except NotFound:
        return False
