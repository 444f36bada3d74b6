"""What re-running only what failed saves: the second job attempt of a `test` step whose first attempt had one of
ten 5-second notebooks fail, against the same second attempt re-running everything (`--no-rerun-failed-only`).

Each figure is the wall time of `python -m dbcicd test` (CLI start-up, temporary Git folder, run, results, clean-up)
against a local workspace in its own process, for two builds of the same repository: build A re-runs what failed,
build B re-runs everything. The local workspace runs at most 8 notebooks at once, so a full run of ten takes two
rounds. What is left of the second attempt beyond the one notebook it re-runs is the step's own work (start-up,
Git folder, finding the earlier run, results, clean-up), printed as overhead.

    python bench/rerun.py [--tasks 10] [--seconds 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _localserver import local_workspace

NOTEBOOK = """# Databricks notebook source
import os, time
time.sleep({seconds})
if {flaky} and not os.path.exists({marker!r}):
    raise ConnectionError("the data source timed out")
"""


def repository(folder: Path, tasks: int, seconds: float, marker: Path) -> str:
    """A Git repository of `tasks` notebooks (the first one flaky); returns its commit."""
    (folder / "tests").mkdir(parents=True)
    for i in range(tasks):
        source = NOTEBOOK.format(seconds=seconds, flaky=i == 0, marker=str(marker))
        (folder / "tests" / f"test_{i:02d}.py").write_text(source)
    git = ["git", "-C", str(folder), "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "notebooks"], check=True)
    return subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()


def attempt(env: dict[str, str], repo: Path, sha: str, build: str, number: int, *flags: str) -> tuple[float, int]:
    """One job attempt of the step through the CLI: (wall seconds, exit code)."""
    command = [sys.executable, "-m", "dbcicd", "test", "--git-url", repo.as_uri(), "--git-provider", "gitHub"]
    command += ["--notebooks", "tests/test_*", "--temp-folder", "/Repos/bench-rerun", "--report-dir", str(repo.parent)]
    for name, value in (
        ("Build.BuildId", build),
        ("Build.SourceBranch", "refs/heads/main"),
        ("Build.SourceVersion", sha),
        ("System.JobAttempt", str(number)),
        ("System.TaskInstanceId", str(uuid.uuid4())),
    ):
        command += ["--var", f"{name}={value}"]
    started = time.perf_counter()
    done = subprocess.run([*command, *flags], cwd=repo, env={**os.environ, **env}, capture_output=True, text=True)
    return time.perf_counter() - started, done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp, local_workspace() as env:
        marker = Path(tmp) / "marker"
        repo = Path(tmp) / "repo"
        sha = repository(repo, args.tasks, args.seconds, marker)
        figures = {}
        for build, flags in (("101", ()), ("102", ("--no-rerun-failed-only",))):
            marker.unlink(missing_ok=True)
            first, code = attempt(env, repo, sha, build, 1)
            assert code != 0, "the first attempt should fail"
            marker.write_text("")
            second, code = attempt(env, repo, sha, build, 2, *flags)
            assert code == 0, "the second attempt should succeed"
            figures[build] = (first, second)

    rerun, full = figures["101"][1], figures["102"][1]
    print(f"{args.tasks} notebooks of {args.seconds:g} s, one failing on the first attempt")
    print(f"first attempt (all tasks, one fails):   {figures['101'][0]:.1f} s")
    print(f"second attempt, re-running what failed: {rerun:.1f} s")
    print(f"second attempt, re-running everything:  {full:.1f} s")
    print(f"overhead of the re-run beyond its notebook: {rerun - args.seconds:.1f} s")
    print(f"ratio re-run / full {rerun / full:.2f} (saved {full - rerun:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
