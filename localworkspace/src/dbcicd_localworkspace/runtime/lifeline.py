"""Every process the local workspace starts ends with it, however the workspace ends (SIGKILL, the kernel's
out-of-memory killer, a closed terminal): no clean-up code of the workspace has to run.

The lifeline is a pipe. The process that hosts the workspace makes it and keeps its write end, which is never handed
to a child; every process it starts gets the read end. Nobody ever writes to the pipe, so the read end becomes
readable only when the last write end is closed, and the operating system closes that when the workspace process
ends, whatever ended it ("If all file descriptors referring to the write end of a pipe have been closed, then an
attempt to read(2) from the pipe will see end-of-file", pipe(7); Windows: ReadFile on an anonymous pipe whose write
handles are all closed fails with ERROR_BROKEN_PIPE, learn.microsoft.com "Anonymous Pipe Operations").

Why a pipe and not the platform's own means: Linux's parent-death signal (prctl(2) PR_SET_PDEATHSIG) fires when the
*thread* that created the child ends ("the 'parent' in this case is considered to be the thread that created this
process"), so a task started from one of the workspace's worker threads would be killed when that thread ends; it
reaches only the workspace's own children, while a cluster's Spark Connect server is started by a notebook's process
and must outlive it; and it does not exist on macOS. A Windows job object needs the Win32 API through ctypes and
exists only there. A pipe's closing is noticed the same way on Linux, macOS and Windows, and it can be handed down
any number of generations: a notebook's process hands the workspace's lifeline on to the Spark server it starts.

Each process is started through its watcher (`start()`): `python watcher.py FD -- COMMAND...`. On POSIX
it forks a watcher, then execs COMMAND, so the process id the caller holds is COMMAND's (a Spark server's JVM
included: spark-submit and spark-class exec java) and COMMAND runs in a session of its own, as before. The watcher
stays in COMMAND's process group; when the lifeline closes it kills the whole group (COMMAND, whatever COMMAND
started in its group: %sh, %pip, a Spark server's Python workers, and itself); when COMMAND has ended by itself, the
watcher sees its parent change and exits. On Windows, where there is no fork, the script starts COMMAND as its child
and kills its tree (taskkill /T) when the lifeline closes.

Standard library only: the notebook kernel imports this module too (spark/servers.py starts servers from there).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any

VARIABLE = "DBCICD_LOCAL_LIFELINE"  # the lifeline's descriptor (POSIX) or handle (Windows) in a started process
WATCHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "watcher.py")

_own: tuple[int, int] | None = None  # (read end, write end) of the pipe this process made
_adopted: int | None = None  # the read end this process was started with
_lock = threading.Lock()


def start(args: Sequence[str], *, env: Mapping[str, str] | None = None, **popen: Any) -> subprocess.Popen[bytes]:
    """`subprocess.Popen(args, **popen)` in a session (POSIX) or process group (Windows) of its own, which ends
    when this process's lifeline closes. `env` (default: this process's) gets the lifeline's variable."""
    environment = {**(os.environ if env is None else env), VARIABLE: ""}
    if shutil.which(args[0], path=environment.get("PATH")) is None:  # as Popen itself would, not the watcher
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), args[0])
    lifeline = _lifeline()
    environment[VARIABLE] = str(_token(lifeline))
    command = [sys.executable, "-I", "-S", WATCHER, str(_token(lifeline)), "--", *args]
    return subprocess.Popen(command, env=environment, **_own_group(), **_inheriting(lifeline), **popen)


def kill_tree(process: subprocess.Popen[Any]) -> None:
    """Kill a process `start()` started and everything in its group; harmless when they are already gone."""
    if os.name == "posix":
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    elif process.poll() is None:
        subprocess.run(["taskkill", "/T", "/F", "/PID", str(process.pid)], capture_output=True, check=False)


def handed_on() -> dict[str, Any]:
    """Popen options (`env`, and what hands over the descriptor) that give a child in this process's own group (a
    notebook's child kernel) the lifeline, so that what it starts lives as long as the workspace, not as long as
    this process."""
    lifeline = _lifeline()
    return {"env": {**os.environ, VARIABLE: str(_token(lifeline))}, **_inheriting(lifeline)}


def adopt() -> None:
    """Take the lifeline this process was started with out of its environment, so that the processes it starts
    without handing it on (%sh, %pip) do not see a variable naming a descriptor they do not have."""
    global _adopted
    value = os.environ.pop(VARIABLE, "")
    if value.isdigit():
        _adopted = _opened(int(value))


def _lifeline() -> int:
    """The read end this process hands on: the one it was started with, else one of a pipe it makes now."""
    global _own
    if _adopted is None:
        adopt()
    if _adopted is not None:
        return _adopted
    with _lock:
        if _own is None:
            _own = os.pipe()  # neither end inheritable (PEP 446): a child gets the read end only when handed it
            os.register_at_fork(after_in_child=_drop_write_end)
        return _own[0]


def _drop_write_end() -> None:
    """A forked copy of this process (not an exec'd child) must not hold the write end open after this one ends."""
    global _own
    if _own is not None:
        with contextlib.suppress(OSError):
            os.close(_own[1])
        _own = None


def _opened(token: int) -> int | None:
    """The descriptor of a lifeline handed to this process as `token`; None when it was not (a pipe is open there
    only when this process was really handed one, not merely the variable naming it)."""
    with contextlib.suppress(OSError):
        if os.name == "nt":
            import msvcrt

            return msvcrt.open_osfhandle(token, os.O_RDONLY)
        if stat.S_ISFIFO(os.fstat(token).st_mode):
            return token
    return None


def _token(fd: int) -> int:
    """What names the lifeline to a child: the descriptor itself (POSIX), its handle (Windows)."""
    if os.name == "nt":
        import msvcrt

        return int(msvcrt.get_osfhandle(fd))
    return fd


def _inheriting(fd: int) -> dict[str, Any]:
    """Popen options that hand `fd` to the child and nothing else of ours (close_fds stays on)."""
    if os.name != "nt":
        return {"pass_fds": (fd,)}
    handle = _token(fd)
    os.set_handle_inheritable(handle, True)
    info = subprocess.STARTUPINFO(lpAttributeList={"handle_list": [handle]})  # type: ignore[attr-defined]
    return {"startupinfo": info, "close_fds": True}


def _own_group() -> dict[str, Any]:
    if os.name == "posix":
        return {"start_new_session": True}
    return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}  # type: ignore[attr-defined]
