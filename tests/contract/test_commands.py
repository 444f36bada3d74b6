"""The repo, run, test and cleanup commands through the CLI, against the local workspace."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from dbcicd.connect import auth
from dbcicd.entry.cli import main
from dbcicd.steps.tempnames import temporary_name
from dbcicd_localworkspace import FaultRule, LocalWorkspaceServer, Tenant

PASSING = "# Databricks notebook source\nimport os\ndbutils.notebook.exit(os.getcwd())\n"
FAILING = "# Databricks notebook source\nraise ValueError('expected 3, got 4')\n"
SLOW = "# Databricks notebook source\nimport time\ntime.sleep(60)\n"


def cli_test_args(url: str, parent: str, notebooks: str, *extra: str) -> list[str]:
    """`dbcicd test` of the main branch of `url`, with temporary folders under `parent`."""
    return [
        "test",
        "--git-url",
        url,
        "--git-provider",
        "gitHub",
        "--branch",
        "main",
        "--temp-folder",
        parent,
        "-n",
        notebooks,
        *extra,
    ]


def temp_folders(client: WorkspaceClient, parent: str) -> list[str]:
    return [r.path for r in client.repos.list(path_prefix=parent + "/") if r.path]


def unique_parent(name: str) -> str:
    return f"/Repos/{name}-{time.time_ns() % 10**9}"


def test_passing_test_command(
    cli_env: Path,
    make_remote: Callable[..., Any],
    client: WorkspaceClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`test` creates a temporary folder, runs the notebooks matched by a glob, reports, and deletes the folder."""
    remote = make_remote({"tests/test_a.py": PASSING, "tests/test_b.py": PASSING, "src/lib.py": "x = 1\n"})
    parent = unique_parent("ci")
    code = main(cli_test_args(remote.url, parent, "tests/test_*"))
    out = capsys.readouterr()
    assert code == 0, out
    assert "tests_test_a: SUCCESS" in out.out and "tests_test_b: SUCCESS" in out.out
    assert "resultState=SUCCESS" in out.out
    assert temp_folders(client, parent) == []


def test_failing_test_command(
    cli_env: Path,
    make_remote: Callable[..., Any],
    client: WorkspaceClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A failing notebook fails the command with exit 1 and its error; the folder is still deleted."""
    remote = make_remote({"tests/test_ok.py": PASSING, "tests/test_bad.py": FAILING})
    parent = unique_parent("ci")
    code = main(cli_test_args(remote.url, parent, "tests/*"))
    out = capsys.readouterr()
    assert code == 1
    assert "tests_test_bad: FAILED" in out.err and "ValueError: expected 3, got 4" in out.err
    assert temp_folders(client, parent) == []


def test_glob_matching_nothing(
    cli_env: Path,
    make_remote: Callable[..., Any],
    client: WorkspaceClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A glob that selects no notebook is a configuration error (exit 2) naming it; nothing is left behind."""
    remote = make_remote({"tests/test_a.py": PASSING})
    parent = unique_parent("ci")
    code = main(cli_test_args(remote.url, parent, "integration/*"))
    err = capsys.readouterr().err
    assert code == 2
    assert "'integration/*' matches no notebook" in err and "tests/test_a" in err
    assert temp_folders(client, parent) == []


def test_pull_request_variables(
    cli_env: Path, make_remote: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """A pull-request build checks out the PR's source branch at its source commit and says so."""
    remote = make_remote({"tests/test_a.py": PASSING})
    sha = remote.commit({"tests/test_b.py": PASSING}, "feature", branch="feature/pr")
    variables = {
        "Build.SourceBranch": "refs/pull/5/merge",
        "Build.Repository.Uri": remote.url,
        "System.PullRequest.SourceBranch": "refs/heads/feature/pr",
        "System.PullRequest.SourceCommitId": sha,
        "System.PullRequest.PullRequestId": "5",
    }
    flags = [arg for name, value in variables.items() for arg in ("--var", f"{name}={value}")]
    code = main(
        ["test", *flags, "--git-provider", "gitHub", "--temp-folder", unique_parent("pr"), "-n", "tests/test_b"]
    )
    out = capsys.readouterr()
    assert code == 0, out
    assert "pull request 5 build" in out.out and "feature/pr" in out.out
    assert f"headCommit={sha}" in out.out


def test_branch_moved_on(
    cli_env: Path,
    make_remote: Callable[..., Any],
    client: WorkspaceClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """When the branch has a newer commit than the build's, the step fails saying both commits."""
    remote = make_remote({"tests/test_a.py": PASSING})
    old = remote.commit({"a.txt": "1"}, "old")
    new = remote.commit({"a.txt": "2"}, "new")
    parent = unique_parent("ci")
    code = main(
        [
            "test",
            "--git-url",
            remote.url,
            "--git-provider",
            "gitHub",
            "--branch",
            "main",
            "--commit",
            old,
            "--temp-folder",
            parent,
            "-n",
            "tests/test_a",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert f"is at {new[:12]}, this build is {old[:12]}" in err
    assert temp_folders(client, parent) == []


def test_repo_command_creates_updates_and_refuses_other_urls(
    cli_env: Path,
    make_remote: Callable[..., Any],
    client: WorkspaceClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`repo` creates the folder, follows a branch, switches to a tag, and refuses a folder of another repository."""
    remote = make_remote({"a.txt": "1"})
    tagged = remote.tag("v1.0")
    newer = remote.commit({"a.txt": "2"})
    path = f"/Repos/staging-{time.time_ns() % 10**9}/project"
    base = ["repo", "--repo-path", path, "--git-url", remote.url, "--git-provider", "gitHub"]
    assert main([*base, "--branch", "main"]) == 0
    assert f"headCommit={newer}" in capsys.readouterr().out
    assert main([*base, "--tag", "v1.0"]) == 0
    assert f"headCommit={tagged}" in capsys.readouterr().out
    other = make_remote({"b.txt": "1"})
    assert (
        main(["repo", "--repo-path", path, "--git-url", other.url, "--git-provider", "gitHub", "--branch", "main"]) == 2
    )
    assert "not of" in capsys.readouterr().err
    assert main([*base, "--branch", "no-such-branch"]) == 2
    assert "no-such-branch" in capsys.readouterr().err


def test_run_in_folder_and_at_commit(
    cli_env: Path, make_remote: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """`run` uses an existing Git folder, or, without one, Databricks' own checkout of the exact commit."""
    remote = make_remote(
        {"jobs/train.py": "# Databricks notebook source\ndbutils.notebook.exit(dbutils.widgets.get('x'))\n"}
    )
    path = f"/Repos/staging-{time.time_ns() % 10**9}/project"
    assert (
        main(["repo", "--repo-path", path, "--git-url", remote.url, "--git-provider", "gitHub", "--branch", "main"])
        == 0
    )
    capsys.readouterr()
    assert main(["run", "--repo-path", path, "-n", "jobs/train", "-p", "x=42"]) == 0
    assert "notebookOutput=42" in capsys.readouterr().out
    sha = remote.commit({"jobs/train.py": "# Databricks notebook source\ndbutils.notebook.exit('at commit')\n"})
    assert (
        main(
            [
                "run",
                "--git-url",
                remote.url,
                "--git-provider",
                "gitHub",
                "--commit",
                sha,
                "--branch",
                "main",
                "-n",
                "jobs/train.py",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "notebookOutput=at commit" in out and "no Git folder" in out


def test_job_by_name(
    cli_env: Path, client: WorkspaceClient, cluster_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """run-now by a unique job name works; an ambiguous or unknown name is an error listing the candidates."""
    user = client.current_user.me().user_name
    folder = f"/Users/{user}/jobs-{time.time_ns()}"
    client.workspace.mkdirs(folder)
    import base64

    from databricks.sdk.service.workspace import ImportFormat, Language

    client.workspace.import_(
        f"{folder}/nb",
        content=base64.b64encode(PASSING.encode()).decode(),
        format=ImportFormat.SOURCE,
        language=Language.PYTHON,
    )
    task = jobs.Task(
        task_key="t", notebook_task=jobs.NotebookTask(notebook_path=f"{folder}/nb"), existing_cluster_id=cluster_id
    )
    name = f"nightly {time.time_ns()}"
    first = client.jobs.create(name=name, tasks=[task]).job_id
    assert main(["run", "--job-name", name.upper()]) == 0
    capsys.readouterr()
    second = client.jobs.create(name=name, tasks=[task]).job_id
    assert main(["run", "--job-name", name]) == 2
    err = capsys.readouterr().err
    assert f"id {first}" in err and f"id {second}" in err
    assert main(["run", "--job-name", "nightly"]) == 2
    assert "matches no job" in capsys.readouterr().err


def runs_under(client: WorkspaceClient, parent: str) -> list[jobs.BaseRun]:
    """Submitted runs whose notebooks live under a folder (unique per test)."""
    return [
        r
        for r in client.jobs.list_runs(run_type=jobs.RunType.SUBMIT_RUN, expand_tasks=True, limit=25)
        if any(t.notebook_task and (t.notebook_task.notebook_path or "").startswith(parent) for t in r.tasks or [])
    ]


def test_lost_submit_response_starts_one_run(
    isolated_cli_env: Path,
    isolated_workspace: Tenant,
    make_remote: Callable[..., Any],
    isolated_client: WorkspaceClient,
) -> None:
    """The submit is processed but its response lost: the retry returns the same run (idempotency token), the only
    run of the test's own tenant."""
    remote = make_remote({"tests/test_a.py": PASSING})
    parent = unique_parent("lost")
    rule = FaultRule.parse({"route": "POST /api/*/jobs/runs/submit", "drop": "after", "times": 1})
    isolated_workspace.faults.replace([rule])
    code = main(cli_test_args(remote.url, parent, "tests/test_a"))
    assert code == 0
    assert isolated_workspace.calls["POST /api/2.2/jobs/runs/submit"] == 2  # the lost call and its retry
    assert len(list(isolated_client.jobs.list_runs())) == 1


def test_cleanup_deletes_only_old_temporary_folders(
    cli_env: Path, make_remote: Callable[..., Any], client: WorkspaceClient
) -> None:
    """`cleanup` deletes this tool's folders older than the age and leaves every other folder alone."""
    remote = make_remote({"a.txt": "1"})
    parent = unique_parent("ci")
    client.workspace.mkdirs(parent)
    old = temporary_name("demo", "1", "1", datetime.now(timezone.utc) - timedelta(hours=30))
    young = temporary_name("demo", "2", "1", datetime.now(timezone.utc) - timedelta(hours=1))
    for name in (old, young, "shared-staging"):
        client.repos.create(url=remote.url, provider="gitHub", path=f"{parent}/{name}")
    assert main(["cleanup", "--temp-folder", parent, "--older-than-hours", "24"]) == 0
    assert sorted(temp_folders(client, parent)) == sorted([f"{parent}/{young}", f"{parent}/shared-staging"])


def _spawn_test(env: dict[str, str], remote_url: str, parent: str, notebooks: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dbcicd", *cli_test_args(remote_url, parent, notebooks)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_concurrent_tests_use_separate_folders(
    cli_env: Path, make_remote: Callable[..., Any], client: WorkspaceClient
) -> None:
    """Two `test` commands for the same branch at once get different folders, and both are deleted."""
    remote = make_remote({"tests/test_a.py": PASSING})
    parent = unique_parent("ci")
    procs = [_spawn_test(dict(os.environ), remote.url, parent, "tests/test_a") for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    cwds = {line.split("=", 1)[1] for out, _ in outs for line in out.splitlines() if line.startswith("notebookOutput=")}
    assert len(cwds) == 2  # each run saw its own folder
    assert temp_folders(client, parent) == []


def test_sigint_cancels_the_run_and_deletes_the_folder(
    cli_env: Path, make_remote: Callable[..., Any], client: WorkspaceClient
) -> None:
    """SIGINT during the wait: the run ends CANCELED, the folder is gone, the process exits 130 within 5 s."""
    remote = make_remote({"tests/test_slow.py": SLOW})
    parent = unique_parent("cancel")
    proc = _spawn_test(dict(os.environ), remote.url, parent, "tests/test_slow")
    deadline = time.monotonic() + 60
    run_id = None
    while run_id is None and time.monotonic() < deadline and proc.poll() is None:
        running = [
            r
            for r in runs_under(client, parent)
            if r.state and r.state.life_cycle_state == jobs.RunLifeCycleState.RUNNING
        ]
        run_id = running[0].run_id if running else None
        time.sleep(0.1)
    assert run_id is not None, proc.communicate()
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=10)
    assert proc.returncode == 130
    assert time.monotonic() - sent < 5
    state = client.jobs.get_run(run_id).state
    for _ in range(20):
        if state.life_cycle_state == jobs.RunLifeCycleState.TERMINATED:
            break
        time.sleep(0.1)
        state = client.jobs.get_run(run_id).state
    assert state.result_state == jobs.RunResultState.CANCELED
    assert temp_folders(client, parent) == []


def test_timeout_cancels_and_fails(
    cli_env: Path,
    make_remote: Callable[..., Any],
    client: WorkspaceClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A run longer than timeoutMinutes is stopped, the step fails naming the timeout, the folder is deleted."""
    remote = make_remote({"tests/test_slow.py": SLOW})
    parent = unique_parent("timeout")
    started = time.monotonic()
    code = main(cli_test_args(remote.url, parent, "tests/test_slow", "--timeout-minutes", "0.05"))
    err = capsys.readouterr().err
    assert code == 1
    assert time.monotonic() - started < 30
    # 0.05 minutes, in words a person reads; Databricks' own timeout of the run or the step's, whichever is first
    assert re.search("timed out after 3 seconds", err, re.IGNORECASE), err
    assert temp_folders(client, parent) == []


def test_retries_are_visible_and_harmless(
    cli_env: Path,
    faults: LocalWorkspaceServer,
    make_remote: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """429s and 503s on the calls a step makes are retried, and each retry is reported."""
    remote = make_remote({"tests/test_a.py": PASSING})
    faults.faults.replace(
        [
            FaultRule.parse({"route": "GET /api/2.2/jobs/runs/get", "status": 429, "retry_after": 1, "times": 1}),
            FaultRule.parse({"route": "POST /api/2.0/repos", "status": 503, "times": 1}),
        ]
    )
    code = main(cli_test_args(remote.url, unique_parent("retry"), "tests/test_a"))
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count("is retried") >= 2, out


@pytest.mark.parametrize("place", ["/Users/{me}", "/Shared"])
def test_repo_command_keeps_a_git_folder_outside_repos(
    cli_env: Path,
    make_remote: Callable[..., Any],
    client: WorkspaceClient,
    capsys: pytest.CaptureFixture[str],
    place: str,
) -> None:
    """A Git folder outside /Repos is a Git CLI folder (a DIRECTORY marked `is_git_folder`): the second build finds
    and updates it instead of refusing it as 'a directory, not a Git folder', and `run` runs in it."""
    remote = make_remote({"a.txt": "1", "nb.py": PASSING})
    path = place.format(me=client.current_user.me().user_name) + f"/staging-{time.time_ns() % 10**9}/project"
    base = ["repo", "--repo-path", path, "--git-url", remote.url, "--git-provider", "gitHub", "--branch", "main"]
    assert main(base) == 0
    capsys.readouterr()
    newer = remote.commit({"a.txt": "2"})
    assert main(base) == 0, capsys.readouterr().err
    assert f"headCommit={newer}" in capsys.readouterr().out
    assert main(["run", "--repo-path", path, "-n", "nb"]) == 0, capsys.readouterr().err
    client.workspace.delete(path, recursive=True)


def test_a_clone_slower_than_the_http_timeout_does_not_fail_the_step(
    cli_env: Path,
    make_remote: Callable[..., Any],
    client: WorkspaceClient,
    faults: LocalWorkspaceServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Scaled down: API calls time out after 1 s (60 s in the product), the clone takes 2.5 s (~64 s on a real
    workspace, databricks/cli da265cc5ae). The create is given --clone-timeout-seconds and answers in one attempt."""
    monkeypatch.setattr(auth, "HTTP_TIMEOUT_SECONDS", 1)
    remote = make_remote({"a.txt": "1"})
    path = f"/Shared/slow-{time.time_ns() % 10**9}/project"
    rule = FaultRule.parse({"route": "POST /api/2.0/repos", "latency_ms": 2500, "latency_at": "during", "times": 1})
    faults.faults.replace([rule])
    base = ["repo", "--repo-path", path, "--git-url", remote.url, "--git-provider", "gitHub", "--branch", "main"]
    assert main([*base, "--clone-timeout-seconds", "10"]) == 0, capsys.readouterr().err
    assert rule.fired == 1 and rule.matched == 1  # one create, not re-sent
    client.workspace.delete(path, recursive=True)


def test_a_create_whose_answer_timed_out_uses_the_folder_its_clone_makes(
    cli_env: Path,
    make_remote: Callable[..., Any],
    client: WorkspaceClient,
    faults: LocalWorkspaceServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The clone outlasts even the clone timeout (2.5 s against 1 s): the create's answer is lost, the clone goes on,
    and `test` waits for the folder, uses it, and deletes it at the end — one Git folder, nothing left."""
    remote = make_remote({"tests/test_ok.py": PASSING})
    parent = f"/Shared/lost-{time.time_ns() % 10**9}"
    rule = FaultRule.parse({"route": "POST /api/2.0/repos", "latency_ms": 2500, "latency_at": "during", "times": 1})
    faults.faults.replace([rule])
    assert main(cli_test_args(remote.url, parent, "tests/test_*", "--clone-timeout-seconds", "1")) == 0
    captured = capsys.readouterr()
    assert "did not answer within 1 s; waiting for the clone to finish" in captured.err + captured.out
    assert [o.path for o in client.workspace.list(parent)] == []


@pytest.mark.parametrize(("notebook", "exit_code"), [(PASSING, 0), (FAILING, 1)], ids=["passed", "failed"])
def test_a_closed_output_pipe_ends_quietly_with_the_commands_exit_code(
    notebook: str, exit_code: int, cli_env: Path, make_remote: Callable[..., Any], client: WorkspaceClient
) -> None:
    """`dbcicd test ... | head -1`: the reader leaves after the first line; the command still waits for its run,
    deletes its folder and exits with the run's own code, saying nothing of a broken pipe."""
    remote = make_remote({"tests/test_a.py": notebook})
    parent = unique_parent("pipe")
    proc = _spawn_test(dict(os.environ), remote.url, parent, "tests/test_a")
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # as `head -1` exits
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == exit_code, (first, stderr)
    assert "rror" not in stderr.replace("ValueError", "") and "BrokenPipe" not in stderr, stderr
    assert temp_folders(client, parent) == []
