"""A bug of dbcicd's is reported as one: exit code 3, a message that says so, a short trace, no secret."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from dbcicd.entry import session
from dbcicd.entry.cli import main
from dbcicd.entry.task import main as task_main
from dbcicd.errors import EXIT_INTERNAL
from dbcicd.localworkspace import LocalWorkspaceServer


def broken_command(*_: object) -> None:
    """Stands for a bug in a command: something nobody expected raises (with a credential in its message)."""
    raise ZeroDivisionError(f"division by zero near {broken_command.secret}")


def test_cli_reports_an_internal_error_as_a_bug(
    cli_env: Path,
    local_workspace: LocalWorkspaceServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken_command.secret = local_workspace.token  # type: ignore[attr-defined]
    monkeypatch.setattr(session, "execute", broken_command)

    code = main(["cleanup", "--temp-folder", "/Repos/internal-error"])
    err = capsys.readouterr().err

    assert code == EXIT_INTERNAL == 3
    assert "dbcicd: internal error: Internal error in dbcicd — a bug, not a problem with your pipeline" in err
    assert "ZeroDivisionError" in err and "Traceback (most recent call last)" in err
    assert local_workspace.token not in err


def test_task_reports_an_internal_error_as_a_bug(
    local_workspace: LocalWorkspaceServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken_command.secret = local_workspace.token  # type: ignore[attr-defined]
    monkeypatch.setattr(session, "execute", broken_command)
    document = {
        "inputs": {"command": "cleanup", "connectionType": "databricks", "tempFolder": "/Repos/internal-error"},
        "endpoints": {
            "databricksConnection": {
                "url": local_workspace.host,
                "scheme": "Token",
                "parameters": {"apitoken": local_workspace.token},
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
    assert local_workspace.token not in printed.replace(f"##vso[task.setsecret]{local_workspace.token}", "")
