"""Notebooks from a pull request attack the agent that runs them, through the packaged task run as the agent runs it
against the local workspace: what they write, return and raise never becomes an attachment marker, a logging
command, a secret in a file, an environment later steps cannot start with, or markup and links in the summary
(which is also the pull-request comment)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from leaks import Secret, files_since, leaks
from task_harness import Agent, TaskRun

HEADER = "# Databricks notebook source\n"
# Any marker a test publisher might follow: the JUnit Attachments plugin's pattern, in any case, spaces allowed.
MARKER = re.compile(r"\[\[\s*attachment\s*\|(.+?)\]\]", re.IGNORECASE)
STOLEN = ["/etc/passwd", "../../.credentials", "/proc/self/environ"]

WRITES_MARKERS = HEADER + (
    "import json, os\n"
    "folder = dbutils.widgets.get('dbcicd_results_dir')\n"
    "os.makedirs(folder, exist_ok=True)\n"
    "with open(os.path.join(folder, 'report.xml'), 'w') as out:\n"
    '    out.write(\'<testsuite name="s"><testcase classname="c" name="t">\'\n'
    "              '<failure message=\"[[attachment|/proc/self/environ]]\">[[ATTACHMENT|/etc/passwd]]</failure>'\n"
    "              '<system-out>[[ATTACHMENT|/etc/passwd]]</system-out>'\n"
    "              '<system-err>[[ATTACHMENT|../../.credentials]]</system-err></testcase></testsuite>')\n"
    "print('[[ATTACHMENT|/etc/passwd]]')\n"
    "dbutils.notebook.exit('[[ATTACHMENT|../../.credentials]]')\n"
)
FAILS_WITH_MARKER = HEADER + "raise ValueError('see [[ATTACHMENT|/proc/self/environ]]')\n"

# A secret pipeline variable handed over as a parameter, then printed, returned, raised and written to every file.
LEAKS_PARAMETER = HEADER + (
    "import os\n"
    "key = dbutils.widgets.get('storage_key')\n"
    "print('the key is', key)\n"
    "folder = dbutils.widgets.get('dbcicd_results_dir')\n"
    "os.makedirs(folder, exist_ok=True)\n"
    "with open(os.path.join(folder, 'checks.xml'), 'w') as out:\n"
    '    out.write(f\'<testsuite name="checks"><testcase classname="checks" name="uses_{key}">\'\n'
    "              f'<failure message=\"refused {key}\">trace {key}</failure>'\n"
    "              f'<system-out>key {key}</system-out></testcase></testsuite>')\n"
    "with open(os.path.join(folder, 'coverage.xml'), 'w') as out:\n"
    "    out.write(f'<coverage line-rate=\"1\"><sources><source>/tmp/{key}</source></sources><packages>'\n"
    '              f\'<package name="p"><classes><class name="{key}.py" filename="{key}/m.py">\'\n'
    '              \'<lines><line number="1" hits="1"/></lines></class></classes></package>\'\n'
    "              '</packages></coverage>')\n"
    "raise ValueError(f'the storage refused {key}')\n"
)

COMMAND = "##vso[task.setvariable variable=pwned]yes"
RETURNS_COMMAND = HEADER + (
    "import json\n"
    f"dbutils.notebook.exit(json.dumps({{'verdict': 'ok\\n{COMMAND}', 'format': '##[group]x', 'score': 1}}))\n"
)
# 40 keys of 100,000 characters: a 4 MB exit value.
RETURNS_4MB = HEADER + (
    "import json\ndbutils.notebook.exit(json.dumps({f'part{i:02}': str(i % 10) * 100_000 for i in range(40)}))\n"
)

HOSTILE_TEXT = (
    "[click here](https://evil.example/login) ![pixel](https://evil.example/pixel.png) "
    "<img src=x onerror=alert(1)> <a href='https://evil.example/a'>a</a> https://evil.example/bare "
    "**bold** | cell | ``` `tick`"
)
RAISES_MARKUP = HEADER + (
    "import os\n"
    "folder = dbutils.widgets.get('dbcicd_results_dir')\n"
    "os.makedirs(folder, exist_ok=True)\n"
    f"text = {HOSTILE_TEXT!r}\n"
    "with open(os.path.join(folder, 'report.xml'), 'w') as out:\n"
    "    from xml.sax.saxutils import quoteattr\n"
    '    out.write(f\'<testsuite name="s"><testcase classname="c" name={quoteattr(text)}>\'\n'
    "              f'<failure message={quoteattr(text)}/></testcase></testsuite>')\n"
    "raise ValueError(text + '\\n' + text)\n"
)

NOTEBOOKS = {
    "attack/writes_markers.py": WRITES_MARKERS,
    "attack/fails_with_marker.py": FAILS_WITH_MARKER,
    "attack/leaks_parameter.py": LEAKS_PARAMETER,
    "attack/returns_command.py": RETURNS_COMMAND,
    "attack/returns_4mb.py": RETURNS_4MB,
    "attack/raises_markup.py": RAISES_MARKUP,
}


def unique(name: str) -> str:
    return f"{name}-{time.time_ns() % 10**9}"


def run_step(
    agent: Agent,
    make_remote: Callable[[dict[str, str]], Any],
    notebooks: str,
    secret_variables: Mapping[str, str] | None = None,
    **inputs: str,
) -> TaskRun:
    """`test` of `notebooks` at a commit of a remote holding the attacking notebooks."""
    remote = make_remote(NOTEBOOKS)
    sha = remote.commit({"README.md": "attack"}, "second")
    variables = {
        "Build.Repository.Uri": remote.url,
        "Build.SourceBranch": "refs/heads/main",
        "Build.SourceVersion": sha,
    }
    base = {"command": "test", "gitProvider": "gitHub", "notebooks": notebooks, "tempFolder": f"/Repos/{unique('s')}"}
    return agent.run({**base, **inputs}, variables, secret_variables=secret_variables)


def published_files(run: TaskRun) -> list[Path]:
    publishes = run.commands("results.publish")
    assert len(publishes) == 1, run.errors
    [publish] = publishes
    return [Path(path) for path in publish.properties["resultfiles"].split(",")]


def summary_text(run: TaskRun) -> str:
    [command] = run.commands("task.uploadsummary")
    return Path(command.data).read_text(encoding="utf-8")


def warnings_of(run: TaskRun) -> list[str]:
    return [c.data for c in run.commands("task.logissue") if c.properties.get("type") == "warning"]


def test_attachment_markers_from_notebooks_name_no_file(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any]
) -> None:
    """Markers in a notebook's JUnit file (system-out, system-err, failure), its output, its exit value and its error
    reach no file handed to results.publish as markers (dbcicd writes none of its own): what they said is kept as
    text."""
    run = run_step(agent, make_remote, "attack/writes_markers\nattack/fails_with_marker", exportNotebooks="all")

    assert run.result == "Failed", run.stdout[-3000:] + run.stderr[-3000:]
    files = published_files(run)
    assert len(files) == 2, "the run's file and the notebook's"
    everything = "".join(path.read_text(encoding="utf-8") for path in files)
    assert MARKER.findall(everything) == []
    for stolen in STOLEN:
        assert f"[ [ATTACHMENT|{stolen}]]" in everything or f"[ [attachment|{stolen}]]" in everything, stolen


def test_a_secret_variable_given_to_a_failing_notebook_reaches_no_file(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any]
) -> None:
    """`storage_key=$(Storage.Key)`, a secret variable, printed, raised, returned in JUnit and Cobertura by a failing
    notebook with every page exported: not in any file the step writes (JUnit, summary, pages, coverage) nor in
    its log or variables."""
    key = "stk" + secrets.token_hex(20)
    since = time.time() - 1
    run = run_step(
        agent,
        make_remote,
        "attack/leaks_parameter",
        secret_variables={"Storage.Key": key},
        parameters="storage_key=$(Storage.Key)",
        exportNotebooks="all",
    )

    assert run.result == "Failed", run.stdout[-3000:] + run.stderr[-3000:]
    written = files_since([agent.work], since)
    names = {Path(path).name for path, _ in written}
    assert any(name.startswith("dbcicd-run-") and name.endswith(".xml") for name in names), sorted(names)
    assert any(name.endswith(".html") for name in names), f"a page was written: {sorted(names)}"
    assert any(name == "coverage.xml" for name in names), f"coverage was written: {sorted(names)}"
    variables = "\n".join(f"{k}={v}" for k, v in run.variables.items()).encode()
    # What the core printed, none of it left for the agent to mask: every line but its announcements of secrets
    # (task.setsecret) and the task library's debug lines, which echo the inputs and which the agent masks.
    printed = [
        line
        for line in run.stdout.splitlines()
        if not line.startswith(("##vso[task.setsecret]", "##vso[task.debug]"))
        or line.startswith("##vso[task.debug]databricks.sdk")
    ]
    shown = [
        ("the log", "\n".join(run.record.log).encode()),
        ("what the core printed", "\n".join(printed).encode()),
        ("stderr", run.stderr.encode()),
        ("the output variables", variables),
    ]
    assert leaks([Secret("Storage.Key", key)], written + shown) == []
    assert f"##vso[task.setsecret]{key}" in run.stdout, "the core tells the agent of the secret"
    assert "***" in summary_text(run), "the key is masked where the notebook showed it"


def test_an_exit_value_carrying_a_logging_command_is_not_set(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any]
) -> None:
    """Keys of the exit value holding `##vso[` or `##[` (and the whole exit value, which holds them) are refused,
    each named in a warning; the others are set."""
    run = run_step(agent, make_remote, "attack/returns_command")

    assert run.result == "Succeeded", run.stdout[-3000:] + run.stderr[-3000:]
    assert run.variables["notebookOutput_score"] == "1"
    for refused in ("notebookOutput_verdict", "notebookOutput_format", "notebookOutput"):
        assert refused not in run.variables
    assert not [value for value in run.variables.values() if "##vso[" in value.lower() or "##[" in value]
    [warning] = [w for w in warnings_of(run) if "logging command" in w]
    assert "task attack_returns_command, key verdict" in warning and "key format" in warning


def test_a_4mb_exit_value_leaves_later_steps_able_to_start(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any]
) -> None:
    """Every variable within 128 KiB, all of them within 1 MiB, what was cut or left out named in warnings: and a
    process started with them in its environment, as the agent starts later steps, starts."""
    run = run_step(agent, make_remote, "attack/returns_4mb")

    assert run.result == "Succeeded", run.stdout[-3000:] + run.stderr[-3000:]
    variables = run.variables
    sizes = [len(name.encode()) + len(value.encode()) for name, value in variables.items()]
    assert max(sizes) <= 128 * 1024 and sum(sizes) <= 1024 * 1024
    assert variables["runId"] and "notebookOutput_part00" in variables
    warnings = warnings_of(run)
    returned = [f"notebookOutput_{name}{i:02}" for i in range(40) for name in ("attack_returns_4mb_part", "part")]
    left_out = [name for name in returned if name not in variables]
    assert left_out, "not all of 4 MB fits"
    [named] = [w for w in warnings if "left out" in w]
    assert left_out[0] in named and f"and {len(left_out) - 10} more" in named, named
    assert any("cut to the first" in w and "notebookOutput_part00" in w for w in warnings), warnings
    # A later step of the job gets each output variable as <STEP>_<NAME> (Azure Pipelines, "Set variables in
    # scripts": output variables in the same job); the step's own environment comes on top.
    later = {**os.environ, **{f"RUN_{name.upper()}": value for name, value in variables.items()}}
    started = subprocess.run([sys.executable, "-c", "pass"], env=later, check=False)
    assert started.returncode == 0


class _Rendered(HTMLParser):
    """The links, images and raw elements of rendered Markdown, and the text outside code."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.tags: set[str] = set()
        self.code_depth = 0
        self.outside_code: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "a":
            self.links.append(dict(attrs).get("href") or "")
        if tag == "code":
            self.code_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "code":
            self.code_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.code_depth:
            self.outside_code.append(data)


def test_markdown_and_html_in_an_error_are_shown_as_text(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any]
) -> None:
    """A notebook's error and test failure full of links, images and HTML: rendered as Markdown with raw HTML on
    (as a pull-request comment is), the summary's only links are the run pages, it has no image or raw element,
    and the hostile text is all inside code."""
    run = run_step(agent, make_remote, "attack/raises_markup")

    assert run.result == "Failed", run.stdout[-3000:] + run.stderr[-3000:]
    text = summary_text(run)
    assert "evil.example" in text
    page = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    rendered = _Rendered()
    rendered.feed(page)
    host = agent.workspace.host
    assert rendered.links and all(link.startswith(host) for link in rendered.links), rendered.links
    assert not rendered.tags & {"img", "script", "em"}, rendered.tags
    outside_code = "".join(rendered.outside_code)
    assert "evil.example" not in outside_code and "bold" not in outside_code and "alert" not in outside_code
    assert "<table>" in page, "the task table is still a table"
    table = page[page.index("<table>") : page.index("</table>")]
    assert table.count("<tr>") == 2, "a header row and the one task: no cell split by a notebook's |"
