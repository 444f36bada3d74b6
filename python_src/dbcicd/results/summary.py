"""The Markdown summary of a run: the verdict, a table of tasks (state, duration, link), the tests the notebooks
wrote, and the first lines of every error. Shown as a tab of the pipeline run (`task.uploadsummary`), posted as a
pull-request comment when asked, and kept as a file outside pipelines.

Text, not markup: whatever a run produced (task keys, errors, traces, test names, messages, notebook paths) is shown
as text — one line in a code span (`_code`, `_cell` in a table), several lines in a fenced code block (`_fenced`) —
where neither Markdown nor HTML is read, and which no renderer turns into a link (CommonMark 0.31, "Code spans" and
"Fenced code blocks": their contents are literal text; GFM's "Autolinks (extension)" applies to text outside code).
Each span's backtick string is longer than any run of backticks inside it, and a table cell's `|` is escaped, since
GFM splits cells at `|` before reading code spans ("Tables (extension)"). The only links are the ones dbcicd makes:
the run pages Databricks gave, and only `https:` or `http:` ones.
"""

from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from databricks.sdk.service import jobs

from ..output import NOT_STARTED, task_seconds, task_state
from .coverage import Coverage
from .junit import FAILED, Case, Tally, case_title, failed_cases, failure_message
from .rendered import RenderedPage, size_text

ICONS = {"SUCCESS": "✅", "SUCCESS_WITH_FAILURES": "✅", "EXCLUDED": "⏭️", "UPSTREAM_FAILED": "⏭️",
         "UPSTREAM_CANCELED": "⏭️", "DISABLED": "⏭️", NOT_STARTED: "⏭️"}  # fmt: skip
FAILED_ICON = "❌"
TRACE_LINES = 8
MAX_FAILED_TESTS_LISTED = 20
_URL_SAFE = "/:?#[]@!$&'*+,;=%-._~"  # RFC 3986's reserved and unreserved characters but ( ): kept as they are


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
    title = f"Databricks run {run.run_id}: {state}" if run.run_id is not None else "Databricks run not started"
    lines = [f"## {title}", ""]
    header = [_link(_code(run.run_name or f"run {run.run_id}"), run.run_page_url)]
    header += [f"{name} {_code(value)}" for name, value in details.items() if value]
    lines += [" · ".join(header), "", _code(verdict), ""]
    if rerun:
        lines += [f"Re-run of what failed: {_code(rerun)}", ""]
    lines += _task_table(run, cases, attempts or {})
    if files or problems:
        lines += _notebook_tests(files, problems)
    failed = [case for case in cases if case.outcome == FAILED]
    if failed:
        lines += ["", "### Errors", ""]
        for case in failed:
            lines += [f"**{_code(case.name)}** ({_code(case.classname)}): {_code(case.message)}", ""]
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
        link = _link("open", task.run_page_url) if _is_web_url(task.run_page_url) else ""
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
            lines.append(f"- {_code(task_key)}: {_code(case_title(case))} {_code(failure_message(case))}")
        if len(failing) > MAX_FAILED_TESTS_LISTED:
            lines.append(f"- and {len(failing) - MAX_FAILED_TESTS_LISTED} more (see the Tests tab)")
    return lines


def _code(text: str) -> str:
    """Untrusted text on one line as a code span, shown as it is: its delimiter is longer than any run of backticks
    in it, and a space pads a text that begins or ends with a backtick (CommonMark strips one each side)."""
    one_line = " ".join(text.split())
    if not one_line:
        return ""
    longest = max((len(run) for run in re.findall(r"`+", one_line)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {one_line} " if one_line.startswith("`") or one_line.endswith("`") else one_line
    return f"{fence}{padded}{fence}"


def _cell(text: str) -> str:
    """`_code` for a table cell, its `|` escaped (GFM reads `\\|` as `|` inside a cell's code span too)."""
    return _code(text).replace("|", "\\|")


def _is_web_url(url: str | None) -> bool:
    return bool(url) and urlsplit(url or "").scheme in ("https", "http")


def _link(text: str, url: str | None) -> str:
    """A link dbcicd makes (to a run page Databricks gave); `text` alone when the URL is not a web address. Spaces,
    parentheses and angle brackets are percent-encoded so the URL cannot end the link early."""
    if not _is_web_url(url):
        return text
    return f"[{text}]({quote(url or '', safe=_URL_SAFE)})"


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
        lines += [where, ""]  # dbcicd's own sentence
    for page in pages:
        if page.error:
            lines.append(f"- {_code(page.task_key)}: not exported: {_code(page.error)}")
            continue
        cut = f" — cut to {size_text(page.kept_bytes)} of {size_text(page.full_bytes)}" if page.cut else ""
        lines.append(f"- {_code(page.task_key)}: {_code(page.file_name)} ({_code(page.notebook)}){cut}")
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


def deployed_markdown(title: str, jobs: list[tuple[str, str, str]]) -> str:
    """What a bundle deploy deployed: a table of its jobs (resource key, name as deployed, a link to the job made
    from the workspace's URL and the job's id). Keys and names come from the bundle: shown as code, never as markup."""
    lines = [f"## {_code(title)}", ""]
    if not jobs:
        return "\n".join([*lines, "No jobs deployed.", ""])
    lines += ["| Resource key | Job |", "| --- | --- |"]
    lines += [f"| {_cell(key)} | {_link(_cell(name) or key, url)} |" for key, name, url in jobs]
    return "\n".join([*lines, ""])
