"""Notebook-written JUnit read back from the step's own workspace folder and from a volume, for runs at a commit (no
Git folder)."""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service import jobs

from dbcicd.entry.cli import main
from dbcicd.results.collect import collect
from dbcicd.results.junit import MAX_TEXT_CHARS
from dbcicd_localworkspace import FaultRule, Tenant
from junit_reader import by_title, read

# Writes a JUnit file bigger than one DBFS read (1 MB), one in a subfolder, and a file that is not XML.
WRITER = "# Databricks notebook source\n" + (
    "import os\n"
    "out = dbutils.widgets.get('dbcicd_results_dir')\n"
    "os.makedirs(f'{out}/nested', exist_ok=True)\n"
    "big = 'x' * 2_500_000\n"
    "open(f'{out}/big.xml', 'w').write('<testsuite name=\"big\"><testcase classname=\"checks\" name=\"test_big\">'\n"
    "    f'<system-out>{big}</system-out></testcase></testsuite>')\n"
    "open(f'{out}/nested/more.xml', 'w').write('<testsuite name=\"more\"><testcase classname=\"checks\" '\n"
    '    \'name="test_nested"><skipped message="not today"/></testcase></testsuite>\')\n'
    "open(f'{out}/readme.txt', 'w').write('not a result')\n"
    "dbutils.notebook.exit(out)\n"
)


def run_at_commit(url: str, *extra: str) -> list[str]:
    return ["run", "--git-url", url, "--git-provider", "gitHub", "--branch", "main", "-n", "tests/writer", *extra]


@pytest.mark.parametrize(
    ("extra", "root"),
    [((), "/Workspace/Users/"), (("--notebook-results-dir", "/Volumes/main/default/ci-results"), "/Volumes/")],
    ids=["workspace-default", "volume"],
)
def test_results_are_read_back_whole_and_recursively(
    cli_env: Path,
    make_remote: Callable[[dict[str, str]], Any],
    capsys: pytest.CaptureFixture[str],
    client: WorkspaceClient,
    extra: tuple[str, ...],
    root: str,
) -> None:
    """Every *.xml under the task's folder is published (subfolders too, files over 1 MB whole); others are not. The
    step's own folder (in the home folder of who signed in) is gone once read."""
    remote = make_remote({"tests/writer.py": WRITER})
    code = main([*run_at_commit(remote.url, *extra), "--report-dir", "out"])
    out = capsys.readouterr().out
    assert code == 0, out
    values = dict(line.split("=", 1) for line in out.splitlines() if line.startswith(("runId=", "notebookOutput=")))
    assert values["notebookOutput"].startswith(root)
    stem = cli_env / "out" / f"dbcicd-run-{values['runId']}"
    suffixes = (".xml", "-tests_writer-1-big.xml", "-tests_writer-2-more.xml")
    per_task, big_file, nested_file = (Path(f"{stem}{suffix}") for suffix in suffixes)
    assert sorted((cli_env / "out").glob("*.xml")) == sorted([per_task, big_file, nested_file])
    big = by_title(big_file)["test_big"]
    assert big.suite == "tests_writer.big" and big.outcome == "Passed"
    assert len(big.system_out) == MAX_TEXT_CHARS and big.system_out.startswith("xxx")
    assert by_title(nested_file)["test_nested"].outcome == "NotExecuted"
    assert [r.title for r in read(per_task)] == ["tests_writer"]
    assert "Tests written by notebooks: 1 passed, 0 failed, 1 skipped" in out
    if root == "/Workspace/Users/":
        home = values["notebookOutput"].split("/.dbcicd/")[0].removeprefix("/Workspace")
        assert home == f"/Users/{client.current_user.me().user_name}"
        # The step's own folder is gone; `.dbcicd` may hold the folders failed runs of builds keep for a re-run.
        results = posixpath.dirname(values["notebookOutput"].removeprefix("/Workspace"))
        with pytest.raises(NotFound):
            client.workspace.get_status(results)


def test_results_dir_outside_readable_places_is_refused(
    cli_env: Path, make_remote: Callable[[dict[str, str]], Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """A notebookResultsDir dbcicd could not read back is a configuration error before anything runs."""
    remote = make_remote({"tests/writer.py": WRITER})
    code = main([*run_at_commit(remote.url, "--notebook-results-dir", "/tmp/results")])
    err = capsys.readouterr().err
    assert code == 2
    assert "--notebook-results-dir '/tmp/results' must be under /Volumes/<catalog>/<schema>/<volume>" in err


def test_unreadable_and_missing_folders(client: WorkspaceClient) -> None:
    """A folder nobody wrote to gives nothing; a path outside the three stores gives an error naming it."""

    def notebook_task(key: str, folder: str) -> jobs.RunTask:
        params = {"dbcicd_results_dir": folder}
        return jobs.RunTask(task_key=key, notebook_task=jobs.NotebookTask("/x", base_parameters=params))

    missing = f"/Workspace/Shared/never-written-{time.time_ns()}"
    run = jobs.Run(run_id=1, tasks=[notebook_task("a", missing), notebook_task("b", "results/relative")])
    run.tasks.append(jobs.RunTask(task_key="c", spark_python_task=jobs.SparkPythonTask("/x.py")))  # type: ignore[union-attr]
    [problem] = collect(client, run)
    assert (problem.task_key, problem.path, problem.content) == ("b", "results/relative", None)
    assert problem.error == (
        "dbcicd_results_dir 'results/relative' is not under /Workspace, /Volumes or /dbfs: its files cannot be read"
    )


# Writes JUnit where it is asked to, and fails when told to (after writing).
WRITE_THEN_MAYBE_FAIL = WRITER.replace(
    "dbutils.notebook.exit(out)\n",
    "dbutils.widgets.text('fail', '')\n"
    "if dbutils.widgets.get('fail'):\n"
    "    raise ValueError('told to fail')\n"
    "dbutils.notebook.exit(out)\n",
)


@pytest.mark.parametrize("fail", [False, True], ids=["passed", "failed"])
def test_results_in_a_shared_git_folder_are_deleted_once_read(
    cli_env: Path,
    make_remote: Callable[[dict[str, str]], Any],
    client: WorkspaceClient,
    capsys: pytest.CaptureFixture[str],
    fail: bool,
) -> None:
    """`run` in a Git folder that outlives the step: the notebooks' results are read, then deleted with the
    `.dbcicd` folder they were in, whether the run passed or failed, so the folder's changes show nothing of the
    step's."""
    remote = make_remote({"tests/writer.py": WRITE_THEN_MAYBE_FAIL})
    path = f"/Repos/ci/shared-{time.time_ns()}"
    git = ["--git-url", remote.url, "--git-provider", "gitHub", "--branch", "main"]
    assert main(["repo", "--repo-path", path, *git]) == 0
    params = ["-p", "fail=yes"] if fail else []
    code = main(["run", "--repo-path", path, "-n", "tests/writer", *params, "--report-dir", "out"])
    out = capsys.readouterr().out
    assert code == (1 if fail else 0), out
    assert "Tests written by notebooks: 1 passed, 0 failed, 1 skipped" in out
    assert len(list((cli_env / "out").glob("*.xml"))) == 3
    assert [o.path for o in client.workspace.list(path)] == [f"{path}/tests"]


def test_a_home_folder_the_step_cannot_write_fails_it_before_any_run(
    isolated_cli_env: Path,
    isolated_workspace: Tenant,
    isolated_client: WorkspaceClient,
    make_remote: Callable[[dict[str, str]], Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The step's results folder is refused (403 on mkdirs): nothing runs, and the error says what to give instead."""
    remote = make_remote({"tests/writer.py": WRITER})
    isolated_workspace.faults.add([FaultRule.parse({"route": "POST /api/2.0/workspace/mkdirs", "status": 403})])
    code = main(run_at_commit(remote.url))
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Could not create the results folder /Workspace/Users/" in err
    assert "Give --notebook-results-dir a folder the step's identity can write to" in err
    assert list(isolated_client.jobs.list_runs()) == []
