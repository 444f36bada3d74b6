"""A step whose first call cannot succeed ends at once with one clear error: a rejected token, or a workspace URL that
leads nowhere (a closed port, a name that does not resolve, TLS to a plain-HTTP port, a URL without its scheme).

Each kind runs through the CLI (`python -m dbcicd test`) and through the packaged task as the agent runs it. A
rejected token must end the step within a few seconds with one error and no warning, and clean-up must not look
for the temporary Git folder whose creation was refused. A host never reached must fail well within the retry
budget, naming the host and what to check. Bounds are loose (targets: 3 s and 15 s; see bench/failfast.py).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from task_runs import build_variables, unique

from dbcicd_localworkspace import LocalWorkspaceServer
from task_harness import Agent, TaskRun

TOKEN_BOUND_S = 10  # target 3 s
HOST_BOUND_S = 30  # target 15 s
MAX_HOST_WARNINGS = 3  # the probe's retries while the host had its few seconds to answer
WRONG_TOKEN = "dapi-not-the-token-0000"
GIT_URL = "https://github.com/example/project"
SHA = "0123456789abcdef0123456789abcdef01234567"
CREDENTIALS_REFUSED = r"did not accept the credentials of .*\(40[13][: ]"
CHECK_URL = r"Check the workspace URL \(({source})\) and that this agent can reach it"
CLEANUP_CALLS = ("GET /api/2.0/workspace/get-status", "DELETE /api/2.0/repos/")  # looking for the folder, deleting it


@dataclass(frozen=True)
class WrongHost:
    id: str
    url: str  # as the user typed it
    error: str  # what the one error must say after "Cannot connect to <host>: "


@pytest.fixture(scope="module")
def closed_port() -> Iterator[int]:
    """A loopback port bound but never listening: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def wrong_hosts(workspace: LocalWorkspaceServer, closed_port: int) -> list[WrongHost]:
    http_port = workspace.host.rsplit(":", 1)[1]
    plain_http = r"the port answers plain HTTP, not HTTPS \(TLS handshake failed: WRONG_VERSION_NUMBER\)"
    return [
        WrongHost("closed port", f"https://127.0.0.1:{closed_port}", "connection refused"),
        WrongHost(
            "unresolvable name", "https://nonexistent.invalid", r"its name does not resolve \(DNS lookup failed\)"
        ),
        WrongHost("TLS to a plain-HTTP port", f"https://127.0.0.1:{http_port}", plain_http),
        WrongHost(
            "URL without a scheme",
            f"127.0.0.1:{http_port}",
            plain_http + rf"\. .* is '127\.0\.0\.1:{http_port}', without a scheme, so https:// was assumed: write the "
            r"URL in full",
        ),
    ]


HOST_IDS = ["closed port", "unresolvable name", "TLS to a plain-HTTP port", "URL without a scheme"]


def cleanup_calls(workspace: LocalWorkspaceServer, before: Counter[str]) -> list[str]:
    """Calls that look for or delete a Git folder, made since `before` (a copy of the workspace's call counts)."""
    made = Counter(workspace.calls) - before
    return [call for call in made if call.startswith(CLEANUP_CALLS)]


def normalized(url: str) -> str:
    return url if "://" in url else f"https://{url}"


# --- through the CLI --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CliRun:
    returncode: int
    output: str
    seconds: float

    @property
    def errors(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.startswith("dbcicd: error:")]

    @property
    def warnings(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.startswith("WARNING")]


def cli_test(host: str, token: str, temp_folder: str, cwd: Path) -> CliRun:
    """`dbcicd test` as a developer's shell runs it: DATABRICKS_HOST/TOKEN, no pipeline variables."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DATABRICKS_", "ARM_", "BUILD_", "SYSTEM_", "AGENT_")) and name != "TF_BUILD"
    }
    env.update({"DATABRICKS_HOST": host, "DATABRICKS_TOKEN": token})
    command = [sys.executable, "-m", "dbcicd", "test", "--git-url", GIT_URL, "--git-provider", "gitHub"]
    command += ["--branch", "main", "--commit", SHA, "--temp-folder", temp_folder, "-n", "tests/test_ok"]
    started = time.monotonic()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    return CliRun(done.returncode, done.stdout + done.stderr, time.monotonic() - started)


def test_cli_wrong_token_fails_at_once_with_one_error(
    local_workspace: LocalWorkspaceServer, client: WorkspaceClient, tmp_path: Path
) -> None:
    """401 on the first call: one error naming the credentials, no warning, no clean-up call, nothing left."""
    parent = f"/Repos/{unique('fail-fast-cli')}"
    before = Counter(local_workspace.calls)
    run = cli_test(local_workspace.host, WRONG_TOKEN, parent, tmp_path)
    assert run.returncode == 2, run.output
    assert len(run.errors) == 1 and re.search(CREDENTIALS_REFUSED, run.errors[0]), run.output
    assert run.warnings == [], run.output
    assert run.seconds < TOKEN_BOUND_S, f"{run.seconds:.1f} s\n{run.output}"
    assert cleanup_calls(local_workspace, before) == [], "clean-up looked for a folder whose creation was refused"
    assert list(client.repos.list(path_prefix=parent + "/")) == []


@pytest.mark.parametrize("kind", HOST_IDS)
def test_cli_wrong_host_fails_naming_the_host(
    kind: str, local_workspace: LocalWorkspaceServer, closed_port: int, tmp_path: Path
) -> None:
    """A host never reached: one error naming it, why, and where its URL came from; within the bound."""
    wrong = next(k for k in wrong_hosts(local_workspace, closed_port) if k.id == kind)
    run = cli_test(wrong.url, local_workspace.token, "/Repos/ci", tmp_path)
    assert run.returncode == 2, run.output
    source = CHECK_URL.format(source="environment variable DATABRICKS_HOST")
    expected = rf"Cannot connect to {re.escape(normalized(wrong.url))}: {wrong.error}.*{source}"
    assert len(run.errors) == 1 and re.search(expected, run.errors[0]), run.output
    assert "retryTimeoutSeconds" not in run.output, "raising the retry budget cannot help a host never reached"
    assert len(run.warnings) <= MAX_HOST_WARNINGS, run.output
    assert run.seconds < HOST_BOUND_S, f"{run.seconds:.1f} s\n{run.output}"


# --- through the packaged task ----------------------------------------------------------------------------------


def task_inputs(parent: str) -> dict[str, str]:
    return {"command": "test", "notebooks": "tests/test_ok", "gitProvider": "gitHub", "tempFolder": parent}


def issues(run: TaskRun, kind: str) -> list[str]:
    """The step's error or warning issues (the closing task.complete message is not one)."""
    return [c.data for c in run.commands("task.logissue") if c.properties.get("type") == kind]


def test_task_wrong_token_fails_at_once_with_one_error(
    agent: Agent, local_workspace: LocalWorkspaceServer, client: WorkspaceClient
) -> None:
    """The same through the task: Failed with one error issue naming the service connection, no warning issue."""
    parent = f"/Repos/{unique('fail-fast-task')}"
    connection = replace(agent.connection, parameters={"apitoken": WRONG_TOKEN})
    before = Counter(local_workspace.calls)
    run = agent.run(
        task_inputs(parent), build_variables(GIT_URL, SHA), connections={"databricksConnection": connection}
    )
    assert run.result == "Failed", run.stdout[-3000:]
    assert len(issues(run, "error")) == 1, run.errors
    connection_refused = (
        r"did not accept the credentials of the service connection of input 'databricksConnection' \(40"
    )
    assert re.search(connection_refused, issues(run, "error")[0]), run.errors
    assert issues(run, "warning") == [], run.stdout[-3000:]
    assert run.seconds < TOKEN_BOUND_S, f"{run.seconds:.1f} s\n{run.stdout[-3000:]}"
    assert cleanup_calls(local_workspace, before) == [], "clean-up looked for a folder whose creation was refused"
    assert list(client.repos.list(path_prefix=parent + "/")) == []


@pytest.mark.parametrize("kind", HOST_IDS)
def test_task_wrong_host_fails_naming_the_host(
    kind: str, agent: Agent, local_workspace: LocalWorkspaceServer, closed_port: int
) -> None:
    """The same through the task, the URL in the service connection's Server URL."""
    wrong = next(k for k in wrong_hosts(local_workspace, closed_port) if k.id == kind)
    connection = replace(agent.connection, url=wrong.url)
    run = agent.run(
        task_inputs("/Repos/ci"), build_variables(GIT_URL, SHA), connections={"databricksConnection": connection}
    )
    assert run.result == "Failed", run.stdout[-3000:]
    source = CHECK_URL.format(source=r"the Server URL of service connection 'databricksConnection'")
    expected = rf"Cannot connect to {re.escape(normalized(wrong.url))}: {wrong.error}.*{source}"
    errors = issues(run, "error")
    assert len(errors) == 1 and re.search(expected, errors[0]), run.errors
    assert len(issues(run, "warning")) <= MAX_HOST_WARNINGS, run.stdout[-3000:]
    assert run.seconds < HOST_BOUND_S, f"{run.seconds:.1f} s\n{run.stdout[-3000:]}"
