"""A bug of dbcicd's is reported as one: exit code 3, a message that says so, a short trace, no secret."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from contract_target import Target

from dbcicd.entry import session
from dbcicd.entry.cli import main
from dbcicd.entry.task import main as task_main
from dbcicd.errors import EXIT_INTERNAL
from dbcicd.steps import commands


def broken_command(*_: object) -> None:
    """Stands for a bug in a command: something nobody expected raises (with a credential in its message)."""
    raise ZeroDivisionError(f"division by zero near {broken_command.secret}")


def test_cli_reports_an_internal_error_as_a_bug(
    cli_env: Path,
    target: Target,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken_command.secret = target.token  # type: ignore[attr-defined]
    monkeypatch.setattr(session, "execute", broken_command)

    code = main(["cleanup", "--temp-folder", "/Repos/internal-error"])
    err = capsys.readouterr().err

    assert code == EXIT_INTERNAL == 3
    assert "dbcicd: internal error: Internal error in dbcicd — a bug, not a problem with your pipeline" in err
    assert "ZeroDivisionError" in err and "Traceback (most recent call last)" in err
    assert target.token not in err


def test_task_reports_an_internal_error_as_a_bug(
    target: Target, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken_command.secret = target.token  # type: ignore[attr-defined]
    monkeypatch.setattr(session, "execute", broken_command)
    document = {
        "inputs": {"command": "cleanup", "connectionType": "databricks", "tempFolder": "/Repos/internal-error"},
        "endpoints": {
            "databricksConnection": {
                "url": target.host,
                "scheme": "Token",
                "parameters": {"apitoken": target.token},
            }
        },
        "variables": {"Agent.TempDirectory": str(tmp_path)},
    }
    stdout = io.StringIO()

    code = task_main(io.StringIO(json.dumps(document)), stdout, environ={})
    printed = stdout.getvalue()

    assert code == EXIT_INTERNAL
    assert "##vso[task.logissue type=error]Internal error in dbcicd — a bug" in printed
    assert "ZeroDivisionError" in printed
    assert target.token not in printed.replace(f"##vso[task.setsecret]{target.token}", "")


def test_a_bug_after_the_run_ended_still_publishes_what_the_run_left(
    cli_env: Path,
    make_remote: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bug while the finished run is collected: the step still reports the run — its variables and a result per
    task — before it ends as an internal error."""
    remote = make_remote({"nb.py": "# Databricks notebook source\ndbutils.notebook.exit('42')\n"})
    path = f"/Repos/bug-{time.time_ns() % 10**9}/project"
    repo = ["repo", "--repo-path", path, "--git-url", remote.url, "--git-provider", "gitHub", "--branch", "main"]
    assert main(repo) == 0
    capsys.readouterr()
    monkeypatch.setattr(commands, "_verdict", broken_command)
    broken_command.secret = "-"  # type: ignore[attr-defined]

    code = main(["run", "--repo-path", path, "-n", "nb"])
    captured = capsys.readouterr()

    assert code == EXIT_INTERNAL, captured.err
    assert "ZeroDivisionError" in captured.err
    assert re.search(r"^runId=[0-9]+$", captured.out, re.MULTILINE), captured.out
    assert "resultState=SUCCESS" in captured.out and "notebookOutput=42" in captured.out
