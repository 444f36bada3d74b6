"""The CLI in a real terminal: a tmux session records every byte `dbcicd test` writes while its live task table is
up, what the screen shows when it ends, and what Ctrl+C (the terminal's, not a signal sent to a pid) does.

A line printed above the live table (a task that ended, a warning) redraws the table; the recording proves no redraw
shows raw markup such as `[red]FAILED[/]`, however many lines print while tasks are running.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from dbcicd_localworkspace import FaultRule, LocalWorkspaceServer

HEADER = "# Databricks notebook source\n"
NOTEBOOKS = {
    # Ends while the others still run, so its line prints above a table showing RUNNING tasks.
    "tests/test_a_fails.py": HEADER + "raise ValueError('expected [3] rows, got 4')\n",
    "tests/test_b_slow.py": HEADER + "import time\ntime.sleep(2)\n",
    "tests/test_c_slow.py": HEADER + "import time\ntime.sleep(3)\n",
}
MARKUP = ("[red]", "[cyan]", "[green]", "[/]")
TIMEOUT_S = 120

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Terminal:
    """A tmux server of its own (its own socket, and only `environ`: none of this process's CI or pipeline variables,
    which turn the live table off), one 120x40 window."""

    def __init__(self, folder: Path, environ: dict[str, str]) -> None:
        self.socket = folder / "tmux.sock"
        self.recording = folder / "recording.bin"
        self.done = folder / "exit-code"
        self.environ = environ

    def tmux(self, *args: str) -> str:
        command = ["tmux", "-S", str(self.socket), "-f", "/dev/null", *args]
        return subprocess.run(command, env=self.environ, check=True, capture_output=True, text=True, timeout=30).stdout

    def start(self, command: str) -> None:
        """Start `command` in the window, recording every byte it writes from the first (the window waits for a key
        until the recording is set up). The shell around it survives Ctrl+C (a trap with a command is not inherited)
        to note the exit code."""
        script = f"trap true INT; read go; {command}; echo $? > {self.done}; sleep {TIMEOUT_S}"
        self.tmux("new-session", "-d", "-x", "120", "-y", "40", "sh", "-c", script)
        self.tmux("pipe-pane", "-o", f"cat > {self.recording}")
        self.tmux("send-keys", "Enter")

    def wait_for(self, text: str) -> None:
        """Until the screen shows `text`."""
        deadline = time.monotonic() + TIMEOUT_S
        while text not in self.screen():
            assert time.monotonic() < deadline, f"{text!r} never showed:\n{self.screen()}"
            time.sleep(0.1)

    def exit_code(self) -> int:
        deadline = time.monotonic() + TIMEOUT_S
        while not self.done.exists() or not self.done.read_text().strip():
            assert time.monotonic() < deadline, self.screen()
            time.sleep(0.2)
        return int(self.done.read_text())

    def run(self, command: str) -> int:
        self.start(command)
        return self.exit_code()

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-J")

    def close(self) -> None:
        if self.socket.exists():
            subprocess.run(["tmux", "-S", str(self.socket), "kill-server"], capture_output=True, timeout=30)


def terminal_for(local_workspace: LocalWorkspaceServer, folder: Path) -> Terminal:
    environ = {
        "PATH": os.environ["PATH"],
        "HOME": str(folder),
        "TERM": "xterm-256color",
        "DATABRICKS_HOST": local_workspace.host,
        "DATABRICKS_TOKEN": local_workspace.token,
    }
    return Terminal(folder, environ)


def dbcicd_test(folder: Path, url: str, parent: str, notebooks: str) -> str:
    """The shell command of `dbcicd test` run from `folder`."""
    args = f"test --git-url {url} --git-provider gitHub --branch main --temp-folder {parent} -n '{notebooks}'"
    return f"cd {folder} && {sys.executable} -m dbcicd {args}"


def test_live_table_never_shows_markup_in_a_real_terminal(
    local_workspace: LocalWorkspaceServer, make_remote: Callable[..., Any], tmp_path: Path
) -> None:
    """`dbcicd test` of three notebooks, one failing while the others run: the table is drawn with styled cells,
    every redraw without markup, and the screen ends with the report."""
    remote = make_remote(NOTEBOOKS)
    parent = f"/Repos/terminal-{time.time_ns() % 10**9}"
    terminal = terminal_for(local_workspace, tmp_path)
    try:
        assert terminal.run(dbcicd_test(tmp_path, remote.url, parent, "tests/test_*")) == 1, terminal.screen()
        recorded = terminal.recording.read_bytes().decode("utf-8", errors="replace")
        screen = terminal.screen()
    finally:
        terminal.close()

    assert "\x1b[?25l" in recorded, "the live table was drawn (rich hides the cursor while it is up)"
    assert "RUNNING" in recorded and "\x1b[31mFAILED" in recorded, "styled cells were drawn"
    for markup in MARKUP:
        assert markup not in recorded, f"raw markup {markup} reached the terminal:\n{recorded}"
    assert "tests_test_a_fails: FAILED" in screen and "expected [3] rows, got 4" in screen


def test_ctrl_c_twice_ends_with_what_was_cleaned_up(
    faults: LocalWorkspaceServer, make_remote: Callable[..., Any], client: WorkspaceClient, tmp_path: Path
) -> None:
    """Ctrl+C while the run is going, then Ctrl+C again during clean-up (its cancel call made slow): the first says
    it is cleaning up, the second is acknowledged, and the closing line names the cancelled run and the deleted
    folder; exit code 130."""
    remote = make_remote({"tests/test_slow.py": HEADER + "import time\ntime.sleep(60)\n"})
    parent = f"/Repos/ctrl-c-{time.time_ns() % 10**9}"
    faults.faults.replace([FaultRule(route="POST /api/*/jobs/runs/cancel", latency_ms=1500, times=1)])
    terminal = terminal_for(faults, tmp_path)
    try:
        terminal.start(dbcicd_test(tmp_path, remote.url, parent, "tests/test_slow"))
        terminal.wait_for("RUNNING")
        terminal.tmux("send-keys", "C-c")
        terminal.wait_for("stopping the run and cleaning up")
        terminal.tmux("send-keys", "C-c")
        assert terminal.exit_code() == 130, terminal.screen()
        screen = terminal.screen()
    finally:
        terminal.close()

    assert "WARNING: Cancelled (SIGINT): stopping the run and cleaning up (at most 4 s)" in screen
    assert "WARNING: SIGINT again: still cleaning up (at most 4 s)" in screen, screen
    [run_id] = [int(line.split()[1].rstrip(":")) for line in screen.splitlines() if line.startswith("Run ")]
    [folder] = [line.split()[-1] for line in screen.splitlines() if line.startswith("Deleted the temporary Git folder")]
    assert folder.startswith(parent + "/")
    closing = f"dbcicd: Cancelled: the run {run_id} was cancelled and the temporary Git folder {folder} was deleted"
    assert closing in screen
    assert client.jobs.get_run(run_id).state.result_state == jobs.RunResultState.CANCELED
