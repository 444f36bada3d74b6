"""The issues a failed step shows on the build's summary page, where the agent keeps the first 10 errors and the
first 10 warnings of a step (azure-pipelines-agent ExecutionContext.cs, modelled by tools/localagent.py): the step's
verdict first, then the first failures, then how many more there are — never a silent cut."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from dbcicd.azdo.logging_commands import CommandWriter
from localagent import MAX_ISSUES, StepRecord, step_record
from task_harness import Agent

HEADER = "# Databricks notebook source\n"
FAILING = 14  # more failed notebooks than the agent keeps issues


def test_fourteen_failed_notebooks_show_the_verdict_the_first_failures_and_how_many_more(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any]
) -> None:
    files = {f"tests/test_{n:02}.py": HEADER + f"raise ValueError('check {n:02} failed')\n" for n in range(FAILING)}
    remote = make_remote(files)
    sha = remote.commit({"README.md": "issues"}, "build")
    variables = {"Build.Repository.Uri": remote.url, "Build.SourceBranch": "refs/heads/main"}
    variables["Build.SourceVersion"] = sha
    run = agent.run({"command": "test", "gitProvider": "gitHub", "notebooks": "tests/test_*"}, variables)

    assert run.result == "Failed"
    record = run.record
    assert record.error_count <= MAX_ISSUES, f"the agent dropped {record.error_count - MAX_ISSUES}: {record.errors}"
    verdict, *failures, more, entry = record.errors
    assert verdict.startswith("Run ") and " FAILED: tests_test_00: FAILED" in verdict
    assert [f"check {n:02} failed" in failure for n, failure in enumerate(failures)] == [True] * len(failures)
    assert more == f"and {FAILING - len(failures)} more errors: see the summary and the log"
    assert entry == "The Databricks run or its tests failed; see the errors above."
    held = [line for line in record.log if line.startswith("##[error]tests_test_")]
    assert len(held) == FAILING  # every failure is in the log, as an issue or as the agent's error line


def as_the_agent_records(kind: str, count: int) -> StepRecord:
    """`count` issues of `kind` sent through the core's writer, ended as a step ends, read as the agent reads them."""
    stream = io.StringIO()
    writer = CommandWriter(stream)
    for n in range(count):
        writer.issue(kind, f"{kind} {n}")
    writer.end_issues()
    return step_record(stream.getvalue(), 0, [])


def test_warnings_past_the_cap_end_with_how_many_more() -> None:
    """Twelve warnings: nine as issues, then one saying how many more there were; all twelve in the log."""
    record = as_the_agent_records("warning", 12)
    assert record.warnings == [*(f"warning {n}" for n in range(9)), "and 3 more warnings: see the log"]
    assert record.warning_count == MAX_ISSUES
    assert [line for line in record.log if line.startswith("##[warning]warning ")] == [
        f"##[warning]warning {n}" for n in range(12)
    ]


def test_one_issue_past_the_budget_is_sent_itself() -> None:
    """Nine errors (one more than the core sends before the end, leaving the Node entry its own): all nine kept."""
    assert as_the_agent_records("error", 9).errors == [f"error {n}" for n in range(9)]
