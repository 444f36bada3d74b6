"""`cleanup` after a killed agent: the folder's runs are cancelled, only folders dbcicd made are deleted, and
`--dry-run` only says what it would do. Through the CLI, against the local workspace."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import ObjectType

from dbcicd.entry.cli import main
from dbcicd.steps.tempnames import temporary_name

SLOW = "# Databricks notebook source\nimport time\ntime.sleep(120)\n"
ACTIVE = (jobs.RunLifeCycleState.PENDING, jobs.RunLifeCycleState.QUEUED, jobs.RunLifeCycleState.RUNNING)


def _parent(client: WorkspaceClient, name: str) -> str:
    parent = f"/Repos/{name}-{time.time_ns() % 10**9}"
    client.workspace.mkdirs(parent)
    return parent


def _folders(client: WorkspaceClient, parent: str) -> list[str]:
    return sorted(r.path for r in client.repos.list(path_prefix=parent + "/") if r.path)


def _left_behind(client: WorkspaceClient, url: str, parent: str, hours_ago: float) -> str:
    """A temporary Git folder as a killed agent leaves it: named by dbcicd, `hours_ago` old."""
    name = temporary_name("demo", "41", "1", datetime.now(timezone.utc) - timedelta(hours=hours_ago))
    path = f"{parent}/{name}"
    client.repos.create(url=url, provider="gitHub", path=path)
    return path


def _run_in(client: WorkspaceClient, folder: str) -> int:
    """A run still going in `folder`, as the killed agent's run is: its notebook lies in the folder."""
    task = jobs.SubmitTask(task_key="slow", notebook_task=jobs.NotebookTask(notebook_path=f"{folder}/tests/slow"))
    return client.jobs.submit(run_name="a run of the killed agent", tasks=[task]).run_id


def _state(client: WorkspaceClient, run_id: int, settle_s: float = 0.0) -> jobs.RunLifeCycleState | None:
    deadline = time.monotonic() + settle_s
    while True:
        state = client.jobs.get_run(run_id).state
        life = state.life_cycle_state if state else None
        if life not in ACTIVE or time.monotonic() >= deadline:
            return life
        time.sleep(0.2)


def test_cleanup_cancels_the_runs_of_the_folders_it_deletes(
    cli_env: Path, make_remote: Callable[..., Any], client: WorkspaceClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder left by a killed agent is deleted and the run still going in it is cancelled; a run elsewhere, in a
    folder young enough to keep, goes on."""
    remote = make_remote({"tests/slow.py": SLOW})
    parent = _parent(client, "killed")
    old, young = _left_behind(client, remote.url, parent, 30), _left_behind(client, remote.url, parent, 1)
    orphan, alive = _run_in(client, old), _run_in(client, young)
    try:
        assert main(["cleanup", "--temp-folder", parent, "--older-than-hours", "24"]) == 0
        out, err = capsys.readouterr()
        assert _folders(client, parent) == [young]
        assert _state(client, orphan, settle_s=10) == jobs.RunLifeCycleState.TERMINATED
        assert client.jobs.get_run(orphan).state.result_state == jobs.RunResultState.CANCELED  # type: ignore[union-attr]
        assert _state(client, alive) in ACTIVE
        assert f"Cancelling run {orphan}" in out and f"Deleted {old}" in out
        assert "cancelling 1 active run(s)" in err
    finally:
        client.jobs.cancel_run(alive)


def test_cleanup_keeps_a_hand_made_folder_with_a_matching_name(
    cli_env: Path, make_remote: Callable[..., Any], client: WorkspaceClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder named after the pattern by hand — the mark in the name does not match — is not dbcicd's: kept. The
    closing line says so, once."""
    remote = make_remote({"a.txt": "1"})
    parent = _parent(client, "handmade")
    ours = _left_behind(client, remote.url, parent, 30)
    name = temporary_name("demo", "41", "1", datetime.now(timezone.utc) - timedelta(hours=30))
    lookalike = f"{parent}/{name[:-6]}mine42"  # the pattern by hand: dated, random part, no valid mark
    client.repos.create(url=remote.url, provider="gitHub", path=lookalike)
    assert main(["cleanup", "--temp-folder", parent, "--older-than-hours", "24"]) == 0
    assert _folders(client, parent) == [lookalike]
    captured = capsys.readouterr()
    assert (captured.out + captured.err).count("1 not made by dbcicd") == 1, captured
    assert ours not in _folders(client, parent)


def test_dry_run_changes_nothing(
    cli_env: Path, make_remote: Callable[..., Any], client: WorkspaceClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--dry-run` lists the folder it would delete and the run it would cancel, and touches neither."""
    remote = make_remote({"tests/slow.py": SLOW})
    parent = _parent(client, "dry")
    old = _left_behind(client, remote.url, parent, 30)
    orphan = _run_in(client, old)
    try:
        assert main(["cleanup", "--temp-folder", parent, "--older-than-hours", "24", "--dry-run"]) == 0
        captured = capsys.readouterr()
        assert f"Would cancel run {orphan}" in captured.out and f"Would delete {old}" in captured.out
        assert "deletedCount=0" in captured.out and "Dry run: would delete 1" in captured.err
        assert _folders(client, parent) == [old]
        assert _state(client, orphan) in ACTIVE
    finally:
        client.jobs.cancel_run(orphan)


@pytest.mark.parametrize("place", ["/Users/{me}", "/Shared"])
def test_cleanup_finds_git_folders_outside_repos(
    cli_env: Path,
    make_remote: Callable[..., Any],
    client: WorkspaceClient,
    capsys: pytest.CaptureFixture[str],
    place: str,
) -> None:
    """Outside /Repos, Git folders have Git CLI access and repos/list leaves them out: cleanup lists the folder
    through the Workspace API, so an old one is deleted there too, a young one and a plain folder are kept."""
    remote = make_remote({"a.txt": "1"})
    parent = place.format(me=client.current_user.me().user_name) + f"/ci-{time.time_ns() % 10**9}"
    client.workspace.mkdirs(parent)
    old, young = _left_behind(client, remote.url, parent, 30), _left_behind(client, remote.url, parent, 1)
    client.workspace.mkdirs(f"{parent}/notes")
    assert client.workspace.get_status(old).object_type == ObjectType.DIRECTORY
    assert main(["cleanup", "--temp-folder", parent, "--older-than-hours", "24"]) == 0
    assert f"Deleted {old}" in capsys.readouterr().out
    assert sorted(o.path for o in client.workspace.list(parent)) == sorted([young, f"{parent}/notes"])


def test_cleanup_by_default_looks_in_the_home_folder(
    cli_env: Path, make_remote: Callable[..., Any], client: WorkspaceClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --temp-folder, cleanup looks where `test` puts temporary folders by default: /Users/<me>/dbcicd-temp."""
    remote = make_remote({"a.txt": "1"})
    parent = f"/Users/{client.current_user.me().user_name}/dbcicd-temp"
    client.workspace.mkdirs(parent)
    old = _left_behind(client, remote.url, parent, 30)
    assert main(["cleanup", "--older-than-hours", "24"]) == 0
    assert f"Deleted {old}" in capsys.readouterr().out
    with pytest.raises(NotFound):
        client.workspace.get_status(old)
