"""Results back into Azure DevOps, end to end on the local workspace: what the agent would read from stdout."""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from azdo_agent import commands, groups, lines
from dbcicd.entry.cli import main
from dbcicd.entry.task import main as task_main
from dbcicd_localworkspace import LocalWorkspaceServer
from junit_reader import AzureResult, by_title

HEADER = "# Databricks notebook source\n"
PASSING = HEADER + (
    "import json\n"
    "dbutils.notebook.exit(json.dumps({'promote': True, 'auc': 0.91, 'model': 'churn-7', 'details': {'n': 1}}))\n"
)
FAILING = HEADER + "print('loading the table')\nraise ValueError('expected 3 rows, got 4')\n"
DEPENDENT = HEADER + "dbutils.notebook.exit('never reached')\n"
# Runs pytest on the test module beside it (its folder is the working directory, as on Databricks), JUnit into the
# results folder dbcicd gives it; also leaves a file that is not JUnit, which must be reported, not crash anything.
RUN_PYTEST = HEADER + (
    "import pytest\n"
    "out = dbutils.widgets.get('dbcicd_results_dir')\n"
    "code = pytest.main(['-q', '-p', 'no:cacheprovider', 'math_checks.py', f'--junitxml={out}/pytest.xml'])\n"
    "open(f'{out}/notes.xml', 'w').write('<testsuite><testcase name=')\n"
    "dbutils.notebook.exit(str(int(code)))\n"
)
MATH_CHECKS = (
    "def test_add():\n    assert 1 + 1 == 2\n\n\ndef test_sub():\n    assert 1 - 1 == 1, 'subtraction is broken'\n"
)
FILES = {
    "tests/passing.py": PASSING,
    "tests/failing.py": FAILING,
    "tests/dependent.py": DEPENDENT,
    "tests/run_pytest.py": RUN_PYTEST,
    "tests/math_checks.py": MATH_CHECKS,
}


def unique(name: str) -> str:
    return f"{name}-{time.time_ns() % 10**9}"


def variables(stdout: str) -> dict[str, str]:
    found = commands(stdout, "task.setvariable")
    assert all(c.properties.get("isoutput") == "true" for c in found)
    return {c.properties["variable"]: c.data for c in found}


def published_files(stdout: str) -> list[Path]:
    [publish] = commands(stdout, "results.publish")
    return [Path(p) for p in publish.properties["resultfiles"].split(",")]


def dependency_job(client: WorkspaceClient, folder: str) -> int:
    """A job over the Git folder: passing, failing, one depending on the failing one, and the pytest runner."""

    def task(key: str, depends_on: tuple[str, ...] = (), **params: str) -> jobs.Task:
        return jobs.Task(
            task_key=key,
            notebook_task=jobs.NotebookTask(f"{folder}/tests/{key}", base_parameters=params or None),
            depends_on=[jobs.TaskDependency(d) for d in depends_on] or None,
        )

    results = f"/Workspace{folder}/.dbcicd/results/e2e/run_pytest"
    created = client.jobs.create(
        name=unique("results-e2e"),
        tasks=[
            task("passing"),
            task("failing"),
            task("dependent", ("failing",)),
            task("run_pytest", dbcicd_results_dir=results),
        ],
    )
    return int(created.job_id)  # type: ignore[arg-type]


def test_failing_run_reported_to_the_agent(
    cli_env: Path,
    make_remote: Callable[[dict[str, str]], Any],
    client: WorkspaceClient,
    local_workspace: LocalWorkspaceServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Passing, failing, UPSTREAM_FAILED and pytest tasks -> test cases, groups, issues, summary, variables, exit 1."""
    remote = make_remote(FILES)
    parent = f"/Repos/{unique('results')}"
    client.workspace.mkdirs(parent)
    folder = client.repos.create(url=remote.url, provider="gitHub", path=f"{parent}/project").path
    job_id = dependency_job(client, folder)  # type: ignore[arg-type]

    code = main(["run", "--job-id", str(job_id), "--azure-devops", "--report-dir", "out", "--test-run-title", "E2E"])
    out = capsys.readouterr().out
    assert code == 1

    # Secrets first: the token is announced before any other line and never printed in clear.
    first = commands(lines(out)[0])
    assert first and first[0].name == "task.setsecret"
    assert local_workspace.token in [c.data for c in commands(out, "task.setsecret")]
    assert local_workspace.token not in out.replace(f"##vso[task.setsecret]{local_workspace.token}", "")

    # One log group per task, with its output and error.
    found = groups(out)
    titles = [title.split(" (")[0] for title in found]
    assert titles == ["passing: SUCCESS", "failing: FAILED", "dependent: UPSTREAM_FAILED", "run_pytest: SUCCESS"]
    failing = next(body for title, body in found.items() if title.startswith("failing"))
    assert f"Source: {folder}/tests/failing" in failing
    assert "Error: ValueError: expected 3 rows, got 4" in failing
    assert "    raise ValueError('expected 3 rows, got 4')" in failing
    passing = next(body for title, body in found.items() if title.startswith("passing"))
    assert any(line.startswith('Exit value: {"promote": true') for line in passing)

    # Issues: the step's verdict, the failed task with its run page, the malformed file, the failed pytest test.
    run_id = variables(out)["runId"]
    verdict, *issues = [c.data for c in commands(out, "task.logissue")]
    assert verdict.startswith(f"Run {run_id} FAILED: failing: FAILED")
    assert issues[0].startswith(f"failing FAILED ({local_workspace.host}/?o=")
    assert issues[0].endswith("): ValueError: expected 3 rows, got 4")
    assert "notes.xml is not valid JUnit XML: not well-formed XML" in issues[1]
    assert issues[2] == "run_pytest: test math_checks.test_sub failed: AssertionError: subtraction is broken"

    # Test results: one case per task, and the pytest file beside them with its suites renamed.
    [publish] = commands(out, "results.publish")
    assert publish.properties["runtitle"] == "E2E" and publish.properties["failtaskonfailedtests"] == "true"
    per_task, pytest_file = published_files(out)
    assert per_task == cli_env / "out" / f"dbcicd-run-{run_id}.xml"
    cases = by_title(per_task)
    expect_case(cases["passing"], f"{folder}/tests/passing", "Passed")
    expect_case(cases["failing"], f"{folder}/tests/failing", "Failed", "ValueError: expected 3 rows, got 4")
    assert "Traceback (most recent call last)" in cases["failing"].stack_trace
    not_started = "Not started (UPSTREAM_FAILED): Upstream task failed"
    expect_case(cases["dependent"], f"{folder}/tests/dependent", "NotExecuted", not_started)
    expect_case(cases["run_pytest"], f"{folder}/tests/run_pytest", "Passed")
    assert cases["run_pytest"].seconds > 0.1 and cases["run_pytest"].system_out.startswith("Exit value: 1")
    notes = cases["run_pytest: notes.xml"]
    expect_case(notes, f"/Workspace{folder}/.dbcicd/results/e2e/run_pytest/notes.xml", "Failed")
    assert notes.error_message.endswith(
        "is not valid JUnit XML: not well-formed XML: unclosed token: line 1, column 11"
    )
    tests = by_title(pytest_file)
    assert {t.suite for t in tests.values()} == {"run_pytest.pytest"}
    expect_case(tests["test_add"], "math_checks", "Passed")
    expect_case(
        tests["test_sub"], "math_checks", "Failed", "AssertionError: subtraction is broken\nassert (1 - 1) == 1"
    )

    # The summary tab and the output variables, JSON keys of the exit value included.
    [summary] = commands(out, "task.uploadsummary")
    text = Path(summary.data).read_text()
    assert f"## Databricks run {run_id}: FAILED" in text
    assert "| `dependent` | " in text and "⏭️ UPSTREAM_FAILED" in text
    assert "**`failing`** (" in text and "ValueError: expected 3 rows, got 4" in text
    assert "1 passed, 2 failed, 0 skipped" in text
    values = variables(out)
    assert values["resultState"] == "FAILED" and values["runPageUrl"].endswith(f"/run/{run_id}")
    assert json.loads(json.loads(values["notebookOutput"])["passing"])["model"] == "churn-7"
    assert values["notebookOutput_passing_promote"] == "true"
    assert values["notebookOutput_passing_auc"] == "0.91"
    assert values["notebookOutput_passing_model"] == "churn-7"
    assert "notebookOutput_passing_details" not in values


def expect_case(result: AzureResult, test_file: str, outcome: str, message: str | None = None) -> None:
    assert (result.test_file, result.outcome) == (test_file, outcome), result
    if message is not None:
        assert result.error_message == message, result


def test_task_entry_collects_from_a_temporary_folder_before_deleting_it(
    cli_env: Path, make_remote: Callable[[dict[str, str]], Any], client: WorkspaceClient
) -> None:
    """`test` through the task entry: pytest results read from the Git folder before it goes; repo variables set."""
    remote = make_remote(FILES)
    parent = f"/Repos/{unique('results-task')}"
    request = {
        "inputs": {
            "command": "test",
            "connectionType": "environment",
            "gitUrl": remote.url,
            "gitProvider": "gitHub",
            "branch": "main",
            "tempFolder": parent,
            "notebooks": "tests/passing\ntests/run_pytest",
            "failOnTestFailure": "false",
        },
        "variables": {"Agent.TempDirectory": str(cli_env / "agent-temp")},
    }
    stdout = io.StringIO()
    code = task_main(io.StringIO(json.dumps(request)), stdout, dict(os.environ))
    out = stdout.getvalue()
    assert code == 0, out  # the pytest failure is published, but failOnTestFailure is off
    assert [r.path for r in client.repos.list(path_prefix=parent + "/")] == []

    per_task, pytest_file = published_files(out)
    assert per_task.parent == cli_env / "agent-temp" / "dbcicd-results"
    assert set(by_title(per_task)) == {"tests_passing", "tests_run_pytest", "tests_run_pytest: notes.xml"}
    assert by_title(per_task)["tests_passing"].test_file == "tests/passing"
    assert by_title(pytest_file)["test_sub"].outcome == "Failed"
    assert commands(out, "results.publish")[0].properties["failtaskonfailedtests"] == "false"

    values = variables(out)
    assert values["repoPath"].startswith(parent + "/") and values["repoId"].isdigit()
    assert values["headCommit"] == remote.tag("built")
    assert values["notebookOutput_tests_passing_promote"] == "true"
    assert lines(out)[-1].startswith("OK: Run ")
