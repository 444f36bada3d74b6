"""The one place that turns a command's Outcome into what the user gets back: files, log, variables, verdict.

Files (in `ReportSettings.directory`): `dbcicd-run-<id>.xml` (one test case per task, plus a failed case per result
file that could not be read), `dbcicd-run-<id>-<task>-<n>-<name>.xml` per JUnit file a notebook wrote (suites
renamed `<task>.<suite>`), `dbcicd-run-<id>-notebooks/<task>.html`, the rendered page of each notebook task
`exportNotebooks` asks for (rendered.py), `dbcicd-run-<id>-coverage/` with the merged Cobertura report of what the
notebooks measured (coverage.py), and `Databricks run <id>.md`, the summary: the agent titles its section of the run's
summary page with the file's name (azure-pipelines-agent, src/Agent.Worker/TaskCommandExtension.cs,
TaskUploadSummaryCommand: `Path.GetFileName(data)` as the attachment's name), so the name is what a reader sees; the
run id keeps the summaries of different steps apart.

In a pipeline (logging commands): a log group per task with its output and error, an issue per failure with the
run page, `results.publish` of every JUnit file, `artifact.upload` of the rendered pages,
`codecoverage.publish` of the coverage, `task.uploadsummary`, and every output variable with `isoutput=true`.

Rendered pages go to the build as an artifact, `dbcicd-run-<id>-notebooks`: the run's Artifacts list it, a
person browses it there and downloads a page to open it (azure-pipelines-agent, src/Agent.Worker/Build/
ArtifactCommandExtension.cs, ArtifactUploadCommand: a folder uploaded to the build's container under the artifact's
name). `task.addattachment` was the other way: it only queues a timeline attachment (TaskCommandExtension.cs,
TaskAddAttachmentCommand: `QueueAttachFile`) that the web pages show only when an extension contributes a view of
that attachment type. The summary lists every page, and a failed task's test case names its page at the end of its
stack trace, which the Tests tab shows (azure-pipelines-agent src/Agent.Worker/TestResults/Legacy/JunitResultReader.cs:
a failure's message and text become the result's ErrorMessage and StackTrace, `system-out` only a console log
attachment of failed cases, and `[[ATTACHMENT|<path>]]` markers nothing: the flag that once passed them on to the
parser was removed in eda24ce5a).

After a re-run of what failed, a task kept from an earlier attempt is a test case Not executed, its message naming the
attempt and run its result is from: a passed case keeps nothing but its name in the Tests tab, while a skipped one's
message is its ErrorMessage (JunitResultReader.cs: `skipped` -> NotExecuted, `message` -> ErrorMessage).
Coverage: `codecoverage.publish` as PublishCodeCoverageResults@1 emits it (azure-pipelines-tasks,
Tasks/PublishCodeCoverageResultsV1: `ccPublisher.publish(tool, summaryFile, reportDirectory, ...)`); the agent
(src/Agent.Worker/CodeCoverage/CodeCoverageCommands.cs) reads the summary's totals for the Code Coverage tab and
uploads the report folder as an artifact, showing its index.html in the tab when there is one. A build has one
coverage report: the agent sends the totals as the build's summary (CodeCoverageServer.cs,
UpdateCodeCoverageSummaryAsync for the build id) and names the artifact `Code Coverage Report_<build id>` whatever
step publishes it (GetCoverageDirectoryName), so a later publish in the build takes the place of an earlier one. So
the report a step publishes includes the coverage that earlier steps of the same job published (their reports are
still in the job's results folder), and the summary says so and what a later publish does.
Elsewhere: a short console report naming the failures and the files.

With `rest` settings (azdo_rest.py), the test cases also go to Azure DevOps as a test run through its REST API,
and a pull request gets a status and the summary as a comment.

The verdict: the command's own, and failed when notebook-written tests failed while `failOnTestFailure` is on, or
when results could not be written or published.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..azdo.host_types import accepts
from ..azdo.logging_commands import CommandWriter
from ..azdo.rest import RestSettings, publish_results
from ..options.build import variable
from ..output import counted, task_seconds, task_state
from ..secrets import redact
from ..untrusted import untrusted_text
from .cases import NotebookResults, notebook_results, problem_case, run_suite
from .collect import ResultFile
from .coverage import Coverage, is_cobertura, merge, write_cobertura, write_index
from .junit import (
    FAILED,
    PASSED,
    SKIPPED,
    Case,
    Suite,
    Tally,
    case_title,
    failed_cases,
    failure_message,
    suites_element,
    tally,
    write_document,
)
from .rendered import RenderedPage
from .summary import NotebookFile, coverage_note, coverage_section, markdown, pages_section
from .variables import within_limits

if TYPE_CHECKING:
    from databricks.sdk.service.jobs import Run

    from ..options.parse import Options
    from ..steps.bundlediag import Issue
    from ..steps.commands import Outcome

DEFAULT_DIRECTORY = "dbcicd-results"
CONSOLE_TRACE_LINES = 8
MAX_TEST_ISSUES = 10
_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
NOT_STARTED_PREFIX = "not-started-"  # the files of a run Databricks refused to start (`run_file_id`)


@dataclass(frozen=True)
class ReportSettings:
    """Where files go, and the `Results` inputs of the task."""

    directory: Path
    publish_test_results: bool = True
    test_run_title: str = ""
    fail_on_test_failure: bool = True
    # Outside a pipeline the directory holds one run's files: a person reads it, and nothing has uploaded them.
    # In a pipeline a previous step's files may still be uploading, and the agent empties the folder after the job.
    only_this_run: bool = False
    sources_directory: str = ""  # the agent's checkout (Build.SourcesDirectory): coverage names files from it
    host_type: str = ""  # System.HostType: the agent uploads pages and publishes coverage in build pipelines only

    @property
    def uploads_pages(self) -> bool:
        return accepts("artifact.upload", self.host_type)

    @property
    def publishes_coverage(self) -> bool:
        return accepts("codecoverage.publish", self.host_type)

    @classmethod
    def from_options(cls, options: Options, directory: Path, only_this_run: bool = False) -> ReportSettings:
        return cls(
            directory=directory,
            publish_test_results=options.publish_test_results,
            test_run_title=options.test_run_title,
            fail_on_test_failure=options.fail_on_test_failure,
            only_this_run=only_this_run,
            sources_directory=options.build.sources_directory,
            host_type=options.build.host_type,
        )


def task_report_directory(variables: Mapping[str, str], environ: Mapping[str, str]) -> Path:
    """In a pipeline task: under `Agent.TempDirectory`, which the agent empties after every job."""
    temp = variable(variables, "Agent.TempDirectory") or environ.get("AGENT_TEMPDIRECTORY", "")
    return Path(temp or tempfile.gettempdir()) / DEFAULT_DIRECTORY


@dataclass
class Report:
    success: bool
    message: str
    variables: dict[str, str]
    junit_files: list[Path] = field(default_factory=list)
    summary_file: Path | None = None
    summary: str = ""
    task_tally: Tally = field(default_factory=Tally)
    notebook_tally: Tally = field(default_factory=Tally)
    warnings: list[str] = field(default_factory=list)
    pages_dir: Path | None = None  # the rendered pages, uploaded as the artifact `pages_artifact`
    pages_artifact: str = ""
    coverage_earlier: list[str] = field(default_factory=list)  # earlier reports of this job merged into this one
    coverage_file: Path | None = None
    coverage_dir: Path | None = None


def publish(
    outcome: Outcome,
    settings: ReportSettings,
    writer: CommandWriter | None,
    stream: TextIO,
    rest: RestSettings | None = None,
) -> Report:
    """Write the files and tell the agent (`writer`) or the console (`stream`) about them; returns the verdict."""
    report, suite, notebooks = _build(outcome, settings)
    if rest is not None and outcome.run is not None and suite is not None:
        documents = [suites_element(_suites(suite, notebooks)), *(root for _, root in notebooks.documents)]
        for problem in publish_results(rest, outcome.run, documents, report.success, report.summary):
            report.success = False
            report.message += f"; {problem}"
    if writer is not None:
        _tell_agent(writer, outcome, settings, report, suite, notebooks)
    else:
        _tell_console(stream, outcome, report, suite, notebooks)
    return report


def _build(outcome: Outcome, settings: ReportSettings) -> tuple[Report, Suite | None, NotebookResults]:
    variables, warnings = within_limits(outcome.outputs, outcome.run, outcome.task_outputs)
    report = Report(outcome.success, outcome.message, variables, warnings=warnings)
    coverage_files, junit_files = [], []
    for file in outcome.result_files:
        (coverage_files if is_cobertura(file) else junit_files).append(file)
    notebooks = notebook_results(junit_files) if settings.publish_test_results else NotebookResults()
    run = outcome.run
    if run is None:
        _write_command_summary(outcome, settings, report)
        return report, None, notebooks
    suite = run_suite(run, outcome.task_outputs, outcome.base_folder, outcome.interrupted)
    _mark_kept_results(suite, outcome)
    pages = _plan_pages(settings, run, outcome.pages, suite, report)
    checkout = Path(settings.sources_directory or ".").resolve()
    file_id = run_file_id(run)
    earlier = _earlier_coverage(settings, file_id) if coverage_files else []
    coverage = merge(coverage_files + earlier, outcome.base_folder, checkout) if coverage_files else None
    if coverage is not None:
        report.warnings += coverage.problems + _unmapped_warning(coverage, checkout)
        if coverage.files and not settings.publishes_coverage:
            report.warnings.append(_coverage_not_published(settings, file_id))
    _check_not_empty(notebooks, settings.fail_on_test_failure, report.warnings)
    report.task_tally = tally(suites_element([suite]))
    report.notebook_tally = sum((tally(root) for _, root in notebooks.documents), Tally())
    report.notebook_tally += Tally(failed=len(notebooks.problems))
    if report.notebook_tally.failed:
        report.success, report.message = _tests_verdict(report, outcome, settings.fail_on_test_failure)
    files, problems = _files(notebooks), notebooks.problems
    summary = markdown(
        run, suite.cases, files, problems, report.message, _details(outcome), outcome.task_attempts, outcome.rerun_note
    )
    summary += pages_section(outcome.pages, _pages_where(settings, report, run))
    report.coverage_earlier = [file.task_key for file in earlier]
    summary += coverage_section(coverage, settings.publishes_coverage, report.coverage_earlier)
    report.summary = redact(summary)
    stem = settings.directory / f"dbcicd-run-{file_id}"
    try:
        if settings.only_this_run:
            _remove_earlier_runs(settings.directory)
        if settings.publish_test_results:
            report.junit_files = _write_junit(stem, suite, notebooks)
        settings.directory.mkdir(parents=True, exist_ok=True)
        _write_pages(pages)
        if coverage is not None and coverage.files:
            report.coverage_dir = (settings.directory / f"dbcicd-run-{file_id}-coverage").resolve()
            report.coverage_file = write_cobertura(coverage, checkout, report.coverage_dir / "coverage.xml")
            write_index(coverage, report.coverage_dir / "index.html")
        report.summary_file = (settings.directory / summary_name(file_id)).resolve()
        report.summary_file.write_text(report.summary, encoding="utf-8")
    except OSError as err:
        # The run's verdict stands; results nobody can see are a failure of this step.
        report.success, report.summary_file = False, None
        report.message += f"; the results could not be written to {settings.directory}: {err.strerror or err}"
    return report, suite, notebooks


def _plan_pages(
    settings: ReportSettings, run: Run, pages: list[RenderedPage], suite: Suite, report: Report
) -> list[tuple[Path, str]]:
    """Where each rendered page goes (its folder is the artifact, in build pipelines), and its test case naming it
    as an attachment; a page that could not be exported is a warning. Returns (file, content) to write."""
    report.warnings += [page.error for page in pages if page.error]
    written = [page for page in pages if not page.error]
    if not written:
        return []
    folder = f"dbcicd-run-{run_file_id(run)}-notebooks"
    report.pages_dir = (settings.directory / folder).resolve()
    if settings.uploads_pages:
        report.pages_artifact = folder
        where = f"in the artifact {folder}"
    else:
        where = f"not uploaded ({settings.host_type} pipeline): see the task's run page in Databricks"
        report.warnings.append(
            f"The rendered notebook pages were not uploaded: the agent uploads artifacts in build pipelines only, and "
            f"this is a {settings.host_type} pipeline. They are on the agent in {report.pages_dir} until the job "
            f"ends; the run page in Databricks shows every notebook of the run: {run.run_page_url}"
        )
    by_key = {case.name: case for case in suite.cases}
    planned = []
    for page in written:
        file = report.pages_dir / page.file_name
        planned.append((file, page.content))
        case = by_key.get(page.task_key)
        if case is not None and case.outcome == FAILED:
            line = f"Rendered notebook: {page.file_name} {where}"
            if page.cut:
                line += " (cut: see the note at its top)"
            case.text = f"{case.text.rstrip()}\n\n{line}" if case.text.strip() else line
    return planned


def _write_pages(pages: list[tuple[Path, str]]) -> None:
    for file, content in pages:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(untrusted_text(content), encoding="utf-8")


def _pages_where(settings: ReportSettings, report: Report, run: Run) -> str:
    """Where the summary tells a reader to find the rendered pages."""
    if report.pages_artifact:
        return (
            f"In the artifact `{report.pages_artifact}` of this run (the run's Artifacts: download a page and open it "
            "in a browser)."
        )
    if report.pages_dir is not None and not settings.uploads_pages:
        return (
            f"Not uploaded: a {settings.host_type} pipeline keeps no artifacts of a step. The run page in Databricks "
            f"shows every notebook: {run.run_page_url}"
        )
    return ""


def _earlier_coverage(settings: ReportSettings, file_id: str) -> list[ResultFile]:
    """The reports earlier steps of this job published, to merge into this one (see the module's docstring): in a
    pipeline the results folder is the job's and keeps them; elsewhere it holds one run's files."""
    if settings.only_this_run or not settings.publishes_coverage:
        return []
    found = []
    for report in sorted(settings.directory.glob("dbcicd-run-*-coverage/coverage.xml")):
        earlier = report.parent.name.removesuffix("-coverage").removeprefix("dbcicd-run-")
        if earlier != file_id:
            found.append(ResultFile(f"run {earlier}", str(report), report.read_bytes()))
    return found


def _coverage_not_published(settings: ReportSettings, file_id: str) -> str:
    return (
        f"Code coverage was not published: the agent publishes coverage in build pipelines only, and this is a "
        f"{settings.host_type} pipeline. Its totals are in the summary ({summary_name(file_id)}); the Cobertura report "
        f"is on the agent in {settings.directory / f'dbcicd-run-{file_id}-coverage'} until the job ends."
    )


def _unmapped_warning(coverage: Coverage, checkout: Path) -> list[str]:
    if not coverage.unmapped:
        return []
    shown = ", ".join(coverage.unmapped[:3]) + (" ..." if len(coverage.unmapped) > 3 else "")
    return [
        f"Coverage: {len(coverage.unmapped)} measured files are neither in the Git folder nor in {checkout} "
        f"({shown}); the Code Coverage tab cannot show their source"
    ]


def _mark_kept_results(suite: Suite, outcome: Outcome) -> None:
    """After a re-run of what failed, a task that was not run again says which attempt its result is from, where
    the Tests tab keeps it: a passed one becomes Not executed with that message, another gets it before its own
    (see the module's docstring)."""
    run_id = outcome.run.run_id if outcome.run else None
    for case in suite.cases:
        attempt, produced_by = outcome.task_attempts.get(case.name, (0, run_id))
        if produced_by == run_id:
            continue
        if case.outcome == PASSED:
            case.outcome = SKIPPED
            case.message = f"Passed in job attempt {attempt} (run {produced_by}); not run again."
        else:
            case.message = f"Result of job attempt {attempt} (run {produced_by}); not run again: {case.message}"


def _tests_verdict(report: Report, outcome: Outcome, fail_on_test_failure: bool) -> tuple[bool, str]:
    """The verdict and its headline when tests written by notebooks failed. The headline leads with what decided
    the verdict, so "FAILED: ..." never begins with "Run ... succeeded": the tests first when they fail the step,
    the run first when it decided alone."""
    tests = report.notebook_tally
    failed = f"{tests.failed} of {counted(tests.total, 'test')} written by notebooks failed"
    if not fail_on_test_failure:
        return report.success, f"{report.message}; {failed}, which does not fail the step (failOnTestFailure is off)"
    if not report.success:
        return False, f"{report.message}; and {failed}"
    return False, f"{failed}; the run's own tasks succeeded ({report.message})"


def _check_not_empty(notebooks: NotebookResults, fail: bool, warnings: list[str]) -> None:
    """A JUnit file with no test case is a pytest that collected nothing (a path that does not exist from the
    notebook's folder, a file name pytest does not collect), never a pass: a failed case naming the file with
    `failOnTestFailure`, else a warning. The file is kept out of the documents either way."""
    kept = []
    for file, root in notebooks.documents:
        if tally(root).total:
            kept.append((file, root))
            continue
        message = (
            f"{file.task_key} wrote {file.path} with no test cases: did pytest collect nothing? Give it paths from "
            "the repository root and check its exit code (README, Results: the pytest recipe)"
        )
        if fail:
            notebooks.problems.append(problem_case(file, message))
        else:
            warnings.append(message)
    notebooks.documents[:] = kept


def _write_command_summary(outcome: Outcome, settings: ReportSettings, report: Report) -> None:
    """The Markdown of a command that ran no run (what a bundle deploy deployed), as its own summary section."""
    if not outcome.summary:
        return
    report.summary = redact(outcome.summary)
    path = settings.directory / f"Databricks bundle {outcome.command}.md"
    try:
        settings.directory.mkdir(parents=True, exist_ok=True)
        path.write_text(report.summary, encoding="utf-8")
        report.summary_file = path.resolve()
    except OSError as err:
        report.warnings.append(f"The summary could not be written to {settings.directory}: {err.strerror or err}")


def summary_name(file_id: str) -> str:
    """The summary's file name, which the agent shows as the title of its section (see the module's docstring)."""
    return f"{SUMMARY_PREFIX}{file_id}.md"


def run_file_id(run: Run) -> str:
    """What the files of a run are named by: its id, or for a run Databricks refused to start, which has none,
    `not-started-<digest of its name>` (the name carries the invocation's tag, steps/commands.py), so that the files
    of another step of the job, which the agent may still be uploading, are never overwritten."""
    if run.run_id is not None:
        return str(run.run_id)
    return f"{NOT_STARTED_PREFIX}{hashlib.sha256((run.run_name or '').encode()).hexdigest()[:10]}"


SUMMARY_PREFIX = "Databricks run "


def _remove_earlier_runs(directory: Path) -> None:
    """Delete the files earlier runs wrote in `directory` (dbcicd's names only: nothing else is touched)."""
    if directory.is_dir():
        for earlier in directory.glob("dbcicd-run-*"):
            if earlier.is_file() and (earlier.suffix == ".xml" or earlier.name.endswith("-summary.md")):
                earlier.unlink()
        for earlier in directory.glob("dbcicd-run-*"):
            if earlier.is_dir() and earlier.name.endswith(("-notebooks", "-coverage")):
                shutil.rmtree(earlier, ignore_errors=True)
        for earlier in directory.glob(f"{SUMMARY_PREFIX}*.md"):
            label = earlier.name[len(SUMMARY_PREFIX) : -len(".md")]
            if earlier.is_file() and (label.isdigit() or label.startswith(NOT_STARTED_PREFIX)):
                earlier.unlink()


def _suites(suite: Suite, notebooks: NotebookResults) -> list[Suite]:
    """The run's own suite, and one of failed cases for the result files that could not be read."""
    if not notebooks.problems:
        return [suite]
    return [suite, Suite(name=f"{suite.name}: result files", cases=notebooks.problems, timestamp=suite.timestamp)]


def _write_junit(stem: Path, suite: Suite, notebooks: NotebookResults) -> list[Path]:
    written = [write_document(suites_element(_suites(suite, notebooks)), Path(f"{stem}.xml"))]
    for number, (file, root) in enumerate(notebooks.documents, 1):
        name = _UNSAFE_FILE_CHARS.sub("_", f"{file.task_key}-{number}-{posixpath.basename(file.path)}")
        written.append(write_document(root, Path(f"{stem}-{name}")))
    return [path.resolve() for path in written]


def _files(notebooks: NotebookResults) -> list[NotebookFile]:
    return [NotebookFile(file.task_key, file.path, tally(root), root) for file, root in notebooks.documents]


def _details(outcome: Outcome) -> dict[str, str]:
    head = outcome.outputs.get("headCommit", "")
    return {"Git folder": outcome.outputs.get("repoPath", "") or outcome.base_folder, "at": head[:12]}


# --- in a pipeline --------------------------------------------------------------------------------------------
def _tell_agent(
    writer: CommandWriter,
    outcome: Outcome,
    settings: ReportSettings,
    report: Report,
    suite: Suite | None,
    notebooks: NotebookResults,
) -> None:
    run = outcome.run
    if run is None and not report.success:  # a command that ran no run (a bundle's): its verdict first
        writer.issue("error", report.message)
    for issue in outcome.issues:
        writer.issue(issue.kind, issue.message, _issue_location(issue))
    if run is None and report.summary_file is not None:
        writer.command("task.uploadsummary", None, str(report.summary_file))
    if run is not None and suite is not None:
        by_key = {case.name: case for case in suite.cases}
        for task in run.tasks or []:
            case = by_key[task.task_key or str(task.run_id)]
            writer.group(f"{case.name}: {task_state(task)} ({task_seconds(task):.1f} s)", _group_lines(case))
        if not report.success:  # the verdict first: of many issues, the agent keeps the first (IssueBudget)
            writer.issue("error", report.message)
        for task in run.tasks or []:
            case = by_key[task.task_key or str(task.run_id)]
            if case.outcome == FAILED:
                where = f" ({task.run_page_url})" if task.run_page_url else ""
                writer.issue("error", f"{case.name} {task_state(task)}{where}: {case.message}")
        _test_issues(writer, notebooks)
        for warning in report.warnings:
            writer.issue("warning", warning)
        if report.junit_files:
            writer.command("results.publish", _publish_properties(settings, run.run_name or "", report.junit_files))
        if report.pages_artifact and report.pages_dir is not None and report.pages_dir.is_dir():
            artifact = {"containerfolder": report.pages_artifact, "artifactname": report.pages_artifact}
            writer.command("artifact.upload", artifact, str(report.pages_dir))
        if settings.publishes_coverage and report.coverage_file is not None and report.coverage_dir is not None:
            coverage = {
                "codecoveragetool": "Cobertura",
                "summaryfile": str(report.coverage_file),
                "reportdirectory": str(report.coverage_dir),
            }
            writer.text(f"Code coverage: {coverage_note(report.coverage_earlier)}")
            writer.command("codecoverage.publish", coverage)
        if report.summary_file is not None:
            writer.command("task.uploadsummary", None, str(report.summary_file))
    for name, value in report.variables.items():
        writer.set_variable(name, value)


def _issue_location(issue: Issue) -> dict[str, str]:
    if not issue.source_path:
        return {}
    location = {"sourcepath": issue.source_path, "linenumber": str(issue.line or "")}
    location["columnnumber"] = str(issue.column or "")
    return location


def _group_lines(case: Case) -> list[str]:
    lines = [f"Source: {case.classname}"]
    if case.system_out:
        lines.append(case.system_out)
    if case.outcome == SKIPPED:
        lines.append(f"Skipped: {case.message}")
    elif case.outcome == FAILED:
        lines += [f"Error: {case.message}", case.text]
    return lines


def _test_issues(writer: CommandWriter, notebooks: NotebookResults) -> None:
    """One issue per file that could not be read, one per failed test a notebook reported (the first few)."""
    for problem in notebooks.problems:
        writer.issue("error", problem.message)
    failing = [(file, case) for file, root in notebooks.documents for case in failed_cases(root)]
    for file, case in failing[:MAX_TEST_ISSUES]:
        message = f"{file.task_key}: test {case_title(case)} failed: {failure_message(case)}"
        writer.issue("error", message)
    if len(failing) > MAX_TEST_ISSUES:
        more = len(failing) - MAX_TEST_ISSUES
        writer.issue("error", f"and {more} more failed tests (see the Tests tab)")


def _publish_properties(settings: ReportSettings, run_name: str, files: list[Path]) -> dict[str, str]:
    return {
        "type": "JUnit",
        "runTitle": settings.test_run_title or run_name,
        "mergeResults": "true",
        "publishRunAttachments": "true",
        "failTaskOnFailedTests": "true" if settings.fail_on_test_failure else "false",
        "resultFiles": ",".join(str(path) for path in files),
    }


# --- on a console ---------------------------------------------------------------------------------------------
def _tell_console(
    stream: TextIO, outcome: Outcome, report: Report, suite: Suite | None, notebooks: NotebookResults
) -> None:
    lines: list[str] = [f"{issue.kind.upper()}: {issue.message}" for issue in outcome.issues]
    if suite is not None:
        t = report.task_tally
        lines.append(f"Tasks: {t.passed} passed, {t.failed} failed, {t.skipped} skipped")
        for case in suite.cases:
            if case.outcome == FAILED:
                lines.append(f"  FAILED {case.name} ({case.classname}): {case.message}")
                trace = case.text.rstrip().splitlines()[-CONSOLE_TRACE_LINES:]
                lines += [f"      {line}" for line in trace if line.strip() != case.message]
    if notebooks.documents or notebooks.problems:
        n = report.notebook_tally
        lines.append(f"Tests written by notebooks: {n.passed} passed, {n.failed} failed, {n.skipped} skipped")
        for problem in notebooks.problems:
            lines.append(f"  FAILED {problem.message}")
        for file, root in notebooks.documents:
            for case in failed_cases(root):
                message = failure_message(case)
                lines.append(f"  FAILED {file.task_key}: {case_title(case)}" + (f": {message}" if message else ""))
    lines += [f"WARNING: {warning}" for warning in report.warnings]
    if report.junit_files:
        lines.append("JUnit: " + ", ".join(str(p) for p in report.junit_files))
    if report.pages_dir is not None:
        lines.append(f"Rendered notebooks: {report.pages_dir}")
    if report.coverage_file is not None:
        lines.append(f"Coverage (Cobertura): {report.coverage_file}")
    if report.summary_file is not None:
        lines.append(f"Summary: {report.summary_file}")
    for line in lines:
        print(redact(line), file=stream)
    stream.flush()
