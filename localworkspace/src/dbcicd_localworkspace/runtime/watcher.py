"""The watcher of a process started on the local workspace's lifeline (lifeline.py says why and how):
`python -I -S watcher.py FD -- COMMAND...`, FD being the lifeline's read end (its handle on Windows).

On POSIX it forks the watcher and execs COMMAND, which keeps this process's id and session; the watcher kills the
process group when the lifeline closes, and goes away once COMMAND has ended by itself. On Windows it runs COMMAND as
its child and kills that child's tree when the lifeline closes. Imports little, so that a notebook's start pays
a few milliseconds for it.
"""

from __future__ import annotations

import os
import select
import signal
import sys

ORPHAN_POLL_SECONDS = 1.0  # how soon a watcher whose command ended by itself goes away


def main(argv: list[str]) -> int:
    token, command = int(argv[0]), argv[2:]
    if os.name == "nt":
        return _relay(token, command)
    parent = os.getpid()
    if os.getpgrp() != parent:  # the watcher kills its group: only ever one of its own (lifeline.start makes it so)
        print("watcher.py: must lead its own process group", file=sys.stderr)
        return 2
    if os.fork() == 0:
        try:
            _watch(token, parent)
        finally:
            os._exit(0)  # never on to the exec below
    try:
        os.execvp(command[0], command)
    except OSError as err:
        print(f"cannot start {command[0]}: {err}", file=sys.stderr)
        return 127


def _watch(fd: int, parent: int) -> None:
    """Kill the process group when the lifeline closes (nobody writes to it: readable means closed); return once
    `parent`, the command, has ended by itself (this process then has another parent)."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for stream in (0, 1, 2):  # holding the command's output open would keep its readers waiting
        os.dup2(devnull, stream)
    while os.getppid() == parent:
        closed, _, _ = select.select([fd], [], [], ORPHAN_POLL_SECONDS)
        if closed:
            os.killpg(0, signal.SIGKILL)  # the group: the command, what it started in it, and this watcher


def _relay(handle: int, command: list[str]) -> int:
    """Windows: run the command as a child, handing it the lifeline too, and kill its tree when the lifeline
    closes (a read then fails with a broken pipe)."""
    import contextlib
    import msvcrt
    import subprocess
    import threading

    fd = msvcrt.open_osfhandle(handle, os.O_RDONLY)
    info = subprocess.STARTUPINFO(lpAttributeList={"handle_list": [handle]})  # type: ignore[attr-defined]
    child = subprocess.Popen(command, startupinfo=info, close_fds=True)

    def kill_when_closed() -> None:
        with contextlib.suppress(OSError):
            os.read(fd, 1)
        subprocess.run(["taskkill", "/T", "/F", "/PID", str(child.pid)], capture_output=True, check=False)

    threading.Thread(target=kill_when_closed, daemon=True).start()
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
