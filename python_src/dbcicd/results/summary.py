"""The Markdown summary of a run: the verdict, a table of tasks (state, duration, link), the tests the notebooks
wrote, and the first lines of every error. Shown as a tab of the pipeline run (`task.uploadsummary`) and kept as a
file outside pipelines.
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass

from databricks.sdk.service import jobs

from ..output import task_seconds, task_state
from .coverage import Coverage
from .junit import FAILED, Case, Tally, case_title, failed_cases, failure_message
from .rendered import RenderedPage, size_text

ICONS = {"SUCCESS": "✅", "SUCCESS_WITH_FAILURES": "✅", "EXCLUDED": "⏭️", "UPSTREAM_FAILED": "⏭️",
         "UPSTREAM_CANCELED": "⏭️", "DISABLED": "⏭️"}  # fmt: skip
FAILED_ICON = "❌"
TRACE_LINES = 8
MAX_FAILED_TESTS_LISTED = 20


@dataclass(frozen=True)
class NotebookFile:
    """One JUnit file a notebook wrote, as the summary lists it."""

    task_key: str
    path: str
    tally: Tally
    root: ET.Element


def markdown(
    run: jobs.Run,
    cases: list[Case],
    files: list[NotebookFile],
    problems: list[Case],
    verdict: str,
    details: dict[str, str],
    attempts: Mapping[str, tuple[int, int]] | None = None,
    rerun: str = "",
) -> str:
    """The whole summary. `details` are extra facts for the header line, e.g. {"Git folder": "/Repos/ci/x"}.
    After a re-run of what failed, `attempts` gives each task's (job attempt, run id) and `rerun` what it did."""
    state = task_state(run)
    lines = [f"## Databricks run {run.run_id}: {state}", ""]
    title = _cell(run.run_name or f"run {run.run_id}")
    header = [f"[{title}]({run.run_page_url})" if run.run_page_url else title]
    header += [f"{name} `{_code(value)}`" for name, value in details.items() if value]
    lines += [" · ".join(header), "", _cell(verdict), ""]
    if rerun:
        lines += [f"Re-run of what failed: {_cell(rerun)}", ""]
    lines += _task_table(run, cases, attempts or {})
    if files or problems:
        lines += _notebook_tests(files, problems)
    failed = [case for case in cases if case.outcome == FAILED]
    if failed:
        lines += ["", "### Errors", ""]
        for case in failed:
            lines += [f"**{_cell(case.name)}** ({_cell(case.classname)}): {_cell(case.message)}", ""]
            lines += [*_fenced(_last_lines(case.text, TRACE_LINES)), ""]
    return "\n".join(lines).rstrip() + "\n"


def _task_table(run: jobs.Run, cases: list[Case], attempts: Mapping[str, tuple[int, int]]) -> list[str]:
    by_key = {case.name: case for case in cases}
    rows = ["| Task | Source | State | Duration | Run |", "| --- | --- | --- | --- | --- |"]
    if attempts:
        rows = ["| Task | Source | State | Duration | Run | Attempt |", "| --- | --- | --- | --- | --- | --- |"]
    for task in run.tasks or []:
        key = task.task_key or str(task.run_id)
        case = by_key.get(key)
        state = task_state(task)
        link = f"[open]({task.run_page_url})" if task.run_page_url else ""
        source = _cell(case.classname) if case else ""
        attempt = f" {_attempt_cell(attempts[key], run.run_id)} |" if key in attempts else (" |" if attempts else "")
        rows.append(
            f"| {_cell(key)} | {source} | {ICONS.get(state, FAILED_ICON)} {state} | {task_seconds(task):.1f} s "
            f"| {link} |{attempt}"
        )
    return rows


def _attempt_cell(attempt: tuple[int, int], run_id: int | None) -> str:
    """The job attempt that produced a task's result: "2 (re-run)", or "1 (run 123)" for a result kept."""
    number, produced_by = attempt
    return f"{number} (re-run)" if produced_by == run_id else f"{number} (run {produced_by})"


def _notebook_tests(files: list[NotebookFile], problems: list[Case]) -> list[str]:
    total = sum((f.tally for f in files), Tally(failed=len(problems)))
    lines = ["", "### Tests written by notebooks", ""]
    lines += [f"{total.passed} passed, {total.failed} failed, {total.skipped} skipped", ""]
    lines += ["| Task | File | Passed | Failed | Skipped |", "| --- | --- | --- | --- | --- |"]
    for f in files:
        name = _cell(posixpath.basename(f.path))
        lines.append(f"| {_cell(f.task_key)} | {name} | {f.tally.passed} | {f.tally.failed} | {f.tally.skipped} |")
    for case in problems:
        lines.append(f"| {_cell(case.name.partition(':')[0])} | {_cell(case.message)} | | {FAILED_ICON} | |")
    failing = [(f.task_key, case) for f in files for case in failed_cases(f.root)]
    if failing:
        lines += ["", "Failed tests:", ""]
        for task_key, case in failing[:MAX_FAILED_TESTS_LISTED]:
            lines.append(f"- {_cell(task_key)}: `{_code(case_title(case))}` {_cell(failure_message(case))}")
        if len(failing) > MAX_FAILED_TESTS_LISTED:
            lines.append(f"- and {len(failing) - MAX_FAILED_TESTS_LISTED} more (see the Tests tab)")
    return lines


def _cell(text: str) -> str:
    """Text safe inside a table cell or a line: one line, no table or HTML syntax."""
    one_line = " ".join(text.split())
    return one_line.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    return " ".join(text.split()).replace("`", "'")


def _last_lines(text: str, count: int) -> str:
    lines = text.rstrip().splitlines()
    shown = lines[-count:]
    return "\n".join((["..."] if len(lines) > count else []) + shown)


def _fenced(text: str) -> list[str]:
    """A code block whose fence is longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, text, fence]


def pages_section(pages: list[RenderedPage], where: str) -> str:
    """The rendered notebooks: where the pages are (`where`: the build artifact, or why not), and which were cut or
    not exported."""
    if not pages:
        return ""
    lines = ["", "### Rendered notebooks", ""]
    if where:
        lines += [_cell(where), ""]
    for page in pages:
        if page.error:
            lines.append(f"- {_cell(page.task_key)}: not exported: {_cell(page.error)}")
            continue
        cut = f" — cut to {size_text(page.kept_bytes)} of {size_text(page.full_bytes)}" if page.cut else ""
        lines.append(f"- {_cell(page.task_key)}: `{_code(page.file_name)}` ({_cell(page.notebook)}){cut}")
    return "\n".join(lines) + "\n"


def coverage_note(earlier: list[str]) -> str:
    """What becomes of a published report: a build shows one (report.py's docstring)."""
    merged = f" This one includes the coverage published earlier in this job ({', '.join(earlier)})." if earlier else ""
    return (
        f"A build shows one coverage report.{merged} A later publish in this build (another step or job, "
        "PublishCodeCoverageResults, a re-run of the job) replaces it."
    )


def coverage_section(coverage: Coverage | None, published: bool = True, earlier: list[str] | None = None) -> str:
    """The merged coverage in one line; whether the Code Coverage tab shows it (build pipelines only), with the
    earlier steps' reports it includes and what a later publish in the build does (report.py's docstring)."""
    if coverage is None or not coverage.files:
        return ""
    lines = ["", "### Code coverage", ""]
    where = "see the Code Coverage tab" if published else "not published (build pipelines only)"
    lines.append(
        f"{100 * coverage.line_rate:.1f}% of lines ({coverage.lines_covered} of {coverage.lines_valid}) in "
        f"{len(coverage.files)} files, from {coverage.reports} report(s): {where}."
    )
    if published:
        lines += ["", _cell(coverage_note(earlier or []))]
    return "\n".join(lines) + "\n"
