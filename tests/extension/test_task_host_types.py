"""The packaged task in the three kinds of pipeline the agent runs it in (System.HostType build, release,
deployment), with a notebook that writes coverage and a page to export: each step ends as the agent would end it.
The agent refuses the build-only commands elsewhere and fails the step (tools/localagent.py models it from
WorkerCommandManager.cs, CodeCoverageCommands.cs and ArtifactCommandExtension.cs); the task sends them only in
build pipelines and says, in a warning and the summary, what was not published and where to find it instead."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from task_harness import Agent

COVERING = (
    "# Databricks notebook source\n"
    "import os\n"
    "out = dbutils.widgets.get('dbcicd_results_dir')\n"
    "os.makedirs(out, exist_ok=True)\n"
    'report = (\'<coverage line-rate="1" lines-covered="1" lines-valid="1"><sources><source>\' + os.getcwd()\n'
    '          + \'</source></sources><packages><package name="calc"><classes><class name="ops.py"\'\n'
    '          \' filename="calc/ops.py"><lines><line number="1" hits="1"/></lines></class></classes>\'\n'
    "          '</package></packages></coverage>')\n"
    "open(os.path.join(out, 'coverage.xml'), 'w').write(report)\n"
    "print('measured')\n"
)
FILES = {"cover.py": COVERING, "calc/__init__.py": "", "calc/ops.py": "ONE = 1\n"}


@pytest.mark.parametrize("host_type", ["build", "release", "deployment"])
def test_the_task_ends_as_the_agent_would_end_it_in_every_host_type(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], host_type: str
) -> None:
    remote = make_remote(FILES)
    variables = {
        "System.HostType": host_type,
        "Build.Repository.Uri": remote.url,
        "Build.SourceBranch": "refs/heads/main",
        "Build.SourceVersion": remote.commit({"README.md": host_type}, "second"),
    }
    inputs = {
        "command": "test",
        "gitProvider": "gitHub",
        "notebooks": "cover",
        "exportNotebooks": "all",
        "tempFolder": f"/Repos/hosts-{time.time_ns() % 10**9}",
    }

    run = agent.run(inputs, variables)

    assert run.result == "Succeeded", [*run.errors, run.stdout[-3000:], run.stderr[-3000:]]
    assert run.errors == []
    [summary_command] = run.commands("task.uploadsummary")
    summary = Path(summary_command.data).read_text(encoding="utf-8")
    assert "100.0% of lines" in summary
    if host_type == "build":
        [coverage] = run.commands("codecoverage.publish")
        assert Path(coverage.properties["summaryfile"]).is_file()
        [upload] = run.commands("artifact.upload")
        assert (Path(upload.data) / "cover.html").is_file()
        assert "see the Code Coverage tab" in summary
        assert not [w for w in run.record.warnings if "not published" in w or "not uploaded" in w]
        return
    assert run.commands("codecoverage.publish") == [] and run.commands("artifact.upload") == []
    [pages] = [w for w in run.record.warnings if w.startswith("The rendered notebook pages were not uploaded")]
    assert f"this is a {host_type} pipeline" in pages and run.variables["runPageUrl"] in pages
    folder = Path(pages.split(" in ", 2)[2].split(" until ")[0])
    assert (folder / "cover.html").is_file()
    [coverage_warning] = [w for w in run.record.warnings if w.startswith("Code coverage was not published")]
    assert f"this is a {host_type} pipeline" in coverage_warning
    assert "not published (build pipelines only)" in summary
    assert f"Not uploaded: a {host_type} pipeline keeps no artifacts" in summary
