"""What the command line offers to find out what it is and what it does: `--version`, and the debug log that
`--debug` or DBCICD_DEBUG=true turn on (what System.Debug=true gives a pipeline), secrets masked."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from contract_target import Target

from dbcicd import __version__
from dbcicd.entry.cli import main

CLEANUP = ["cleanup", "--temp-folder", "/Repos/diagnostics"]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ended:
        main(["--version"])
    assert ended.value.code == 0
    assert capsys.readouterr().out == f"dbcicd {__version__}\n"


@pytest.mark.parametrize("switch", ["flag", "environment"])
def test_debug_logs_every_call_with_secrets_masked(
    switch: str,
    cli_env: Path,
    target: Target,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if switch == "environment":
        monkeypatch.setenv("DBCICD_DEBUG", "true")
    assert main([*CLEANUP, "--debug"] if switch == "flag" else CLEANUP) == 0
    captured = capsys.readouterr()
    debug = [line for line in captured.err.splitlines() if line.startswith("debug: databricks.sdk")]
    assert any("GET /api/2.0/workspace/list" in line for line in debug), captured.err
    assert target.token not in captured.err + captured.out
    assert not any(line.startswith("debug:") for line in captured.out.splitlines())


def test_no_debug_log_unless_asked(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(CLEANUP) == 0
    assert "debug:" not in capsys.readouterr().err


def test_a_wrong_host_is_reported_once_by_dbcicd(cli_env: Path) -> None:
    """A workspace URL where nothing listens: dbcicd's own error names the URL and what to check, and nothing of
    databricks-sdk's fallback warnings about the host's metadata comes before it. A process of its own: Python's
    last-resort handler, which prints the SDK's warnings, is not used under pytest's logging capture."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        host = f"http://127.0.0.1:{unused.getsockname()[1]}"  # closed again once the block ends
    environ = {**os.environ, "DATABRICKS_HOST": host}
    ended = subprocess.run(
        [sys.executable, "-m", "dbcicd", *CLEANUP], env=environ, capture_output=True, text=True, timeout=120
    )
    assert ended.returncode == 2
    assert f"dbcicd: error: Cannot connect to {host}" in ended.stderr
    assert "metadata" not in ended.stderr, ended.stderr
