"""What a process tree shows other users of the machine while it runs: the command line of every process and the
environment of every child, sampled from Linux's /proc every few milliseconds.

Any local user can read `/proc/<pid>/cmdline` of any process (and the environment of their own), so a secret put
on a command line — or in a child's environment — is as good as published.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
SAMPLE_INTERVAL_S = 0.005


def supported() -> bool:
    """Whether this machine has a Linux /proc to read."""
    return sys.platform.startswith("linux") and (PROC / "self" / "cmdline").exists()


@dataclass
class Seen:
    """Every distinct command line and child environment seen (a process that execs shows more than one)."""

    command_lines: set[tuple[int, bytes]] = field(default_factory=set)
    environments: set[tuple[int, bytes]] = field(default_factory=set)
    samples: int = 0

    @property
    def processes(self) -> set[int]:
        return {pid for pid, _ in self.command_lines}

    def texts(self) -> list[tuple[str, bytes]]:
        """(where it was seen, its bytes) for each command line and environment."""
        found = [(f"the command line of process {pid}", line) for pid, line in self.command_lines]
        return found + [(f"the environment of process {pid}", env) for pid, env in self.environments]


class ProcessWatch:
    """Samples `root` and its descendants from start() until stop()."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.seen = Seen()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, name="process-watch", daemon=True)

    def start(self) -> ProcessWatch:
        self._thread.start()
        return self

    def stop(self) -> Seen:
        self._stop.set()
        self._thread.join()
        return self.seen

    def _sample_until_stopped(self) -> None:
        while True:
            self._sample()
            if self._stop.wait(SAMPLE_INTERVAL_S):
                self._sample()  # once more: the last moments before the caller saw the root end
                return

    def _sample(self) -> None:
        self.seen.samples += 1
        root_line = _read(PROC / str(self.root) / "cmdline")
        for pid in self._tree():
            command_line = _read(PROC / str(pid) / "cmdline")
            if command_line:
                self.seen.command_lines.add((pid, command_line))
            # The root's environment is what the agent gave it; a child forked but not yet exec'd still shows it.
            if pid != self.root and command_line and command_line != root_line:
                environment = _read(PROC / str(pid) / "environ")
                if environment:
                    self.seen.environments.add((pid, environment))

    def _tree(self) -> list[int]:
        """The root and every process descending from it, from each process's parent id in /proc/<pid>/stat."""
        parents: dict[int, int] = {}
        for entry in os.listdir(PROC):
            if entry.isdigit():
                stat = _read(PROC / entry / "stat")
                # "pid (command) state ppid ...": the command may hold spaces and parentheses, so split after ')'.
                fields = stat[stat.rfind(b")") + 2 :].split()
                if len(fields) > 1:
                    parents[int(entry)] = int(fields[1])
        tree, frontier = [self.root], [self.root]
        while frontier:
            frontier = [pid for pid, parent in parents.items() if parent in frontier]
            tree += frontier
        return tree


def _read(path: Path) -> bytes:
    """The file's bytes; empty if the process is gone or not ours to read."""
    try:
        return path.read_bytes()
    except OSError:
        return b""
