"""The report of an Outcome: files, logging commands, summary, output variables and verdict, without a server."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from databricks.sdk.service import jobs

from azdo_agent import commands, groups
from dbcicd.azdo.logging_commands import CommandWriter
from dbcicd.results.collect import ResultFile
from dbcicd.results.report import Report, ReportSettings, publish
from dbcicd.results.variables import exit_value_variables
from dbcicd.steps.commands import Outcome
from junit_reader import by_title

FOLDER = "/Repos/ci/demo"
PYTEST_XML = b"""<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="2">
<testcase classname="test_math" name="test_add" time="0.01"/>
<testcase classname="test_math" name="test_sub" time="0.02">
<failure message="AssertionError: 0 != 1">trace</failure></testcase>
</testsuite></testsuites>"""


def task(key: str, result: str, life: str = "TERMINATED") -> jobs.RunTask:
    return jobs.RunTask.from_dict(
        {
            "task_key": key,
            "run_id": len(key),
            "state": {"life_cycle_state": life, "result_state": result},
            "notebook_task": {"notebook_path": f"{FOLDER}/tests/{key}"},
            "run_page_url": f"https://adb.example/run/{key}",
            "execution_duration": 1500,
        }
    )


def exit_with(value: str) -> jobs.RunOutput:
    return jobs.RunOutput(notebook_output=jobs.NotebookOutput(result=value))


def outcome(*tasks: jobs.RunTask, outputs: dict[str, jobs.RunOutput] | None = None, **fields: object) -> Outcome:
    state = (
        "SUCCESS" if all(t.state and t.state.result_state == jobs.RunResultState.SUCCESS for t in tasks) else "FAILED"
    )
    run = jobs.Run.from_dict(
        {
            "run_id": 99,
            "run_name": "dbcicd demo [abc]",
            "run_page_url": "https://adb.example/run/99",
            "state": {"life_cycle_state": "TERMINATED", "result_state": state},
        }
    )
    run.tasks = list(tasks)
    done = Outcome("test", success=state == "SUCCESS", message=f"Run 99 {state}", run=run, base_folder=FOLDER)
    done.task_outputs = outputs or {}
    done.outputs = {"runId": "99", "resultState": state, "repoPath": FOLDER, "headCommit": "0123456789abcdef"}
    for name, value in fields.items():
        setattr(done, name, value)
    return done


def in_agent(done: Outcome, tmp_path: Path, **settings: object) -> tuple[Report, str]:
    stream = io.StringIO()
    report = publish(done, ReportSettings(tmp_path / "results", **settings), CommandWriter(stream), stream)  # type: ignore[arg-type]
    return report, stream.getvalue()


def variables_of(stdout: str) -> dict[str, str]:
    found = commands(stdout, "task.setvariable")
    assert all(c.properties["isoutput"] == "true" for c in found)
    return {c.properties["variable"]: c.data for c in found}


def test_json_exit_values_become_variables_per_key() -> None:
    """Scalar keys of a JSON-object exit value become notebookOutput_<task>_<key>; nested values are left out."""
    run = jobs.Run(run_id=1, tasks=[task("train", "SUCCESS"), task("eval-2", "SUCCESS"), task("plain", "SUCCESS")])
    outputs = {
        "train": exit_with('{"promote": true, "auc": 0.91, "model name": "m-1", "note": null, "nested": {"a": 1}}'),
        "eval-2": exit_with('{"ok": "yes"}'),
        "plain": exit_with("just text"),
    }
    assert exit_value_variables(run, outputs) == {
        "notebookOutput_train_promote": "true",
        "notebookOutput_train_auc": "0.91",
        "notebookOutput_train_model_name": "m-1",
        "notebookOutput_train_note": "",
        "notebookOutput_eval_2_ok": "yes",
    }


def test_single_task_run_also_gets_short_names() -> None:
    """With one task, each key is also notebookOutput_<key>, so a gate reads notebookOutput_promote."""
    run = jobs.Run(run_id=1, tasks=[task("train", "SUCCESS")])
    variables = exit_value_variables(run, {"train": exit_with('{"promote": false}')})
    assert variables == {"notebookOutput_train_promote": "false", "notebookOutput_promote": "false"}


def test_agent_gets_groups_issues_results_summary_and_variables(tmp_path: Path) -> None:
    """A failed run: one group per task, an issue with the run page, results.publish, the summary, the variables."""
    done = outcome(
        task("ok", "SUCCESS"),
        task("bad", "FAILED"),
        task("later", "UPSTREAM_FAILED", "SKIPPED"),
        outputs={
            "ok": exit_with('{"promote": true}'),
            "bad": jobs.RunOutput(error="ValueError: no", error_trace="Tb\nValueError: no"),
        },
    )
    report, out = in_agent(done, tmp_path, test_run_title="Notebook tests")
    assert not report.success
    assert list(groups(out)) == ["ok: SUCCESS (1.5 s)", "bad: FAILED (1.5 s)", "later: UPSTREAM_FAILED (1.5 s)"]
    assert groups(out)["bad: FAILED (1.5 s)"] == [
        "Source: tests/bad", "Run page: https://adb.example/run/bad", "Error: ValueError: no", "Tb", "ValueError: no"
    ]  # fmt: skip
    verdict, issue = commands(out, "task.logissue")  # the verdict first: the agent keeps the first 10 errors
    assert verdict.properties["type"] == issue.properties["type"] == "error"
    assert verdict.data == report.message
    assert issue.data == "bad FAILED (https://adb.example/run/bad): ValueError: no"
    [published] = commands(out, "results.publish")
    assert published.properties == {
        "type": "JUnit",
        "runtitle": "Notebook tests",
        "mergeresults": "true",
        "publishrunattachments": "true",
        "failtaskonfailedtests": "true",
        "resultfiles": str(tmp_path / "results" / "dbcicd-run-99.xml"),
    }
    assert by_title(Path(published.properties["resultfiles"]))["later"].outcome == "NotExecuted"
    [summary] = commands(out, "task.uploadsummary")
    # The agent titles the summary's section with the file's name (TaskUploadSummaryCommand, Path.GetFileName).
    assert Path(summary.data).name == "Databricks run 99.md"
    assert Path(summary.data).is_absolute() and "| `bad` | `tests/bad` | ❌ FAILED |" in Path(summary.data).read_text()
    variables = variables_of(out)
    assert variables["runId"] == "99" and variables["notebookOutput_ok_promote"] == "true"
    assert out.index("##[endgroup]") < out.index("##vso[results.publish")


def test_failed_notebook_tests_fail_the_step_unless_told_not_to(tmp_path: Path) -> None:
    """A succeeded run whose notebook-written tests failed fails with failOnTestFailure, and passes without it."""
    files = [ResultFile("ok", f"/Workspace{FOLDER}/.dbcicd/results/t/ok/pytest.xml", PYTEST_XML)]
    report, out = in_agent(outcome(task("ok", "SUCCESS"), result_files=files), tmp_path)
    assert not report.success
    # The headline leads with what failed the step, beside resultState SUCCESS.
    assert report.message == "1 of 2 tests written by notebooks failed; the run's own tasks succeeded (Run 99 SUCCESS)"
    assert [c.data for c in commands(out, "task.logissue")] == [
        report.message,
        "ok: test test_math.test_sub failed: AssertionError: 0 != 1",
    ]
    published = commands(out, "results.publish")[0].properties["resultfiles"].split(",")
    assert [Path(p).name for p in published] == ["dbcicd-run-99.xml", "dbcicd-run-99-ok-1-pytest.xml"]
    assert by_title(Path(published[1]))["test_sub"].suite == "ok.pytest"

    lenient, out = in_agent(outcome(task("ok", "SUCCESS"), result_files=files), tmp_path, fail_on_test_failure=False)
    assert lenient.success
    assert lenient.message == (
        "Run 99 SUCCESS; 1 of 2 tests written by notebooks failed, which does not fail the step (failOnTestFailure "
        "is off)"
    )
    assert commands(out, "results.publish")[0].properties["failtaskonfailedtests"] == "false"


def test_publish_test_results_off_writes_no_junit(tmp_path: Path) -> None:
    """publishTestResults=false: no JUnit and no results.publish, the summary and variables still."""
    files = [ResultFile("ok", "/Workspace/x/pytest.xml", PYTEST_XML)]
    report, out = in_agent(outcome(task("ok", "SUCCESS"), result_files=files), tmp_path, publish_test_results=False)
    assert report.success and report.junit_files == []
    assert commands(out, "results.publish") == [] and commands(out, "task.uploadsummary")


def test_summary_escapes_what_tasks_print(tmp_path: Path) -> None:
    """Errors cannot break the table or the code block, or inject HTML: they are code, shown as text."""
    trace = "```\nValueError: a|b <script>\n```"
    done = outcome(
        task("bad", "FAILED"), outputs={"bad": jobs.RunOutput(error="ValueError: a|b <script>", error_trace=trace)}
    )
    report, _ = in_agent(done, tmp_path)
    assert report.summary_file is not None
    text = report.summary_file.read_text()
    assert "**`bad`** (`tests/bad`): `ValueError: a|b <script>`" in text
    assert "````\n```\nValueError: a|b <script>\n```\n````" in text
    assert "Git folder `/Repos/ci/demo` · at `0123456789ab`" in text


def test_console_report_names_failures_and_files(tmp_path: Path) -> None:
    """Outside a pipeline: a tally, each failure with its error and trace end, and where the files are."""
    files = [ResultFile("ok", "/Workspace/x/pytest.xml", PYTEST_XML), ResultFile("ok", "/Workspace/x/bad.xml", b"<")]
    error = jobs.RunOutput(error="KeyError: 'x'", error_trace="Traceback\n  line 1\nKeyError: 'x'")
    done = outcome(task("ok", "SUCCESS"), task("bad", "FAILED"), result_files=files, outputs={"bad": error})
    stream = io.StringIO()
    report = publish(done, ReportSettings(tmp_path), None, stream)
    lines = stream.getvalue().splitlines()
    assert lines[:4] == [
        "Tasks: 1 passed, 1 failed, 0 skipped",
        "  FAILED bad (tests/bad): KeyError: 'x'",
        "      Traceback",
        "        line 1",
    ]
    assert "Tests written by notebooks: 1 passed, 2 failed, 0 skipped" in lines
    assert "  FAILED ok: test_math.test_sub: AssertionError: 0 != 1" in lines  # the assertion, not only the id
    assert f"Summary: {report.summary_file}" in lines and not any("##vso" in line for line in lines)


@pytest.mark.parametrize("command", ["repo", "cleanup"])
def test_commands_without_a_run_only_set_variables(tmp_path: Path, command: str) -> None:
    """repo and cleanup have no run: variables only, no files."""
    done = Outcome(command, message="done", outputs={"repoId": "7", "repoPath": FOLDER, "headCommit": "abc"})
    report, out = in_agent(done, tmp_path)
    assert report.success and report.summary_file is None and not (tmp_path / "results").exists()
    assert [c.name for c in commands(out) if c.name != "task.setsecret"] == ["task.setvariable"] * 3


def test_unwritable_results_fail_the_step_but_keep_the_variables(tmp_path: Path) -> None:
    """When the files cannot be written the step fails saying where, and the output variables are still set."""
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    stream = io.StringIO()
    report = publish(outcome(task("ok", "SUCCESS")), ReportSettings(blocked / "results"), CommandWriter(stream), stream)
    assert not report.success and report.summary_file is None
    assert report.message.startswith(f"Run 99 SUCCESS; the results could not be written to {blocked / 'results'}: ")
    assert commands(stream.getvalue(), "task.uploadsummary") == commands(stream.getvalue(), "results.publish") == []
    assert variables_of(stream.getvalue())["runId"] == "99"
