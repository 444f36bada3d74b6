"""Notebook-written JUnit read back from DBFS and from a volume, for runs at a commit (no Git folder)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from dbcicd.entry.cli import main
from dbcicd.results.collect import collect
from dbcicd.results.junit import MAX_TEXT_CHARS
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
    [((), "/dbfs/tmp/dbcicd/results/"), (("--notebook-results-dir", "/Volumes/main/default/ci-results"), "/Volumes/")],
    ids=["dbfs-default", "volume"],
)
def test_results_are_read_back_whole_and_recursively(
    cli_env: Path,
    make_remote: Callable[[dict[str, str]], Any],
    capsys: pytest.CaptureFixture[str],
    extra: tuple[str, ...],
    root: str,
) -> None:
    """Every *.xml under the task's folder is published (subfolders too, files over 1 MB whole); others are not."""
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
