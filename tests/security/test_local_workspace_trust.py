"""`dbcicd local serve` runs notebooks as the user who starts it: its token stays out of the process list (a file or
the environment), its folder and token file are private to that user, and `--help` says what it runs as."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient

from dbcicd_localworkspace import LocalWorkspaceServer

SERVE_TIMEOUT_S = 60
POSIX_ONLY = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dbcicd", "local", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_the_token_comes_from_a_file_and_stays_out_of_the_process_list(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("dapi-local-from-a-file\n", encoding="utf-8")
    process = serve("--root", str(tmp_path / "ws"), "--token-file", str(token_file))
    try:
        assert process.stdout is not None
        printed = dict(process.stdout.readline().strip().split("=", 1) for _ in range(2))
        assert printed["DATABRICKS_TOKEN"] == "dapi-local-from-a-file"
        if Path(f"/proc/{process.pid}/cmdline").exists():
            assert b"dapi-local-from-a-file" not in Path(f"/proc/{process.pid}/cmdline").read_bytes()
        client = WorkspaceClient(host=printed["DATABRICKS_HOST"], token="dapi-local-from-a-file", auth_type="pat")
        assert client.current_user.me().user_name
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=SERVE_TIMEOUT_S)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--token-file", "{missing}"], "--token-file {missing}: cannot read it (No such file or directory)"),
        (["--token-file", "{empty}"], "--token-file {empty}: give a file holding the token alone, on one line"),
        (["--token", "t", "--token-file", "{empty}"], "argument --token-file: not allowed with argument --token"),
    ],
)
def test_a_token_file_that_cannot_serve_is_refused_naming_the_flag(
    tmp_path: Path, args: list[str], message: str
) -> None:
    places = {"missing": str(tmp_path / "missing"), "empty": str(tmp_path / "empty")}
    (tmp_path / "empty").write_text("\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "dbcicd", "local", "serve", *(a.format(**places) for a in args)],
        capture_output=True,
        text=True,
        timeout=SERVE_TIMEOUT_S,
    )
    assert done.returncode == 2
    assert message.format(**places) in done.stderr
    assert done.stdout == ""


@POSIX_ONLY
def test_its_folder_and_token_file_are_private(tmp_path: Path) -> None:
    """A new root is 0700, an existing open one is made 0700, the kept token file is 0600; a temporary root too."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    for root in (tmp_path / "new" / "ws", shared):
        with LocalWorkspaceServer(root=root) as server:
            assert stat.S_IMODE(root.stat().st_mode) == 0o700
            [token_file] = [p for p in root.rglob("*") if p.is_file() and server.token in p.read_text(errors="ignore")]
            assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    with LocalWorkspaceServer() as server:
        assert stat.S_IMODE(server.root.stat().st_mode) == 0o700


def test_help_says_it_runs_notebooks_as_you() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dbcicd", "local", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=SERVE_TIMEOUT_S,
    )
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "It runs notebooks as you, with this server's environment" in text
    assert "--token-file FILE" in text and "DBCICD_LOCAL_TOKEN" in text
    assert "listens on 127.0.0.1 only" in text
