"""Processes a notebook starts (%sh, dbutils.notebook.run), kept track of so that a stopped kernel takes them along.

The run engine kills the kernel's whole process group on cancel and timeout, so children stay in that group. What a
group kill cannot do is stop one child kernel of dbutils.notebook.run whose own timeout passed: the parent
terminates that child, and the SIGTERM handler installed here makes the child terminate its own children first.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

STOP_GRACE_SECONDS = 2.0
_running: set[subprocess.Popen[Any]] = set()


@contextlib.contextmanager
def started(args: Any, **popen: Any) -> Iterator[subprocess.Popen[Any]]:
    """Popen(args, **popen), output in order with ours, stopped if still running when the block is left."""
    sys.stdout.flush()
    sys.stderr.flush()
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, **popen)
    _running.add(process)
    try:
        yield process
    finally:
        if process.poll() is None:
            stop(process)
        _running.discard(process)


def stop(process: subprocess.Popen[Any]) -> None:
    """Ask the process to end (a child kernel then stops its own children), then kill it if it does not."""
    process.terminate()
    try:
        process.wait(STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def install_stop_handler() -> None:
    """On SIGTERM (POSIX), terminate the processes this kernel started, then exit at once as a killed process."""
    if os.name == "posix":
        signal.signal(signal.SIGTERM, _on_sigterm)


def _on_sigterm(signum: int, _frame: object) -> None:
    for process in list(_running):
        with contextlib.suppress(OSError):
            process.terminate()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(128 + signum)
