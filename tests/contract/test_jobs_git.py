"""Runs from `git_source`: a throw-away checkout of a branch, tag or commit per run, notebooks relative to its root."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs
from jobs_helpers import notebook, wait

from dbcicd_localworkspace import LocalWorkspaceServer


def _version(text: str) -> dict[str, str]:
    """A repository whose notebook exits with `text`, importing a helper module from the repository root."""
    return {
        "lib/version.py": f"VERSION = {text!r}\n",
        "nb/report.py": notebook("from lib.version import VERSION", "dbutils.notebook.exit(VERSION)"),
    }


def _git_run(client: WorkspaceClient, url: str, **ref: str) -> jobs.Run:
    source = jobs.GitSource(git_url=url, git_provider=jobs.GitProvider.GIT_HUB, **ref)
    task = jobs.SubmitTask(task_key="report", notebook_task=jobs.NotebookTask(notebook_path="nb/report"))
    return client.jobs.submit(run_name="git", git_source=source, tasks=[task])  # type: ignore[return-value]


def test_branch_tag_and_commit_each_run_their_own_version(
    client: WorkspaceClient, make_remote: Callable[[dict[str, str]], Any], local_workspace: LocalWorkspaceServer
) -> None:
    """Three runs at once: the tag's, the first commit's and the branch tip's notebook, each in its checkout."""
    remote = make_remote(_version("v1"))
    first_commit = remote.tag("start")
    remote.commit(_version("v2"), "two")
    remote.tag("release-2")
    remote.commit(_version("v3"), "three")
    waiters = {
        "v1": _git_run(client, remote.url, git_commit=first_commit),
        "v2": _git_run(client, remote.url, git_tag="release-2"),
        "v3": _git_run(client, remote.url, git_branch="main"),
    }
    for expected, waiter in waiters.items():
        run = wait(client, waiter.run_id)
        assert run.state.result_state.value == "SUCCESS", run.state
        assert run.git_source.git_url == remote.url
        assert run.tasks[0].notebook_task.source.value == "GIT"
        assert client.jobs.get_run_output(run.tasks[0].run_id).notebook_output.result == expected
        assert not (local_workspace.root / "runs" / str(run.run_id) / "checkout").exists()


def test_unknown_branch_fails_the_checkout(
    client: WorkspaceClient, make_remote: Callable[[dict[str, str]], Any]
) -> None:
    """A branch the remote does not have: the task fails with REPOSITORY_CHECKOUT_FAILED and git's reason."""
    remote = make_remote(_version("v1"))
    run = wait(client, _git_run(client, remote.url, git_branch="no-such-branch").run_id)
    task = run.tasks[0]
    assert task.state.result_state.value == "FAILED"
    assert task.status.termination_details.code.value == "REPOSITORY_CHECKOUT_FAILED"
    assert "no-such-branch" in task.state.state_message
    assert run.status.termination_details.code.value == "REPOSITORY_CHECKOUT_FAILED"
