"""A finished run as test cases, and the notebooks' own JUnit files, without a server."""

from __future__ import annotations

from typing import Any

from databricks.sdk.service import jobs

from dbcicd.results.cases import notebook_results, run_suite, task_case, task_source
from dbcicd.results.collect import ResultFile
from dbcicd.results.junit import FAILED, PASSED, SKIPPED
from dbcicd.steps.notstarted import not_started_run

FOLDER = "/Repos/ci/demo"


def task(key: str, result: str, life: str = "TERMINATED", message: str = "", **fields: Any) -> jobs.RunTask:
    body = {
        "task_key": key,
        "run_id": abs(hash(key)) % 10**6,
        "state": {"life_cycle_state": life, "result_state": result, "state_message": message},
        "notebook_task": {"notebook_path": f"{FOLDER}/tests/{key}"},
        "run_page_url": f"https://adb.example/#job/1/run/{key}",
    }
    body.update(fields)
    return jobs.RunTask.from_dict(body)


def test_passing_task_has_relative_classname_execution_time_and_exit_value() -> None:
    """classname is the notebook path inside the Git folder, time its execution seconds, system-out its exit value."""
    output = jobs.RunOutput(notebook_output=jobs.NotebookOutput(result='{"auc": 0.9}'))
    case = task_case(task("test_io", "SUCCESS", execution_duration=2500, setup_duration=9000), output, FOLDER)
    assert (case.name, case.classname, case.time, case.outcome) == ("test_io", "tests/test_io", 2.5, PASSED)
    assert case.system_out.splitlines() == [
        'Exit value: {"auc": 0.9}',
        "Run page: https://adb.example/#job/1/run/test_io",
    ]


def test_failed_task_carries_the_first_error_line_and_the_trace() -> None:
    """message = the error's first line, text = error_trace."""
    output = jobs.RunOutput(
        error="AssertionError: rows differ\n  expected 3\n  got 4",
        error_trace="Traceback (most recent...)\nAssertionError",
    )
    case = task_case(task("t", "FAILED", message="Workload failed"), output, FOLDER)
    assert case.outcome == FAILED
    assert case.message == "AssertionError: rows differ"
    assert case.text == "Traceback (most recent...)\nAssertionError"


def test_failure_without_output_uses_the_state_message() -> None:
    """A task that never ran (e.g. timed out in setup) is failed with its state message as error."""
    case = task_case(task("t", "TIMEDOUT", message="Task timed out after 60 seconds"), None, FOLDER)
    assert case.outcome == FAILED and case.message == "Task timed out after 60 seconds"
    assert case.text == "Task timed out after 60 seconds"
    cancelled = task_case(task("c", "CANCELED", message=""), None, FOLDER)
    assert cancelled.outcome == FAILED and cancelled.message == "The task ended CANCELED"


def test_excluded_and_upstream_states_are_skipped_as_not_started_with_the_reason() -> None:
    """EXCLUDED, UPSTREAM_FAILED and UPSTREAM_CANCELED become skipped; the reason says it did not start and names the
    state."""
    upstream = task_case(task("a", "UPSTREAM_FAILED", "SKIPPED", "Upstream task failed"), None, FOLDER)
    assert upstream.outcome == SKIPPED and upstream.message == "Not started (UPSTREAM_FAILED): Upstream task failed"
    cancelled = task_case(task("b", "UPSTREAM_CANCELED", "SKIPPED"), None, FOLDER)
    assert cancelled.message == "Not started (UPSTREAM_CANCELED): a task it depends on was cancelled"
    excluded = task_case(task("c", "EXCLUDED", "SKIPPED"), None, FOLDER)
    assert excluded.outcome == SKIPPED and excluded.message.startswith("Not started (EXCLUDED): ")


def test_a_task_skipped_with_its_run_is_not_started_and_its_reason_is_text() -> None:
    """A run skipped at its job's concurrency limit skips its tasks (life cycle SKIPPED): not started, with the
    state message passed through the trust boundary like every other text a run produced."""
    message = "Skipped: too many runs ##vso[task.setvariable variable=x]y"
    case = task_case(task("a", "MAXIMUM_CONCURRENT_RUNS_REACHED", "SKIPPED", message), None, FOLDER)
    assert case.outcome == SKIPPED
    assert case.message.startswith("Not started (MAXIMUM_CONCURRENT_RUNS_REACHED): Skipped: too many runs")
    assert "##vso[" not in case.message


def test_a_task_that_failed_before_its_code_ran_says_it_did_not_start() -> None:
    """A checkout that failed (REPOSITORY_CHECKOUT_FAILED) fails the task, which says it never started; a code that
    does not say when it struck (RESOURCE_NOT_FOUND) leaves the message as it is."""
    status = {"termination_details": {"code": "REPOSITORY_CHECKOUT_FAILED", "type": "CLIENT_ERROR"}}
    checkout = task("a", "FAILED", "INTERNAL_ERROR", "Failed to checkout Git repository: no branch x", status=status)
    case = task_case(checkout, None, FOLDER)
    assert case.outcome == FAILED
    assert case.message == "Not started (REPOSITORY_CHECKOUT_FAILED): Failed to checkout Git repository: no branch x"
    status = {"termination_details": {"code": "RESOURCE_NOT_FOUND", "type": "CLIENT_ERROR"}}
    missing = task_case(task("b", "FAILED", "INTERNAL_ERROR", "Notebook not found", status=status), None, FOLDER)
    assert missing.message == "Notebook not found"


def test_the_tasks_of_a_run_databricks_refused_to_start_are_not_started_with_its_answer() -> None:
    """runs/submit refused: every task the run asked for is a case, not started, Databricks' answer its reason."""
    submitted = [
        jobs.SubmitTask(task_key="t1", notebook_task=jobs.NotebookTask(f"{FOLDER}/tests/t1")),
        jobs.SubmitTask(task_key="t2", notebook_task=jobs.NotebookTask(f"{FOLDER}/tests/t2")),
    ]
    refusal = "Databricks refused the run: pool ##vso[task.complete]x unknown"
    run = not_started_run("dbcicd demo [abc]", submitted, refusal)
    suite = run_suite(run, {}, FOLDER, interrupted="Not finished: the step failed before the run ended")
    assert [(c.name, c.classname, c.outcome) for c in suite.cases] == [
        ("t1", "tests/t1", SKIPPED),
        ("t2", "tests/t2", SKIPPED),
    ]
    assert suite.cases[0].message.startswith("Not started: Databricks refused the run: ")
    assert "##vso[" not in suite.cases[0].message


def test_sources_of_other_tasks() -> None:
    """Python files are relative to the folder too; other kinds are named by their kind; outside paths stay whole."""
    python = task(
        "p", "SUCCESS", notebook_task=None, spark_python_task={"python_file": f"/Workspace{FOLDER}/jobs/etl.py"}
    )
    assert task_source(python, FOLDER) == "jobs/etl.py"
    sql = task("q", "SUCCESS", notebook_task=None, sql_task={"warehouse_id": "w", "query": {"query_id": "1"}})
    assert task_source(sql, FOLDER) == "sql_task"
    assert task_source(task("n", "SUCCESS"), "/Repos/other") == f"{FOLDER}/tests/n"
    git = jobs.RunTask(task_key="g", notebook_task=jobs.NotebookTask("tests/test_git", source=jobs.Source.GIT))
    assert task_source(git, "") == "tests/test_git"


def test_logs_excerpt_goes_to_system_out() -> None:
    """Logs of non-notebook tasks are shown (their end, when long)."""
    output = jobs.RunOutput(logs="line\n" * 10, logs_truncated=True)
    case = task_case(task("p", "SUCCESS"), output, FOLDER)
    assert case.system_out.startswith("Logs (end):\nline\nline")


def test_run_suite_is_named_after_the_run_in_task_order() -> None:
    """One suite per run, named after it, cases in the run's task order."""
    run = jobs.Run(run_id=5, run_name="dbcicd demo [x]", start_time=1_700_000_000_000)
    run.tasks = [task("b", "SUCCESS"), task("a", "FAILED")]
    suite = run_suite(run, {}, FOLDER)
    assert suite.name == "dbcicd demo [x]" and [c.name for c in suite.cases] == ["b", "a"]
    assert suite.timestamp is not None and suite.timestamp.year == 2023


def test_notebook_files_are_renamed_and_bad_ones_become_failed_cases() -> None:
    """Good files get suites prefixed with the task key; unreadable or malformed ones a failed case naming them."""
    files = [
        ResultFile("unit", "/Workspace/r/unit/pytest.xml", b"<testsuites><testsuite name='pytest'/></testsuites>"),
        ResultFile("unit", "/Workspace/r/unit/broken.xml", b"<testsuite"),
        ResultFile("io", "dbfs:/r/io/x.xml", error="Could not read dbfs:/r/io/x.xml: permission denied"),
    ]
    results = notebook_results(files)
    [(file, root)] = results.documents
    assert file.path.endswith("pytest.xml") and root.find("testsuite").get("name") == "unit.pytest"  # type: ignore[union-attr]
    broken, unreadable = results.problems
    assert (broken.name, broken.classname, broken.outcome) == (
        "unit: broken.xml",
        "/Workspace/r/unit/broken.xml",
        FAILED,
    )
    assert broken.message.startswith("/Workspace/r/unit/broken.xml is not valid JUnit XML: not well-formed XML")
    assert unreadable.message == "Could not read dbfs:/r/io/x.xml: permission denied"
