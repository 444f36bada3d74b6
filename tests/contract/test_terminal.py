"""The CLI in a real terminal: a tmux session records every byte `dbcicd test` writes while its live task table is
up, and what the screen shows when it ends.

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

from dbcicd.localworkspace import LocalWorkspaceServer

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

    def run(self, command: str) -> int:
        """Run `command` in the window, recording every byte it writes from the first (the window waits for a key
        until the recording is set up); returns its exit code."""
        script = f"read go; {command}; echo $? > {self.done}; sleep {TIMEOUT_S}"
        self.tmux("new-session", "-d", "-x", "120", "-y", "40", "sh", "-c", script)
        self.tmux("pipe-pane", "-o", f"cat > {self.recording}")
        self.tmux("send-keys", "Enter")
        deadline = time.monotonic() + TIMEOUT_S
        while not self.done.exists() or not self.done.read_text().strip():
            assert time.monotonic() < deadline, self.screen()
            time.sleep(0.2)
        return int(self.done.read_text())

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-J")

    def close(self) -> None:
        if self.socket.exists():
            subprocess.run(["tmux", "-S", str(self.socket), "kill-server"], capture_output=True, timeout=30)


def test_live_table_never_shows_markup_in_a_real_terminal(
    local_workspace: LocalWorkspaceServer, make_remote: Callable[..., Any], tmp_path: Path
) -> None:
    """`dbcicd test` of three notebooks, one failing while the others run: the table is drawn with styled cells,
    every redraw without markup, and the screen ends with the report."""
    remote = make_remote(NOTEBOOKS)
    parent = f"/Repos/terminal-{time.time_ns() % 10**9}"
    terminal = Terminal(
        tmp_path,
        {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "TERM": "xterm-256color",
            "DATABRICKS_HOST": local_workspace.host,
            "DATABRICKS_TOKEN": local_workspace.token,
        },
    )
    args = f"test --git-url {remote.url} --git-provider gitHub --branch main --temp-folder {parent} -n 'tests/test_*'"
    try:
        assert terminal.run(f"cd {tmp_path} && {sys.executable} -m dbcicd {args}") == 1, terminal.screen()
        recorded = terminal.recording.read_bytes().decode("utf-8", errors="replace")
        screen = terminal.screen()
    finally:
        terminal.close()

    assert "\x1b[?25l" in recorded, "the live table was drawn (rich hides the cursor while it is up)"
    assert "RUNNING" in recorded and "\x1b[31mFAILED" in recorded, "styled cells were drawn"
    for markup in MARKUP:
        assert markup not in recorded, f"raw markup {markup} reached the terminal:\n{recorded}"
    assert "tests_test_a_fails: FAILED" in screen and "expected [3] rows, got 4" in screen
