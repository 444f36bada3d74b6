"""How long a `test` step takes to fail clearly when its first call cannot succeed, and how many warnings it prints.

Kinds: a rejected token (the local workspace answers 403 "Invalid access token.", as real workspaces do), and a
workspace URL that leads nowhere — a closed port on 127.0.0.1, a name that cannot resolve (`nonexistent.invalid`),
TLS to the local workspace's plain-HTTP port, and that port without a scheme (https:// assumed). Each runs through
the CLI (`python -m dbcicd test`) and through the packaged task as the agent runs it (the VSIX in dist/,
`npm run package`). Only loopback and `.invalid` are used.

Time is wall time from process start to exit; the target is 3 s for a rejected token, 15 s for a wrong host. The
CLI's start-up (Python and dbcicd's imports, which are most of a rejected token's time) is shown on its own.

    python bench/failfast.py [--repeat 3] [--no-task]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from _localserver import local_workspace

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tools")]  # the task harness and the agent emulation

from localagent import newest_source  # noqa: E402
from task_harness import Agent, PackagedTask, TaskRun  # noqa: E402

TOKEN_TARGET_S = 3.0
HOST_TARGET_S = 15.0
WRONG_TOKEN = "dapi-not-the-token-0000"
GIT_URL = "https://github.com/example/project"
SHA = "0123456789abcdef0123456789abcdef01234567"


@dataclass(frozen=True)
class Kind:
    name: str
    host: str
    token_ok: bool  # False: the rejected token
    target_s: float


@dataclass(frozen=True)
class Outcome:
    seconds: float
    warnings: int
    error: str  # the first error line, to show that the failure is the expected one


def kinds(workspace_host: str, closed_port: int) -> list[Kind]:
    port = workspace_host.rsplit(":", 1)[1]
    return [
        Kind("wrong token (403)", workspace_host, False, TOKEN_TARGET_S),
        Kind("closed port", f"https://127.0.0.1:{closed_port}", True, HOST_TARGET_S),
        Kind("unresolvable name", "https://nonexistent.invalid", True, HOST_TARGET_S),
        Kind("TLS to a plain-HTTP port", f"https://127.0.0.1:{port}", True, HOST_TARGET_S),
        Kind("URL without a scheme", f"127.0.0.1:{port}", True, HOST_TARGET_S),
    ]


def through_cli(kind: Kind, token: str, cwd: Path) -> Outcome:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "TF_BUILD", "SYSTEM_", "BUILD_"))}
    env.update({"DATABRICKS_HOST": kind.host, "DATABRICKS_TOKEN": token if kind.token_ok else WRONG_TOKEN})
    command = [sys.executable, "-m", "dbcicd", "test", "--git-url", GIT_URL, "--git-provider", "gitHub"]
    command += ["--branch", "main", "--commit", SHA, "-n", "tests/test_ok"]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - started
    lines = (done.stdout + done.stderr).splitlines()
    errors = [line for line in lines if line.startswith("dbcicd: error:")]
    return Outcome(seconds, sum(line.startswith("WARNING") for line in lines), errors[0] if errors else "(none)")


def through_task(kind: Kind, agent: Agent) -> Outcome:
    if kind.token_ok:
        connection = replace(agent.connection, url=kind.host)
    else:
        connection = replace(agent.connection, parameters={"apitoken": WRONG_TOKEN})
    inputs = {"command": "test", "notebooks": "tests/test_ok", "gitProvider": "gitHub"}
    variables = {"Build.Repository.Uri": GIT_URL, "Build.SourceBranch": "refs/heads/main", "Build.SourceVersion": SHA}
    run: TaskRun = agent.run(inputs, variables, connections={"databricksConnection": connection})
    issues = run.commands("task.logissue")
    warnings = sum(c.properties.get("type") == "warning" for c in issues)
    errors = [c.data for c in issues if c.properties.get("type") == "error"]
    return Outcome(run.seconds, warnings, errors[0] if errors else "(none)")


def packaged_task(base: Path) -> PackagedTask:
    built = sorted((ROOT / "dist").glob("*.vsix"), key=lambda p: p.stat().st_mtime)
    if not built or built[-1].stat().st_mtime < newest_source(ROOT):
        raise SystemExit("dist/*.vsix is missing or older than the sources: run `npm run package` (or pass --no-task)")
    return PackagedTask.from_vsix(built[-1], base / "vsix")


def startup_seconds(cwd: Path, repeat: int) -> float:
    """p50 of Python start-up plus the imports `dbcicd test` needs before its first call."""
    command = [sys.executable, "-c", "import dbcicd.entry.cli, dbcicd.steps.commands, dbcicd.connect.auth"]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def report(entry: str, kind: Kind, outcomes: list[Outcome]) -> bool:
    p50 = statistics.median(o.seconds for o in outcomes)
    warnings = max(o.warnings for o in outcomes)
    met = p50 <= kind.target_s
    print(
        f"{entry:<5} {kind.name:<26} p50 {p50:6.2f} s  max {max(o.seconds for o in outcomes):6.2f} s  "
        f"warnings {warnings:3d}  ratio {p50 / kind.target_s:4.2f} of {kind.target_s:g} s -> "
        f"{'met' if met else 'MISSED'}"
    )
    print(f"      {outcomes[0].error[:160]}")
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-task", action="store_true", help="only the CLI (no packaged task, no Node)")
    args = parser.parse_args(argv)
    node = shutil.which("node")
    all_met = True
    with tempfile.TemporaryDirectory() as tmp, local_workspace() as server_env, socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        base = Path(tmp)
        task = None if args.no_task or node is None else packaged_task(base)
        (base / "tools").mkdir()
        startup = startup_seconds(base, args.repeat)
        print(f"python start-up + dbcicd imports: p50 {startup:.2f} s (in every figure below)")
        server = WorkspaceAt(server_env["DATABRICKS_HOST"], server_env["DATABRICKS_TOKEN"])
        for number, kind in enumerate(kinds(server.host, closed.getsockname()[1])):
            cli = [through_cli(kind, server.token, base) for _ in range(args.repeat)]
            all_met &= report("cli", kind, cli)
            if task is not None:
                runs = []
                for i in range(args.repeat):
                    work = base / f"agent-{number}-{i}"
                    agent = Agent(task, node, server, base / "tools", work)  # type: ignore[arg-type]
                    runs.append(through_task(kind, agent))
                all_met &= report("task", kind, runs)
    return 0 if all_met else 1


@dataclass(frozen=True)
class WorkspaceAt:
    """What the task harness reads of a local workspace (host and token), for one served by another process."""

    host: str
    token: str


if __name__ == "__main__":
    sys.exit(main())
