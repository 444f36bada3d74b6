"""Processes as Linux /proc shows them, each named by id and start time: a process id alone names a process only
while it runs, so a leftover is one whose id is still taken by a process that started when it did."""

from __future__ import annotations

import time
from pathlib import Path

PROC = Path("/proc")
Process = tuple[int, int]  # (pid, start time in clock ticks since boot)


def supported() -> bool:
    return (PROC / "self" / "stat").exists()


def _fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (proc(5)); None once the process has ended (a zombie
    has ended: it only waits to be reaped)."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return None if fields[0] == "Z" else fields


def process(pid: int) -> Process | None:
    fields = _fields(pid)
    return None if fields is None else (pid, int(fields[19]))  # field 22: starttime


def children(pid: int) -> set[Process]:
    found = set()
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (fields := _fields(int(entry.name))) is not None and int(fields[1]) == pid:
            found.add((int(entry.name), int(fields[19])))
    return found


def descendants(pid: int) -> set[Process]:
    """Every process below `pid`."""
    found: set[Process] = set()
    pending = [pid]
    while pending:
        below = children(pending.pop())
        found |= below
        pending.extend(p for p, _ in below)
    return found


def running(processes: set[Process]) -> set[Process]:
    """Those of `processes` that still run."""
    return {p for p in processes if process(p[0]) == p}


def left_after(processes: set[Process], seconds: float) -> set[Process]:
    """What of `processes` still runs `seconds` from now (less when all have ended before)."""
    deadline = time.monotonic() + seconds
    while running(processes) and time.monotonic() < deadline:
        time.sleep(0.05)
    return running(processes)


def describe(processes: set[Process]) -> str:
    """One line per process: its id and command line."""
    lines = []
    for pid, _ in sorted(processes):
        try:
            command = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            command = "(ended)"
        lines.append(f"{pid}: {command}")
    return "\n".join(lines)
