"""A run that could not start still leaves evidence, through the CLI on the local workspace: runs/submit or run-now
refused (nothing started, no run id), and a run whose tasks never started (its checkout failed). Each publishes a
test case per task saying it did not start and why, the summary and the output variables that exist, as JUnit and
Markdown in --report-dir; the build's next attempt runs what did not start."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs
from jobs_helpers import folder, upload, wait

from dbcicd.entry.cli import main
from dbcicd.errors import EXIT_FAILED, EXIT_USAGE
from junit_reader import by_title

HEADER = "# Databricks notebook source\n"
NOTEBOOK = HEADER + "dbutils.notebook.exit('ran')\n"
# Waits while the file its parameter `hold` names exists, then ends.
HOLD = HEADER + (
    "import os, time\n"
    "hold = dbutils.widgets.get('hold')\n"
    "while hold and os.path.exists(hold):\n"
    "    time.sleep(0.05)\n"
    "dbutils.notebook.exit('ran')\n"
)
FILES = {"tests/test_a.py": NOTEBOOK, "tests/test_b.py": NOTEBOOK}
# A new_cluster from an instance pool the workspace does not have: refused at runs/submit and jobs/create
# ("Cluster validation error: Can't find an instance pool with id", localworkspace services/compute.py).
UNKNOWN_POOL = {"spark_version": "15.4.x-scala2.12", "instance_pool_id": "pool-gone-0000", "num_workers": 1}


def printed_variables(out: str) -> dict[str, str]:
    """The NAME=VALUE lines the CLI prints for the output variables."""
    return dict(re.findall(r"^(runId|runPageUrl|resultState)=(.*)$", out, re.MULTILINE))


def report_files(folder: Path) -> tuple[Path, str]:
    """The one JUnit file and the summary's text a run that did not start left in `folder`."""
    [junit] = list(folder.glob("dbcicd-run-not-started-*.xml"))
    [summary] = list(folder.glob("Databricks run not-started-*.md"))
    return junit, summary.read_text(encoding="utf-8")


def test_a_submit_databricks_refuses_publishes_every_task_not_started(
    cli_env: Path, make_remote: Callable[[dict[str, str]], Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """runs/submit refused (compute from an unknown instance pool): exit 2 naming the refusal, and a case per
    notebook, not started, the refusal its reason; resultState NOT_STARTED, no runId or runPageUrl."""
    remote = make_remote(FILES)
    folder = f"/Repos/not-started-{time.time_ns() % 10**9}"
    argv = ["test", "--git-url", remote.url, "--git-provider", "gitHub", "--branch", "main", "--temp-folder", folder]
    argv += ["-n", "tests/test_*", "--compute", "newCluster", "--new-cluster-json", json.dumps(UNKNOWN_POOL)]

    code = main([*argv, "--report-dir", "out"])
    captured = capsys.readouterr()

    assert code == EXIT_USAGE, captured.err
    assert "Databricks refused the run" in captured.err and "pool-gone-0000" in captured.err
    assert printed_variables(captured.out) == {"resultState": "NOT_STARTED"}, captured.out
    junit, summary = report_files(cli_env / "out")
    cases = by_title(junit)
    assert sorted(cases) == ["tests_test_a", "tests_test_b"]
    for case in cases.values():
        assert (case.test_file, case.outcome) == (case.test_file, "NotExecuted")
        assert case.test_file.endswith(f"tests/{case.title.removeprefix('tests_')}"), case
        assert case.error_message.startswith("Not started: Databricks refused the run: "), case
        assert "Can't find an instance pool with id: pool-gone-0000" in case.error_message
    assert "## Databricks run not started" in summary
    assert "| `tests_test_a` | " in summary and "⏭️ NOT_STARTED" in summary


def test_a_run_now_databricks_refuses_publishes_the_jobs_tasks_not_started(
    cli_env: Path, client: WorkspaceClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """run-now refused (a parameter the job does not declare): the job's tasks, not started, with Databricks'
    answer."""
    created = client.jobs.create(
        name=f"not-started-{time.time_ns() % 10**9}",
        parameters=[jobs.JobParameterDefinition(name="dbcicd_results_dir", default="")],
        tasks=[
            jobs.Task(task_key="ingest", notebook_task=jobs.NotebookTask("/Shared/ingest")),
            jobs.Task(
                task_key="report",
                notebook_task=jobs.NotebookTask("/Shared/report"),
                depends_on=[jobs.TaskDependency("ingest")],
            ),
        ],
    )
    try:
        code = main(["run", "--job-id", str(created.job_id), "-p", "region=eu", "--report-dir", "out"])
    finally:
        client.jobs.delete(created.job_id)  # type: ignore[arg-type]
    captured = capsys.readouterr()

    assert code == EXIT_USAGE, captured.err
    assert f"Databricks refused to start job {created.job_id}" in captured.err
    assert printed_variables(captured.out) == {"resultState": "NOT_STARTED"}, captured.out
    junit, summary = report_files(cli_env / "out")
    cases = by_title(junit)
    assert {title: case.outcome for title, case in cases.items()} == {"ingest": "NotExecuted", "report": "NotExecuted"}
    assert cases["report"].test_file == "/Shared/report"
    assert "does not define a parameter named 'region'" in cases["report"].error_message
    assert "## Databricks run not started" in summary


def test_a_run_whose_checkout_failed_reports_its_tasks_as_not_started(
    cli_env: Path, make_remote: Callable[[dict[str, str]], Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """A run at a commit the remote does not have: Databricks starts the run, whose checkout fails before any task
    runs (REPOSITORY_CHECKOUT_FAILED). The run exists, so runId and runPageUrl are set; each task is failed, saying
    it never started and why."""
    remote = make_remote(FILES)
    missing = "0123456789abcdef0123456789abcdef01234567"
    argv = ["run", "--git-url", remote.url, "--git-provider", "gitHub", "--branch", "main", "--commit", missing]
    argv += ["-n", "tests/test_a"]

    code = main([*argv, "--report-dir", "out"])
    captured = capsys.readouterr()

    assert code == EXIT_FAILED, captured.err
    values = printed_variables(captured.out)
    assert values["runId"].isdigit() and values["runPageUrl"], captured.out
    assert values["resultState"] == "FAILED"
    [junit] = list((cli_env / "out").glob(f"dbcicd-run-{values['runId']}.xml"))
    [case] = by_title(junit).values()
    assert case.outcome == "Failed"
    assert case.error_message.startswith("Not started (REPOSITORY_CHECKOUT_FAILED): Failed to checkout Git"), case


def build_variables(build_id: str, attempt: int) -> list[str]:
    """--var flags of attempt `attempt` of a build's job."""
    variables = {"Build.BuildId": build_id, "System.JobAttempt": str(attempt)}
    variables["System.TaskInstanceId"] = str(uuid.uuid4())
    return [arg for name, value in variables.items() for arg in ("--var", f"{name}={value}")]


def test_a_job_run_skipped_at_its_concurrency_limit_is_not_started_and_runs_whole_next_attempt(
    cli_env: Path, client: WorkspaceClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Attempt 1 of a build starts the job while another run of it is active (max_concurrent_runs 1, no queue):
    Databricks skips the run, whose tasks never start (MAXIMUM_CONCURRENT_RUNS_REACHED). Each is a case saying so.
    Attempt 2 runs the job whole, as a new run, rather than repairing a run of which nothing ran."""
    path = upload(client, f"{folder(client)}/hold", HOLD)
    created = client.jobs.create(
        name=f"not-started-{time.time_ns() % 10**9}",
        max_concurrent_runs=1,
        tasks=[
            jobs.Task(task_key="first", notebook_task=jobs.NotebookTask(path, base_parameters={"hold": ""})),
            jobs.Task(
                task_key="second",
                notebook_task=jobs.NotebookTask(path, base_parameters={"hold": ""}),
                depends_on=[jobs.TaskDependency("first")],
            ),
        ],
    )
    job_id = str(created.job_id)
    hold = tmp_path / "hold"
    hold.write_text("")
    build_id = str(time.time_ns() % 10**9)
    try:
        active = client.jobs.run_now(int(job_id), notebook_params={"hold": str(hold)}).run_id
        first = main(["run", "--job-id", job_id, *build_variables(build_id, 1), "--report-dir", "out1"])
        captured = capsys.readouterr()
        hold.unlink()
        wait(client, active)  # type: ignore[arg-type]
        second = main(["run", "--job-id", job_id, *build_variables(build_id, 2), "--report-dir", "out2"])
        rerun = capsys.readouterr()
    finally:
        hold.unlink(missing_ok=True)
        client.jobs.delete(created.job_id)  # type: ignore[arg-type]

    assert first == EXIT_FAILED, captured.err
    skipped = printed_variables(captured.out)
    assert skipped["resultState"] == "MAXIMUM_CONCURRENT_RUNS_REACHED", captured.out
    cases = by_title(cli_env / "out1" / f"dbcicd-run-{skipped['runId']}.xml")
    assert {title: case.outcome for title, case in cases.items()} == {"first": "NotExecuted", "second": "NotExecuted"}
    assert cases["first"].error_message.startswith("Not started (MAXIMUM_CONCURRENT_RUNS_REACHED): "), cases
    assert second == 0, rerun.err + rerun.out
    assert "was skipped before any task started: running the job whole" in rerun.out + rerun.err
    again = printed_variables(rerun.out)
    assert again["resultState"] == "SUCCESS" and again["runId"] != skipped["runId"]
    cases = by_title(cli_env / "out2" / f"dbcicd-run-{again['runId']}.xml")
    assert {title: case.outcome for title, case in cases.items()} == {"first": "Passed", "second": "Passed"}


# Fails on its first run (no marker file yet), passes from then on.
FLAKY = HEADER + (
    "import os\n"
    "marker = dbutils.widgets.get('marker')\n"
    "if not os.path.exists(marker):\n"
    "    open(marker, 'w').close()\n"
    "    raise ValueError('first run')\n"
    "dbutils.notebook.exit('ran')\n"
)
# Passes, and writes one JUnit case to its results folder.
STEADY = HEADER + (
    "import os\n"
    "out = dbutils.widgets.get('dbcicd_results_dir')\n"
    "os.makedirs(out, exist_ok=True)\n"
    "with open(os.path.join(out, 'pytest.xml'), 'w') as fh:\n"
    '    fh.write(\'<testsuite name="pytest" tests="1"><testcase classname="checks" name="test_kept"/></testsuite>\')\n'
)


def test_a_refused_rerun_keeps_the_earlier_results_and_the_next_attempt_reruns_what_did_not_start(
    cli_env: Path, make_remote: Callable[[dict[str, str]], Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Attempt 1: steady passes (writing a JUnit case), flaky fails. Attempt 2 re-runs flaky, and Databricks refuses
    its run: the evidence is the whole run, steady's result and file kept from attempt 1, flaky not started.
    Attempt 3 continues attempt 1's run: flaky runs again, and steady's file is still published."""
    remote = make_remote({"jobs/flaky.py": FLAKY, "jobs/steady.py": STEADY})
    sha = remote.commit({}, "build")
    build_id = str(time.time_ns() % 10**9)
    step = ["run", "--git-url", remote.url, "--git-provider", "gitHub", "-n", "jobs/flaky.py", "-n", "jobs/steady.py"]
    step += ["-p", f"marker={tmp_path / 'marker'}", "--var", "Build.SourceBranch=refs/heads/main"]
    step += ["--var", f"Build.SourceVersion={sha}"]
    refused = ["--compute", "newCluster", "--new-cluster-json", json.dumps(UNKNOWN_POOL)]

    assert main([*step, *build_variables(build_id, 1), "--report-dir", "out1"]) == EXIT_FAILED
    capsys.readouterr()
    code = main([*step, *build_variables(build_id, 2), *refused, "--report-dir", "out2"])
    captured = capsys.readouterr()
    assert code == EXIT_USAGE, captured.err
    assert "Re-running 1 task of 2 that did not succeed" in captured.out
    assert printed_variables(captured.out) == {"resultState": "NOT_STARTED"}, captured.out
    junit = sorted((cli_env / "out2").glob("dbcicd-run-not-started-*.xml"))
    cases = {title: case for path in junit for title, case in by_title(path).items()}
    assert cases["jobs_flaky"].outcome == "NotExecuted"
    assert cases["jobs_flaky"].error_message.startswith("Not started: Databricks refused the run: "), cases
    assert cases["jobs_steady"].outcome == "NotExecuted"  # passed in attempt 1, as the Tests tab keeps it
    assert cases["jobs_steady"].error_message.startswith("Passed in job attempt 1 (run "), cases
    assert cases["test_kept"].outcome == "Passed"

    assert main([*step, *build_variables(build_id, 3), "--report-dir", "out3"]) == 0
    out = capsys.readouterr().out
    assert "Re-running 1 task of 2 that did not succeed" in out and "jobs_flaky" in out
    values = printed_variables(out)
    published = sorted((cli_env / "out3").glob(f"dbcicd-run-{values['runId']}*.xml"))
    cases = {title: case for path in published for title, case in by_title(path).items()}
    assert cases["jobs_flaky"].outcome == "Passed" and cases["test_kept"].outcome == "Passed"
