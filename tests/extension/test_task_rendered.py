"""What a reviewer of the pipeline sees of the notebooks, through the packaged task: the rendered page of each
notebook task (exportNotebooks) uploaded as a build artifact and named by the summary and the failed test case,
opened in a real browser; and the coverage the notebooks measured, merged, its paths the repository's, published
for the Code Coverage tab."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from headless_browser import find_browser
from junit_reader import read
from task_harness import Agent, TaskRun

HEADER = "# Databricks notebook source\n"
CELL = "\n# COMMAND ----------\n\n"
PASSING = HEADER + "print('all good')\ndbutils.notebook.exit('ok')\n"
FAILING = HEADER + "print('loading the table')" + CELL + "rows = 4\nraise ValueError(f'expected 3 rows, got {rows}')\n"
# 21 cells of 1 MB of text each (a cell's printed text keeps 1 MiB): a page over the 20 MB a page may keep.
HUGE = HEADER + CELL.join("print('x' * 1_000_000)\n" for _ in range(21))
# Two notebooks each measure the package with pytest-cov: together they cover both functions.
CALC = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
TEST_ADD = "from calc.ops import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
TEST_SUB = "from calc.ops import sub\n\n\ndef test_sub():\n    assert sub(3, 2) == 1\n"
COVERING = HEADER + (
    "import os, sys, tempfile, pytest\n"
    "sys.dont_write_bytecode = True\n"
    "out = dbutils.widgets.get('dbcicd_results_dir')\n"
    # Coverage's own data file (SQLite) on the driver's disk: not the notebook's folder, which the other notebook
    # shares, nor a workspace folder, where SQLite cannot open files.
    "os.environ['COVERAGE_FILE'] = os.path.join(tempfile.mkdtemp(), '.coverage')\n"
    "code = pytest.main(['-q', '-p', 'no:cacheprovider', '{tests}', '--cov=calc',\n"
    "                    f'--cov-report=xml:{{out}}/coverage.xml', f'--junitxml={{out}}/pytest.xml'])\n"
    "assert code == 0\n"
)
FILES = {
    "tests/test_passing.py": PASSING,
    "broken/failing.py": FAILING,
    "big/huge.py": HUGE,
    "calc/__init__.py": "",
    "calc/ops.py": CALC,
    "checks/test_add_check.py": TEST_ADD,
    "checks/test_sub_check.py": TEST_SUB,
    "checks/cover_add.py": COVERING.format(tests="test_add_check.py"),
    "checks/cover_sub.py": COVERING.format(tests="test_sub_check.py"),
}


def unique(name: str) -> str:
    return f"{name}-{time.time_ns() % 10**9}"


def run_test(agent: Agent, remote: Any, notebooks: str, **inputs: str) -> TaskRun:
    sha = remote.commit({"README.md": "rendered"}, "second")
    variables = {
        "Build.Repository.Uri": remote.url,
        "Build.SourceBranch": "refs/heads/main",
        "Build.SourceVersion": sha,
    }
    base = {"command": "test", "gitProvider": "gitHub", "notebooks": notebooks, "tempFolder": f"/Repos/{unique('r')}"}
    return agent.run({**base, **inputs}, variables)


def uploaded_pages(run: TaskRun) -> dict[str, Path]:
    """The artifact the step uploaded: page file name -> file."""
    [upload] = run.commands("artifact.upload")
    assert upload.properties["artifactname"] == upload.properties["containerfolder"]
    assert upload.properties["artifactname"] == f"dbcicd-run-{run.variables['runId']}-notebooks"
    folder = Path(upload.data)
    assert folder.is_dir()
    return {path.name: path for path in folder.iterdir()}


def summary(run: TaskRun) -> str:
    [command] = run.commands("task.uploadsummary")
    return Path(command.data).read_text(encoding="utf-8")


def test_a_failed_notebook_page_is_uploaded_and_linked_and_a_browser_shows_its_cells_and_error(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any]
) -> None:
    """The default, `failed`: only the failing notebook's page; the summary and its test case name it, and the
    page, opened from the artifact's folder in a browser, shows both cells and the error."""
    run = run_test(agent, make_remote(FILES), "tests/test_passing\nbroken/failing")

    assert run.result == "Failed", run.stdout + run.stderr
    pages = uploaded_pages(run)
    assert list(pages) == ["broken_failing.html"]
    text = summary(run)
    assert "### Rendered notebooks" in text and "`broken_failing.html`" in text
    assert f"dbcicd-run-{run.variables['runId']}-notebooks" in text
    [publish] = run.commands("results.publish")
    cases = {r.title: r for path in publish.properties["resultfiles"].split(",") for r in read(Path(path))}
    failed = cases["broken_failing"]
    # Named where the Tests tab shows a failed result: its stack trace (no [[ATTACHMENT|...]]: the agent ignores it).
    artifact = f"dbcicd-run-{run.variables['runId']}-notebooks"
    assert failed.stack_trace.endswith(f"Rendered notebook: broken_failing.html in the artifact {artifact}")
    assert "[[ATTACHMENT|" not in failed.system_out + failed.stack_trace

    browser = find_browser()
    url = pages["broken_failing.html"].as_uri()
    dom = browser.dom(url)
    cells = dom.find_all("div", "cell")
    assert len(cells) == 2
    assert "loading the table" in cells[0].text
    assert "ValueError" in cells[1].text and "expected 3 rows, got 4" in cells[1].text
    browser.screenshot(url, "rendered/failed-notebook.png")


@pytest.mark.parametrize("choice", ["all", "none"])
def test_all_saves_every_page_and_none_saves_nothing(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], choice: str
) -> None:
    run = run_test(agent, make_remote(FILES), "tests/test_passing\nbroken/failing", exportNotebooks=choice)

    assert run.result == "Failed", run.stdout + run.stderr
    if choice == "all":
        assert sorted(uploaded_pages(run)) == ["broken_failing.html", "tests_test_passing.html"]
        assert "`tests_test_passing.html`" in summary(run)
    else:
        assert run.commands("artifact.upload") == []
        assert "Rendered notebooks" not in summary(run)


def test_a_bad_choice_is_refused_before_anything_runs(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any]
) -> None:
    run = run_test(agent, make_remote(FILES), "tests/test_passing", exportNotebooks="some")

    assert run.result == "Failed"
    assert any("Input 'exportNotebooks' is 'some'; it must be one of failed, all, none" in e for e in run.errors)
    assert run.commands("artifact.upload") == []


@pytest.mark.slow
def test_a_huge_page_is_cut_with_a_note_at_its_top(agent: Agent, make_remote: Callable[[dict[str, str]], Any]) -> None:
    """Over the 20 MB a page keeps: its largest outputs are left out, the rest of the page renders as it ran, and
    the note is its first cell (the page's script renders the body, so a note put into it would be wiped)."""
    run = run_test(agent, make_remote(FILES), "big/huge", exportNotebooks="all")

    assert run.result == "Succeeded", run.stdout[-3000:] + run.stderr[-3000:]
    page = uploaded_pages(run)["big_huge.html"]
    assert 15_000_000 < page.stat().st_size <= 20_000_000
    assert "cut to " in summary(run)

    dom = find_browser().dom(page.as_uri())
    note, *cells = dom.find_all("div", "cell")
    assert "This page was cut" in note.text and "largest outputs were left out" in note.text
    assert len(cells) == 21 and any("was left out" in cell.text for cell in cells)
    assert sum("x" * 1000 in cell.text for cell in cells) >= 10


def test_coverage_of_two_notebooks_is_merged_with_the_repository_paths(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any]
) -> None:
    """Each notebook covers one function of calc/ops.py; the published report covers both, names the file by its
    repository path, and has the agent's checkout as its source."""
    pytest.importorskip("pytest_cov", reason="the notebooks run pytest-cov (the test extra installs it)")
    run = run_test(agent, make_remote(FILES), "checks/cover_*")

    assert run.result == "Succeeded", run.stdout[-3000:] + run.stderr[-3000:]
    [publish] = run.commands("codecoverage.publish")
    assert publish.properties["codecoveragetool"] == "Cobertura"
    report = Path(publish.properties["summaryfile"])
    assert Path(publish.properties["reportdirectory"]) == report.parent
    assert (report.parent / "index.html").is_file()
    root = ET.parse(report).getroot()
    assert [s.text for s in root.iter("source")] == [str(agent.sources.resolve())]
    files = {c.get("filename"): c for c in root.iter("class")}
    assert set(files) == {"calc/__init__.py", "calc/ops.py"}
    hits = {int(line.get("number")): int(line.get("hits")) for line in files["calc/ops.py"].iter("line")}
    assert all(hits.values()), hits  # add's lines by one notebook, sub's by the other
    assert hits[1] == 2  # both imported the module: `def add` ran in each
    assert root.get("line-rate") == "1.0000"
    assert "### Code coverage" in summary(run) and "100.0% of lines" in summary(run)


COBERTURA_LINE = (
    HEADER + "import os\n"
    "out = dbutils.widgets.get('dbcicd_results_dir')\n"
    "os.makedirs(out, exist_ok=True)\n"
    "open(os.path.join(out, 'coverage.xml'), 'w').write(\n"
    "    '<coverage><sources><source>' + os.getcwd() + '</source></sources><packages><package name=\"calc\">'\n"
    '    \'<classes><class name="ops.py" filename="calc/ops.py"><lines><line number="{line}" hits="1"/>\'\n'
    '    \'<line number="{other}" hits="0"/></lines></class></classes></package></packages></coverage>\')\n'
)


def test_a_second_step_of_the_job_publishes_the_coverage_of_both(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any]
) -> None:
    """A build shows one coverage report, the last published (the agent's CodeCoverageCommands.cs): the second
    Databricks step of a job merges the report the first published, and both summaries say what a later publish
    does."""
    files = {"calc/__init__.py": "", "calc/ops.py": CALC}
    files["first.py"] = COBERTURA_LINE.format(line=2, other=6)
    files["second.py"] = COBERTURA_LINE.format(line=6, other=2)
    remote = make_remote(files)
    first = run_test(agent, remote, "first")
    second = run_test(agent, remote, "second")

    assert (first.result, second.result) == ("Succeeded", "Succeeded"), second.stdout[-3000:]
    [publish] = second.commands("codecoverage.publish")
    root = ET.parse(Path(publish.properties["summaryfile"])).getroot()
    hits = {int(line.get("number")): int(line.get("hits")) for line in root.iter("line")}
    assert hits == {2: 1, 6: 1}, "both steps' lines are covered"
    assert "A build shows one coverage report." in summary(first)
    assert f"includes the coverage published earlier in this job (run {first.variables['runId']})" in summary(second)
    assert "A build shows one coverage report." in second.stdout
