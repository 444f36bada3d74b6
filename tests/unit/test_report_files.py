"""What the report keeps: a notebook's JUnit file without test cases is never a pass, and outside a pipeline the
results folder holds the last run's files only."""

from __future__ import annotations

import io
from pathlib import Path

from test_azdo_report import FOLDER, PYTEST_XML, outcome, task

from azdo_agent import commands
from dbcicd.azdo.logging_commands import CommandWriter
from dbcicd.results.collect import ResultFile
from dbcicd.results.report import ReportSettings, publish

EMPTY_XML = b'<?xml version="1.0"?><testsuites><testsuite name="pytest" tests="0" errors="0"/></testsuites>'
EMPTY = [ResultFile("ok", f"/Workspace{FOLDER}/.dbcicd/results/t/ok/pytest.xml", EMPTY_XML)]


def test_no_test_cases_fail_the_step_with_fail_on_test_failure(tmp_path: Path) -> None:
    stream = io.StringIO()
    report = publish(outcome(task("ok", "SUCCESS"), result_files=EMPTY), ReportSettings(tmp_path), None, stream)
    assert not report.success
    assert report.message.startswith("1 of 1 test written by notebooks failed")
    assert "  FAILED ok wrote /Workspace/Repos/ci/demo/.dbcicd/results/t/ok/pytest.xml with no test cases" in (
        stream.getvalue()
    )


def test_no_test_cases_are_a_warning_without_it(tmp_path: Path) -> None:
    stream = io.StringIO()
    settings = ReportSettings(tmp_path, fail_on_test_failure=False)
    report = publish(outcome(task("ok", "SUCCESS"), result_files=EMPTY), settings, CommandWriter(stream), stream)
    assert report.success
    [warning] = [c for c in commands(stream.getvalue(), "task.logissue") if c.properties["type"] == "warning"]
    assert "with no test cases: did pytest collect nothing?" in warning.data


def test_the_console_folder_keeps_one_run(tmp_path: Path) -> None:
    files = [ResultFile("ok", "/Workspace/x/pytest.xml", PYTEST_XML)]
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "dbcicd-run-40-summary.md").write_text("a run before the summary was renamed")
    earlier = tmp_path / "Databricks run 41.md"
    earlier.write_text("an earlier run")
    (tmp_path / "Databricks run notes.md").write_text("mine")
    settings = ReportSettings(tmp_path, only_this_run=True)
    report = publish(outcome(task("ok", "SUCCESS"), result_files=files), settings, None, io.StringIO())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["notes.txt", "Databricks run notes.md", *(p.name for p in report.junit_files), "Databricks run 99.md"]
    )


def test_a_pipeline_keeps_earlier_steps_files(tmp_path: Path) -> None:
    earlier = tmp_path / "dbcicd-run-41.xml"
    earlier.write_text("<testsuites/>")
    publish(outcome(task("ok", "SUCCESS")), ReportSettings(tmp_path), CommandWriter(io.StringIO()), io.StringIO())
    assert earlier.exists()
