"""What the local workspace started, recorded by process id and start time, so that a workspace started later on the
same root can stop what one that was killed left running, and nothing else.

A process id alone names a process only while it runs: once it has ended the system gives the id to another. The
pair (id, start time) names one process for good. Nothing is ever told apart by its name or command line.

Where a lifeline holds (lifeline.py), a killed workspace's processes end by themselves; these records are for what
outlived it all the same: a watcher killed before the workspace, processes of a workspace that did not start them
on a lifeline.

Standard library only: the notebook kernel records the Spark servers it starts (spark/servers.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def of(pid: int, what: str) -> dict[str, Any]:
    """The record of running process `pid`; `what` says what it is, for the line that says it was stopped."""
    return {"pid": pid, "start_time": start_time(pid), "what": what}


def write(path: Path, record: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record), encoding="utf-8")


def read(path: Path) -> dict[str, Any] | None:
    """The record in `path`, None when there is none or it is not one."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        int(record["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if isinstance(record, dict) else None


def running(record: Mapping[str, Any]) -> bool:
    """Whether the process recorded still runs: its id is taken by a process started when it was."""
    started = record.get("start_time")
    return started is not None and start_time(int(record["pid"])) == started


def start_time(pid: int) -> str | None:
    """When process `pid` started, as this system tells it; None when no process has that id (or it has ended and
    only waits to be reaped) or the system cannot tell.

    Linux: field 22 of /proc/<pid>/stat, "the time the process started after system boot", in clock ticks (proc(5)).
    Other POSIX systems (macOS): `ps -o lstart= -p PID`, its start date to the second (ps(1)). Windows: not read
    (it would take the Win32 API), so nothing is ever stopped there by a record."""
    stat = Path(f"/proc/{pid}/stat")
    if Path("/proc/self/stat").exists():
        try:
            text = stat.read_text()
        except OSError:
            return None
        fields = text[text.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
        return None if fields[0] == "Z" else fields[19]
    if os.name != "posix":
        return None
    done = subprocess.run(["ps", "-o", "stat=,lstart=", "-p", str(pid)], capture_output=True, text=True, check=False)
    state, _, started = done.stdout.strip().partition(" ")
    return None if done.returncode != 0 or not started or state.startswith("Z") else started.strip()


def stop_leftovers(records: Iterable[Path]) -> None:
    """Stop the process group of every recorded process still running, saying so on stderr, one line each; the
    records go either way (the processes they name have ended)."""
    for path in records:
        record = read(path)
        if record is not None and running(record):
            _kill_group(int(record["pid"]))
            print(
                f"Stopped process {record['pid']} ({record.get('what') or 'unnamed'}), left running by a local "
                "workspace on this root that did not stop cleanly.",
                file=sys.stderr,
                flush=True,
            )
        with contextlib.suppress(OSError):
            path.unlink()


def _kill_group(pid: int) -> None:
    """Every process the workspace records leads a group of its own (lifeline.start): the group goes with it. Only
    reached where a start time can be read, which is POSIX only."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
