"""What `dbcicd test` costs on top of the run itself, on the local workspace.

Overhead = wall time of the whole command (process start to exit) minus the run's own duration (end_time -
start_time as Databricks reports it): process start-up and imports, auth, Git folder create/checkout/delete,
notebook resolution, submit, noticing the end, fetching outputs. Start-up and import time is shown separately.

    python bench/overhead.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from databricks.sdk import WorkspaceClient

from _localserver import local_workspace, percentile

TARGET_S = 2.0
TRIVIAL = "# Databricks notebook source\ndbutils.notebook.exit('ok')\n"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "b@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "b@example.com",
}


def make_remote(base: Path) -> str:
    """A bare repository holding one trivial test notebook; returns its file:// URL."""
    work, bare = base / "work", base / "remote.git"
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True, env=env)
    subprocess.run(["git", "clone", "-q", str(bare), str(work)], check=True, env=env, capture_output=True)
    (work / "tests").mkdir()
    (work / "tests" / "test_trivial.py").write_text(TRIVIAL)
    for args in (
        ["checkout", "-q", "-B", "main"],
        ["add", "-A"],
        ["commit", "-q", "-m", "t"],
        ["push", "-q", "origin", "main"],
    ):
        subprocess.run(["git", *args], cwd=work, check=True, env=env)
    return bare.as_uri()


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp, local_workspace() as server_env:
        base = Path(tmp)
        url = make_remote(base)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "TF_BUILD"))}
        env.update(server_env)
        client = WorkspaceClient(
            host=server_env["DATABRICKS_HOST"], token=server_env["DATABRICKS_TOKEN"], auth_type="pat"
        )
        imports = [
            timed(
                [sys.executable, "-c", "import dbcicd.entry.cli, dbcicd.steps.commands, dbcicd.connect.auth"], env, base
            )
            for _ in range(args.repeat)
        ]
        bare = [timed([sys.executable, "-c", "pass"], env, base) for _ in range(args.repeat)]
        overheads, walls = [], []
        for i in range(args.repeat):
            outputs = base / f"outputs-{i}.json"
            wall = timed(
                [
                    sys.executable,
                    "-m",
                    "dbcicd",
                    "test",
                    "--outputs-json",
                    str(outputs),
                    "--git-url",
                    url,
                    "--git-provider",
                    "gitHub",
                    "--branch",
                    "main",
                    "-n",
                    "tests/test_trivial",
                ],
                env,
                base,
            )
            run = client.jobs.get_run(int(json.loads(outputs.read_text())["runId"]))
            run_s = (run.end_time - run.start_time) / 1000  # type: ignore[operator]
            walls.append(wall)
            overheads.append(wall - run_s)

    p50 = statistics.median(overheads)
    print(f"python start-up alone:                 p50 {statistics.median(bare):.3f} s")
    print(f"python start-up + dbcicd imports:      p50 {statistics.median(imports):.3f} s")
    print(f"`dbcicd test` wall time:               p50 {statistics.median(walls):.3f} s")
    print(f"overhead (wall - run duration):        p50 {p50:.3f} s, p95 {percentile(overheads, 0.95):.3f} s")
    print(f"target p50 <= {TARGET_S} s: ratio {p50 / TARGET_S:.2f} -> {'met' if p50 <= TARGET_S else 'MISSED'}")
    return 0 if p50 <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
