"""A bug of dbcicd's is reported as one: exit code 3, a message that says so, a short trace, no secret."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from contract_target import Target

from dbcicd.entry import session
from dbcicd.entry.cli import main
from dbcicd.entry.task import main as task_main
from dbcicd.errors import EXIT_INTERNAL


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
