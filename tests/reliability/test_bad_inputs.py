"""Bad inputs through the packaged task, run as the agent runs it: every row must fail the task with an error that
names the input and says what to do about it, never crash (no traceback), and leave nothing behind — no run of its
build still active, no Git folder under its tempFolder. An error that needs no answer from the workspace comes
before the first API call: such a row runs against a workspace of its own, which must receive no call at all.

The rows run two at a time when the first test needs them. A row with fault rules also gets a local workspace of its
own, so its faults touch no other row.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from leftovers import assert_nothing_left
from task_runs import HEADER, STEP_TEST_TIMEOUT_S, Agents, StepsInBackground, build_variables, selected, unique

from conftest import GitRemote
from dbcicd.results.rendered import MAX_PAGE_BYTES
from dbcicd.results.variables import MAX_VARIABLE_CHARS
from dbcicd_localworkspace import FaultRule, LocalWorkspaceServer
from junit_reader import read
from task_harness import Agent, PackagedTask, ServiceConnection, TaskRun

NOTEBOOKS = {
    "tests/test_ok.py": HEADER + "print('ok')\n",
    "tests/huge_error.py": HEADER + "print('x' * 10_000_000)\nraise ValueError('boom ' + 'y' * 10_000_000)\n",
    "tests/huge_exit.py": HEADER + "dbutils.notebook.exit('z' * 10_000_000)\n",
    "tests/garbled.py": HEADER
    + "import sys\n"
    + "sys.stdout.buffer.write(b'\\xff\\xfe\\x80 not UTF-8\\n')\n"
    + "sys.stdout.flush()\n"
    + "raise ValueError('garbled \\udcff \\ud800 \\x00 \\x1b[31m end')\n",
    "tests/bad_junit.py": HEADER
    + "import os\n"
    + "folder = dbutils.widgets.get('dbcicd_results_dir')\n"
    + "os.makedirs(folder, exist_ok=True)\n"
    + "open(os.path.join(folder, 'report.xml'), 'w').write('<testsuite><testcase')\n",
}
# What the task's probe reads from an interpreter: this one claims to be Python 3.8.
TOO_OLD_PYTHON = (
    "#!/bin/sh\n"
    'echo \'{"version": [3, 8, 18], "executable": "/opt/python3.8/bin/python3", "implementation": "CPython"}\'\n'
)
MAX_LOG_CHARS = 1_000_000  # for a step whose notebooks print, raise and return 10 MB each
EXPECTED_ROWS = 30
PLACEHOLDER = re.compile(r"\{(\w+)\}")

Connections = Callable[[Agent], Mapping[str, ServiceConnection]]
Check = Callable[[TaskRun, Agent], None]


@dataclass(frozen=True)
class Row:
    id: str
    inputs: Mapping[str, str]  # `{name}` stands for one of the things `outcomes` prepares
    error: str  # a regular expression one error must match: it names the input and says what to do
    connections: Connections | None = None  # input name -> connection, instead of the agent's databricks one
    faults: tuple[dict[str, Any], ...] = ()  # rules for a local workspace of the row's own
    check: Check | None = None  # more to assert about the run
    # Only the workspace can tell (a notebook, job, cluster or branch that is not there; a refused credential): the
    # row may call it. Every other error is found before the first call, and the row's workspace must see none.
    asks_workspace: bool = False


@dataclass
class Outcome:
    run: TaskRun
    agent: Agent
    left_behind: str  # why assert_nothing_left failed; empty when nothing was left
    calls: Mapping[str, int]  # the API calls the row's own workspace received ({} for the shared one)


def with_url(url: str) -> Connections:
    return lambda agent: {"databricksConnection": replace(agent.connection, url=url)}


def with_credentials(scheme: str, parameters: Mapping[str, str]) -> Connections:
    return lambda agent: {"databricksConnection": replace(agent.connection, scheme=scheme, parameters=parameters)}


def oauth_with_wrong_secret(agent: Agent) -> Mapping[str, ServiceConnection]:
    parameters = {"clientId": agent.workspace.oauth.client_id, "clientSecret": "not-the-secret-0000"}
    return with_credentials("None", parameters)(agent)


def service_principal(agent: Agent) -> Mapping[str, ServiceConnection]:
    parameters = {"serviceprincipalid": "app-00000001", "tenantid": "tenant-1", "serviceprincipalkey": "key-00000001"}
    arm = ServiceConnection(unique("arm"), "https://management.azure.com/", "ServicePrincipal", parameters)
    return {"azureSubscription": arm}


CUT_NOTE_BYTES = 4096  # the note a cut page starts with


def output_is_bounded(run: TaskRun, agent: Agent) -> None:
    """The log, the files and the variables stay small although the notebooks printed, raised and returned 10 MB."""
    assert len(run.stdout) < MAX_LOG_CHARS, f"the log holds {len(run.stdout):,} characters"
    for path in agent.written_files():
        # A rendered notebook page is an artifact for a person, cut at its own limit (results/rendered.py).
        bound = MAX_PAGE_BYTES + CUT_NOTE_BYTES if path.suffix == ".html" else MAX_LOG_CHARS
        assert path.stat().st_size < bound, f"{path.name} holds {path.stat().st_size:,} bytes"
    assert max(map(len, run.variables.values())) <= MAX_VARIABLE_CHARS
    warnings = [c.data for c in run.commands("task.logissue") if c.properties.get("type") == "warning"]
    assert any(
        re.match(r"Output variables? notebookOutput\w*.* cut to the first [\d,]+ characters", w) for w in warnings
    ), warnings


def junit_names_the_file(run: TaskRun, agent: Agent) -> None:
    """The published results hold a failed test case naming the file that is not JUnit XML."""
    [publish] = run.commands("results.publish")
    results = [r for path in publish.properties["resultfiles"].split(",") for r in read(Path(path))]
    assert any(r.outcome == "Failed" and "report.xml" in r.title for r in results), results


ROWS = [
    # --- the workspace and signing in ---
    Row(
        "empty host",
        {"command": "cleanup"},
        r"The Server URL of service connection 'databricksConnection' is empty; give the workspace URL, e\.g\. https",
        with_url(""),
    ),
    Row(
        "malformed host",
        {"command": "cleanup"},
        r"Server URL of service connection 'databricksConnection' is not a valid URL .* Expected e\.g\. https://adb",
        with_url("https://adb 1234.azuredatabricks.net/"),
    ),
    Row(
        "http for a remote host",
        {"command": "cleanup"},
        r"'databricksConnection' is not a valid URL .*plain http:// is only accepted for a local workspace .*use https",
        with_url("http://adb-1234567890123456.7.azuredatabricks.net/"),
    ),
    Row(
        "wrong token (403 Invalid access token.)",
        {"command": "test", "notebooks": "tests/test_ok"},
        r"did not accept the credentials of the service connection of input 'databricksConnection' "
        r"\(403: Invalid access token\.\)\. They are wrong, expired.*update its personal access token or OAuth secret",
        with_credentials("Token", {"apitoken": "dapi-not-the-token-0000"}),
        asks_workspace=True,
    ),
    Row(
        "wrong OAuth secret",
        {"command": "cleanup"},
        r"Cannot sign in to Databricks with the OAuth client of service connection 'databricksConnection' "
        r"\(client id \*\*\*\).*Check the client id and secret",
        oauth_with_wrong_secret,
        asks_workspace=True,
    ),
    Row(
        "Token scheme without a token",
        {"command": "cleanup"},
        r"'databricksConnection' has scheme Token but no personal access token \(parameter apitoken\)",
        with_credentials("Token", {}),
    ),
    Row(
        "no permission (403)",
        {"command": "test", "notebooks": "tests/test_ok"},
        r"403 PERMISSION_DENIED.*The identity of the service connection of input 'databricksConnection' lacks a "
        r"permission the step needs: grant it",
        faults=({"route": "POST /api/2.0/workspace/mkdirs", "status": 403},),
        asks_workspace=True,
    ),
    Row(
        "unknown connectionType",
        {"command": "cleanup", "connectionType": "magic"},
        r"Input 'connectionType' is 'magic'; it must be databricks, azureRM or environment",
    ),
    Row(
        "connection missing",
        {"command": "cleanup", "connectionType": "databricks"},
        r"input 'databricksConnection' names no service connection\..*databricksConnection: my-databricks-connection",
    ),
    Row(
        "environment without DATABRICKS_HOST",
        {"command": "cleanup", "connectionType": "environment"},
        r"DATABRICKS_HOST is not set.*DATABRICKS_HOST: \$\(DATABRICKS_HOST\)",
    ),
    Row(
        "azureRM without workspaceUrl",
        {"command": "cleanup", "connectionType": "azureRM"},
        r"Input 'workspaceUrl' is required with connectionType azureRM: the URL of the Azure Databricks workspace",
        service_principal,
    ),
    Row(
        "azureRM with a malformed workspaceUrl",
        {"command": "cleanup", "connectionType": "azureRM", "workspaceUrl": "adb-123 .azuredatabricks.net"},
        r"Input 'workspaceUrl' is not a valid URL \('adb-123 \.azuredatabricks\.net'\).* Expected e\.g\. https://",
        service_principal,
    ),
    Row(
        "retryTimeoutSeconds not a number",
        {"command": "cleanup", "retryTimeoutSeconds": "forever"},
        r"Input 'retryTimeoutSeconds' must be a whole number of seconds \(1 or more\), got 'forever'",
    ),
    Row(
        "retryTimeoutSeconds of zero",
        {"command": "cleanup", "retryTimeoutSeconds": "0"},
        r"Input 'retryTimeoutSeconds' must be a whole number of seconds \(1 or more\), got '0'",
    ),
    # --- the agent's Python ---
    Row(
        "pythonPath to a missing interpreter",
        {"command": "cleanup", "pythonPath": "{no_python}"},
        r"No Python 3\.10 or later was found \(.*no-python: not found\)\. Add a UsePythonVersion@0 step .*pythonPath",
    ),
    Row(
        "Python too old",
        {"command": "cleanup", "pythonPath": "{old_python}"},
        r"No Python 3\.10 or later was found \(.*: Python 3\.8\.18 at .*\)\. Add a UsePythonVersion@0 step",
    ),
    # --- what to run ---
    Row(
        "unknown command",
        {"command": "publish"},
        r"Input 'command' is 'publish'; it must be one of repo, run, test, cleanup, deploy, destroy",
    ),
    Row(
        "test without notebooks",
        {"command": "test"},
        r"Input 'notebooks' is required: the test notebooks, e\.g\. tests/test_\*",
    ),
    Row(
        "notebooks and jobId together",
        {"command": "run", "notebooks": "tests/test_ok", "jobId": "12"},
        r"Give exactly one of notebooks, jobId, jobName or bundleJob for the run command",
    ),
    Row(
        "missing notebook",
        {"command": "test", "notebooks": "tests/nope"},
        r"notebooks: 'tests/nope' does not exist in /Repos/.* \(\d+ notebooks in tests/, e\.g\. tests/.*; give paths "
        r"relative to the repository's root\)",
        asks_workspace=True,
    ),
    Row(
        "glob matching nothing",
        {"command": "test", "notebooks": "tests/zzz_*"},
        r"notebooks: 'tests/zzz_\*' matches no notebook in /Repos/.* \(\d+ notebooks in tests/, e\.g\. tests/",
        asks_workspace=True,
    ),
    Row(
        "'..' in notebooks",
        {"command": "test", "notebooks": "../secrets"},
        r"notebooks entry '\.\./secrets' must be relative to the Git folder, without '\.\.' \(e\.g\. tests/test_\*\)",
    ),
    Row(
        "jobId not a number",
        {"command": "run", "jobId": "nightly"},
        r"jobId 'nightly' must be a number \(the job's id in its URL\), or give jobName instead",
    ),
    Row(
        "unknown job id",
        {"command": "run", "jobId": "987654321"},
        r"jobId 987654321: .*Check jobId \(the number in the job's URL\), or give jobName instead",
        asks_workspace=True,
    ),
    Row(
        "unknown job name",
        {"command": "run", "jobName": "{missing_job}"},
        r"jobName 'no-such-job-.*' matches no job\. Check the name or use jobId",
        asks_workspace=True,
    ),
    Row(
        "ambiguous job name",
        {"command": "run", "jobName": "{twin_job}"},
        r"jobName 'twin-job-.*' matches 2 jobs \(id \d+, id \d+\); use jobId to pick one",
        asks_workspace=True,
    ),
    Row(
        "invalid JSON in parameters",
        {"command": "test", "notebooks": "tests/test_ok", "parameters": '{"env": "staging",}'},
        r"parameters is not valid JSON: .* at line 1 column \d+\. Give one JSON object, e\.g\.",
    ),
    # --- where it runs ---
    Row(
        "unknown compute",
        {"command": "test", "notebooks": "tests/test_ok", "compute": "gpu"},
        r"compute 'gpu' is not one of: serverless, existingCluster, newCluster",
    ),
    Row(
        "existingCluster without an id",
        {"command": "test", "notebooks": "tests/test_ok", "compute": "existingCluster"},
        r"existingClusterId is empty but compute is existingCluster: give the cluster's id",
    ),
    Row(
        "unknown existing cluster",
        {"command": "test", "notebooks": "tests/test_ok", "compute": "existingCluster", "existingClusterId": "0000-x"},
        r"existingClusterId '0000-x' is not a cluster of this workspace: give the id of an existing cluster",
        asks_workspace=True,
    ),
    Row(
        "invalid JSON in the new cluster spec",
        {"command": "test", "notebooks": "tests/test_ok", "compute": "newCluster", "newClusterJson": "{workers: 1}"},
        r"newClusterJson is not valid JSON: .*\. Give a cluster spec such as \{\"spark_version\"",
    ),
    Row(
        "timeout of zero",
        {"command": "test", "notebooks": "tests/test_ok", "timeoutMinutes": "0"},
        r"Input 'timeoutMinutes' must be greater than 0, got '0'",
    ),
    Row(
        "negative timeout",
        {"command": "test", "notebooks": "tests/test_ok", "timeoutMinutes": "-5"},
        r"Input 'timeoutMinutes' must be greater than 0, got '-5'",
    ),
    Row(
        "timeout not finite",
        {"command": "test", "notebooks": "tests/test_ok", "timeoutMinutes": "inf"},
        r"Input 'timeoutMinutes' must be a finite number, got 'inf'",
    ),
    Row(
        "timeout not a number",
        {"command": "test", "notebooks": "tests/test_ok", "timeoutMinutes": "soon"},
        r"Input 'timeoutMinutes' must be a number, got 'soon'",
    ),
    # --- Git folders and branches ---
    Row(
        "missing branch",
        {"command": "test", "notebooks": "tests/test_ok", "branch": "no-such-branch"},
        r"Cannot check out branch 'no-such-branch' in /Repos/.*Check input 'branch' .*exists in file://",
        asks_workspace=True,
    ),
    Row(
        "missing tag",
        {"command": "test", "notebooks": "tests/test_ok", "tag": "v9.9.9"},
        r"Cannot check out tag 'v9\.9\.9' in /Repos/.*Check input 'tag' .*exists in file://",
        asks_workspace=True,
    ),
    Row(
        "branch and tag together",
        {"command": "test", "notebooks": "tests/test_ok", "branch": "main", "tag": "v1"},
        r"Give either branch or tag, not both",
    ),
    Row(
        "unknown gitProvider",
        {"command": "test", "notebooks": "tests/test_ok", "gitProvider": "svn"},
        r"gitProvider 'svn' is not a Git provider Databricks knows: gitHub, gitHubEnterprise",
    ),
    Row(
        "repo without repoPath",
        {"command": "repo"},
        r"Input 'repoPath' is required: the Git folder to update, e\.g\. /Repos/ci/my-project",
    ),
    Row(
        "repoPath not /Repos/<folder>/<name>",
        {"command": "repo", "repoPath": "/Repos/project"},
        r"repoPath '/Repos/project' is not allowed: Git folders under /Repos must be exactly /Repos/<folder>/<name>",
    ),
    Row(
        "'..' in repoPath",
        {"command": "repo", "repoPath": "/Repos/ci/../prod"},
        r"repoPath '/Repos/ci/\.\./prod' must be an absolute workspace path without '\.' or '\.\.' parts, such as",
    ),
    Row(
        "'..' in tempFolder",
        {"command": "test", "notebooks": "tests/test_ok", "tempFolder": "/Repos/../Shared"},
        r"tempFolder '/Repos/\.\./Shared' must be an absolute workspace path without '\.' or '\.\.' parts, such as",
    ),
    Row(
        "repoPath is a plain folder",
        {"command": "repo", "repoPath": "{plain_folder}"},
        r"/Shared/.*/plain exists and is a directory, not a Git folder\. Choose another repoPath",
        asks_workspace=True,
    ),
    Row(
        "olderThanHours not a number",
        {"command": "cleanup", "olderThanHours": "a day"},
        r"Input 'olderThanHours' must be a number, got 'a day'",
    ),
    Row(
        "negative olderThanHours",
        {"command": "cleanup", "olderThanHours": "-1"},
        r"Input 'olderThanHours' must be at least 0, got '-1'",
    ),
    # --- results ---
    Row(
        "publishTestResults neither true nor false",
        {"command": "test", "notebooks": "tests/test_ok", "publishTestResults": "maybe"},
        r"Input 'publishTestResults' must be true or false, got 'maybe'",
    ),
    Row(
        "failOnTestFailure neither true nor false",
        {"command": "test", "notebooks": "tests/test_ok", "failOnTestFailure": "maybe"},
        r"Input 'failOnTestFailure' must be true or false, got 'maybe'",
    ),
    Row(
        "pullRequestComment neither true nor false",
        {"command": "test", "notebooks": "tests/test_ok", "pullRequestComment": "sometimes"},
        r"Input 'pullRequestComment' must be true or false, got 'sometimes'",
    ),
    Row(
        "notebookResultsDir nobody can read back",
        {"command": "test", "notebooks": "tests/test_ok", "notebookResultsDir": "/tmp/results"},
        r"Input 'notebookResultsDir' '/tmp/results' must be under /Volumes/<catalog>/<schema>/<volume>, /Workspace/",
    ),
    Row(
        "malformed JUnit written by a notebook",
        {"command": "test", "notebooks": "tests/bad_junit"},
        r"/tests_bad_junit/report\.xml is not valid JUnit XML: not well-formed",
        check=junit_names_the_file,
        asks_workspace=True,
    ),
    Row(
        "huge notebook output",
        {"command": "test", "notebooks": "tests/huge_*"},
        r"tests_huge_error FAILED \(http://.*\): ValueError: boom y+",
        check=output_is_bounded,
        asks_workspace=True,
    ),
    # The harness decodes the task's output as strict UTF-8: this row passing means the log stayed valid text.
    Row(
        "non-UTF-8 notebook output",
        {"command": "test", "notebooks": "tests/garbled"},
        r"tests_garbled FAILED \(http://.*\): ValueError: garbled .* end",
        asks_workspace=True,
    ),
]


@contextmanager
def workspace_for(
    row: Row, shared: LocalWorkspaceServer, client: WorkspaceClient
) -> Iterator[tuple[LocalWorkspaceServer, WorkspaceClient]]:
    """The shared local workspace for a row that must ask it; one of the row's own for a row with faults (with
    those rules) or one that must not call it at all (so that its calls, if any, are counted alone)."""
    if row.asks_workspace and not row.faults:
        yield shared, client
        return
    with LocalWorkspaceServer(faults=[FaultRule.parse(rule) for rule in row.faults]) as own:
        yield own, WorkspaceClient(host=own.host, token=own.token, auth_type="pat")


@pytest.fixture(scope="module")
def outcomes(
    packaged_task: PackagedTask,
    node: str,
    local_workspace: LocalWorkspaceServer,
    client: WorkspaceClient,
    tools_directory: Path,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[StepsInBackground[Row, Outcome]]:
    """Every selected row run once through the task, two at a time in the background (each test waits for its own),
    with what it left behind."""
    base = tmp_path_factory.mktemp("bad-inputs")
    remote = GitRemote(tmp_path_factory.mktemp("git"))
    variables = build_variables(remote.url, remote.commit(NOTEBOOKS, "notebooks"))
    remote.tag("v1")
    old_python = base / "python3.8"
    old_python.write_text(TOO_OLD_PYTHON)
    old_python.chmod(0o755)
    twin_job = unique("twin-job")
    twins = [client.jobs.create(name=twin_job).job_id for _ in range(2)]
    plain_folder = f"/Shared/{unique('bad-plain')}/plain"
    client.workspace.mkdirs(plain_folder)
    names = {
        "no_python": str(base / "no-python"),
        "old_python": str(old_python),
        "missing_job": unique("no-such-job"),
        "twin_job": twin_job,
        "plain_folder": plain_folder,
    }
    agents = Agents(packaged_task, node, tools_directory, base / "agents")

    def run(row: Row) -> Outcome:
        parent = f"/Repos/{unique('bad')}"
        with workspace_for(row, local_workspace, client) as (workspace, workspace_client):
            agent = agents.new(workspace, "row")
            inputs = {"gitProvider": "gitHub", "tempFolder": parent}
            inputs.update(
                {key: PLACEHOLDER.sub(lambda m: names.get(m[1], m[0]), value) for key, value in row.inputs.items()}
            )
            connections = row.connections(agent) if row.connections else None
            before = Counter(workspace.calls)  # the row's own client signed in already (it reads host metadata)
            task_run = agent.run(inputs, variables, connections=connections)
            calls = {} if workspace is local_workspace else dict(Counter(workspace.calls) - before)
            try:
                assert_nothing_left(workspace_client, agent.build_id, parent)
                left_behind = ""
            except AssertionError as err:
                left_behind = str(err)
        return Outcome(task_run, agent, left_behind, calls)

    rows = {row.id: row for row in ROWS}
    steps = StepsInBackground({key: rows[key] for key in selected(request, rows)}, run)
    try:
        yield steps
    finally:
        steps.close()
        for job_id in twins:
            client.jobs.delete(job_id)


def test_the_table_has_enough_rows() -> None:
    """At least 30 distinct bad inputs are tried."""
    assert len({row.id for row in ROWS}) == len(ROWS) >= EXPECTED_ROWS


@pytest.mark.timeout(STEP_TEST_TIMEOUT_S)
@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_bad_input_fails_naming_the_input_and_the_fix(row: Row, outcomes: StepsInBackground[Row, Outcome]) -> None:
    """The task fails with an error naming the input and what to do, without a traceback, leaving nothing behind."""
    outcome = outcomes.result(row.id)
    run = outcome.run
    assert run.result == "Failed", f"{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    assert any(re.search(row.error, error, re.DOTALL) for error in run.errors), (row.error, run.errors)
    assert "Traceback (most recent call last)" not in run.stderr, run.stderr[-3000:]  # the core did not crash
    assert outcome.left_behind == ""
    if not row.asks_workspace:
        assert outcome.calls == {}, f"a configuration error found only after calling the workspace: {outcome.calls}"
    if row.check is not None:
        row.check(run, outcome.agent)
