"""Secrets through the packaged task, run as the agent runs it with System.Debug=true: the personal access token, an
OAuth client secret, System.AccessToken — and credentials Databricks refuses — never show, whole or in part, in
stdout, stderr, the JUnit files and summary, output variables, error messages, databricks-sdk's debug log, any file
the step writes (agent folders, tool cache, the workspace's own folder), or the command line of any process of the
step (nor the environment of the ones it starts). Each is announced to the agent (`task.setsecret`) before anything
but the task library's debug lines.

Every scenario gets a local workspace of its own whose token is the random PAT sentinel, so the workspace's folder
holds only what that step caused. Where a notebook is handed System.AccessToken as a parameter (as a pipeline
might), it prints the token, returns it and writes it into its JUnit file: everything that comes back must be
masked; the workspace's folder then rightly holds the token and is not searched.
"""

from __future__ import annotations

import base64
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from leftovers import assert_nothing_left
from process_watch import ProcessWatch, Seen, supported
from task_runs import HEADER, build_variables, unique

from dbcicd_localworkspace import FaultRule, LocalWorkspaceServer
from dbcicd_localworkspace.http.server_token import TOKEN_FILE
from leaks import Secret, files_since, leaks
from task_harness import Agent, PackagedTask, ServiceConnection, TaskRun, finish

SETSECRET = "##vso[task.setsecret]"
DEBUG = "##vso[task.debug]"
SDK_DEBUG = DEBUG + "databricks.sdk"
PAT = "dapi" + secrets.token_hex(20)
ACCESS_TOKEN = "azdo" + secrets.token_hex(20)
REFUSED_PAT = "dapi" + secrets.token_hex(20)
REFUSED_CLIENT_SECRET = "dose" + secrets.token_hex(20)

USES_TOKEN = HEADER + (
    "import json, os\n"
    "token = dbutils.widgets.get('token')\n"
    "print('the token is', token)\n"
    "folder = dbutils.widgets.get('dbcicd_results_dir')\n"
    "os.makedirs(folder, exist_ok=True)\n"
    "with open(os.path.join(folder, 'checks.xml'), 'w') as out:\n"
    '    out.write(\'<testsuite name="checks"><testcase classname="checks" name="test_token">\'\n'
    "              f'<system-out>token {token}</system-out></testcase></testsuite>')\n"
    "dbutils.notebook.exit(json.dumps({'token': token, 'ok': True}))\n"
)
# The token straddles the 96th character of the error, where databricks-sdk's debug log cuts long values.
FAILS_WITH_TOKEN = HEADER + (
    "import os\n"
    "token = dbutils.widgets.get('token')\n"
    "folder = dbutils.widgets.get('dbcicd_results_dir')\n"
    "os.makedirs(folder, exist_ok=True)\n"
    "with open(os.path.join(folder, 'checks.xml'), 'w') as out:\n"
    '    out.write(\'<testsuite name="checks"><testcase classname="checks" name="test_token">\'\n'
    "              f'<failure message=\"refused {token}\">trace {token}</failure></testcase></testsuite>')\n"
    "raise ValueError('x' * 60 + token + ' was refused')\n"
)
NOTEBOOKS = {
    "tests/test_token.py": USES_TOKEN,
    "tests/test_plain.py": HEADER + "print('plain')\n",
    "broken/token_error.py": FAILS_WITH_TOKEN,
}


@dataclass
class RefusingAzureDevOps:
    """An Azure DevOps organization that answers every request 401; it records the Authorization headers sent."""

    url: str
    authorizations: list[str] = field(default_factory=list)


@contextmanager
def refusing_azure_devops() -> Iterator[RefusingAzureDevOps]:
    organization = RefusingAzureDevOps("")

    class Refuse(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            organization.authorizations.append(self.headers.get("Authorization") or "")
            body = b'{"message": "TF400813: The user is not authorized to access this resource."}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_PATCH = do_PUT = do_OPTIONS = do_GET

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    organization.url = f"http://127.0.0.1:{server.server_address[1]}/"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield organization
    finally:
        server.shutdown()
        server.server_close()


def pat(agent: Agent) -> ServiceConnection:
    return agent.connection  # the workspace's own token, PAT


def refused_pat(agent: Agent) -> ServiceConnection:
    return ServiceConnection(agent.connection.id, agent.connection.url, "Token", {"apitoken": REFUSED_PAT})


def oauth(agent: Agent) -> ServiceConnection:
    parameters = {"clientId": agent.workspace.oauth.client_id, "clientSecret": agent.workspace.oauth.client_secret}
    return ServiceConnection(agent.connection.id, agent.connection.url, "None", parameters)


def refused_oauth(agent: Agent) -> ServiceConnection:
    parameters = {"clientId": agent.workspace.oauth.client_id, "clientSecret": REFUSED_CLIENT_SECRET}
    return ServiceConnection(agent.connection.id, agent.connection.url, "None", parameters)


@dataclass(frozen=True)
class Scenario:
    id: str
    inputs: Mapping[str, str]
    result: str  # the task result expected
    connection: Callable[[Agent], ServiceConnection]
    hands_token_to_notebooks: bool = False  # parameter token=System.AccessToken
    faults: tuple[dict[str, Any], ...] = ()
    azure_devops: bool = False  # publish the results to an organization that refuses the token


SCENARIOS = [
    Scenario(
        "passing test step with a PAT",
        {"command": "test", "notebooks": "tests/test_token"},
        "Succeeded",
        pat,
        hands_token_to_notebooks=True,
    ),
    Scenario(
        "failing run step with a PAT",
        {"command": "run", "notebooks": "broken/token_error"},
        "Failed",
        pat,
        hands_token_to_notebooks=True,
    ),
    Scenario("passing test step with OAuth", {"command": "test", "notebooks": "tests/test_plain"}, "Succeeded", oauth),
    Scenario("PAT refused (401)", {"command": "test", "notebooks": "tests/test_plain"}, "Failed", refused_pat),
    Scenario("OAuth secret refused", {"command": "cleanup"}, "Failed", refused_oauth),
    Scenario(
        "an API failure the core does not expect (500)",
        {"command": "test", "notebooks": "tests/test_plain"},
        "Failed",
        pat,
        faults=({"route": "POST /api/2.0/workspace/mkdirs", "status": 500},),
    ),
    Scenario(
        "results to Azure DevOps refused",
        {
            "command": "test",
            "notebooks": "tests/test_plain",
            "publishAzureDevOps": "true",
            "pullRequestComment": "true",
        },
        "Failed",
        pat,
        azure_devops=True,
    ),
]


def sentinels(workspace: LocalWorkspaceServer) -> list[Secret]:
    oauth_client = workspace.oauth.client_id
    return [
        Secret("the PAT", PAT),
        Secret("System.AccessToken", ACCESS_TOKEN),  # azure-devops sends it as Basic ':token'
        Secret("the refused PAT", REFUSED_PAT),
        Secret("the OAuth client secret", workspace.oauth.client_secret, basic_user=oauth_client),
        Secret("the refused OAuth client secret", REFUSED_CLIENT_SECRET, basic_user=oauth_client),
    ]


def run_watched(
    agent: Agent, inputs: Mapping[str, str], variables: Mapping[str, str], connection: ServiceConnection
) -> tuple[TaskRun, Seen | None]:
    """The task run, and what its processes showed while it ran (None where there is no /proc)."""
    started = time.monotonic()
    process = agent.start(inputs, variables, connections={"databricksConnection": connection})
    watch = ProcessWatch(process.pid).start() if supported() else None
    run = finish(process, started)
    return run, watch.stop() if watch else None


def as_logged(stdout: str) -> str:
    """The log as the agent shows it: every secret masked from the line that announces it on."""
    announced: list[str] = []
    shown = []
    for line in stdout.splitlines():
        if line.startswith(SETSECRET):
            announced.append(line[len(SETSECRET) :])
            continue
        for secret in announced:
            line = line.replace(secret, "***")
        shown.append(line)
    return "\n".join(shown)


def printed_by_the_core(stdout: str) -> str:
    """Every line but the announcements and the task library's own debug lines (which echo each input's value and
    which the agent masks): what dbcicd printed, none of it left for the agent to mask."""
    return "\n".join(
        line
        for line in stdout.splitlines()
        if not line.startswith(SETSECRET) and (not line.startswith(DEBUG) or line.startswith(SDK_DEBUG))
    )


def shown(run: TaskRun) -> list[tuple[str, bytes]]:
    """What the step printed and returned."""
    variables = "\n".join(f"{name}={value}" for name, value in run.variables.items())
    return [
        ("the log", as_logged(run.stdout).encode()),
        ("what the core printed", printed_by_the_core(run.stdout).encode()),
        ("stderr", run.stderr.encode()),
        ("the output variables", variables.encode()),
        ("the error messages", "\n".join(run.errors).encode()),
    ]


def announced_first(run: TaskRun) -> set[str]:
    """The secrets announced before the first line that is neither an announcement nor a debug line."""
    announced = set()
    for line in run.stdout.splitlines():
        if line.startswith(SETSECRET):
            announced.add(line[len(SETSECRET) :])
        elif not line.startswith(DEBUG):
            break
    return announced


def test_the_process_watch_sees_a_child_command_line() -> None:
    """The watch reads the command line of a process started below the one watched (Linux /proc only)."""
    if not supported():
        pytest.skip("no Linux /proc here: the command lines of the task's processes are not checked")
    marker = unique("watched-argument")
    sleeper = "import time; time.sleep(0.5)"
    child = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {sleeper!r}, sys.argv[1]])"
    parent = subprocess.Popen([sys.executable, "-c", child, marker])
    watch = ProcessWatch(parent.pid).start()
    parent.wait(timeout=30)
    seen = watch.stop()
    assert any(marker.encode() in line for pid, line in seen.command_lines if pid != parent.pid)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_no_secret_leaves_the_step(
    scenario: Scenario,
    packaged_task: PackagedTask,
    node: str,
    tools_directory: Path,
    make_remote: Callable[[dict[str, str]], Any],
    tmp_path: Path,
) -> None:
    """No sentinel, whole, Basic-encoded or in pieces of 12, in anything the step shows, writes or runs."""
    remote = make_remote(NOTEBOOKS)
    parent = f"/Repos/{unique('secrets')}"
    variables = {**build_variables(remote.url, remote.commit({}, "empty")), "System.Debug": "true"}
    inputs = {"gitProvider": "gitHub", "tempFolder": parent, **scenario.inputs}
    if scenario.hands_token_to_notebooks:
        inputs["parameters"] = f"token={ACCESS_TOKEN}"
    faults = [FaultRule.parse(rule) for rule in scenario.faults]
    with LocalWorkspaceServer(token=PAT, faults=faults) as workspace, refusing_azure_devops() as organization:
        agent = Agent(packaged_task, node, workspace, tools_directory, tmp_path / "agent", access_token=ACCESS_TOKEN)
        connection = scenario.connection(agent)
        if scenario.azure_devops:
            variables.update(
                {
                    "System.CollectionUri": organization.url,
                    "System.PullRequest.PullRequestId": "7",
                    "Build.Repository.ID": "repository-1",
                }
            )
        since = time.time() - 1
        run, seen = run_watched(agent, inputs, variables, connection)
        roots = [agent.work, tools_directory] + ([] if scenario.hands_token_to_notebooks else [workspace.root])
        # The local workspace's own store of its token (as a real workspace keeps its tokens) is the one file that may
        # hold it; nothing the step or its notebooks wrote may.
        token_store = str(workspace.root / TOKEN_FILE)
        written = [(path, data) for path, data in files_since(roots, since) if path != token_store]
        assert_nothing_left(WorkspaceClient(host=workspace.host, token=PAT, auth_type="pat"), agent.build_id, parent)

    assert run.result == scenario.result, f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert any(line.startswith(SDK_DEBUG) for line in run.stdout.splitlines()), "no databricks-sdk debug lines"
    given = {ACCESS_TOKEN, *(v for k, v in connection.parameters.items() if k.lower() in ("apitoken", "clientsecret"))}
    assert given <= announced_first(run), "every secret the step was given is announced before anything else"
    texts = shown(run) + written
    if seen is not None:
        assert len(seen.processes) >= 2, f"the watch saw only {seen.processes} in {seen.samples} samples"
        texts += seen.texts()
    assert leaks(sentinels(workspace), texts) == []
    if scenario.hands_token_to_notebooks and scenario.result == "Succeeded":
        assert run.variables["notebookOutput_token"] == "***", "what the notebook returned is masked, not dropped"
    if scenario.azure_devops:
        basic = "Basic " + base64.b64encode(f":{ACCESS_TOKEN}".encode()).decode()
        assert basic in organization.authorizations, "System.AccessToken went to Azure DevOps, its one destination"
