"""The packaged Databricks@1 task, unpacked from the VSIX and run as the agent runs it, against the local workspace:
what it tells the agent (logging commands), the files it writes, what it leaves in the workspace, cancellation,
and that no secret appears anywhere in its output."""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from dbcicd.steps.tempnames import temporary_name
from dbcicd_localworkspace import LocalWorkspaceServer
from dbcicd_localworkspace.runtime.locks import exclusive
from junit_reader import read
from localagent import SIGINT_TIMEOUT_S, AgentSettings
from server_calls import arrivals
from task_harness import Agent, PackagedTask, ServiceConnection, TaskRun, base_interpreter, cancel, finish

HEADER = "# Databricks notebook source\n"
PASSING = HEADER + "import json\ndbutils.notebook.exit(json.dumps({'promote': True, 'auc': 0.91}))\n"
FAILING = HEADER + "print('loading the table')\nraise ValueError('expected 3 rows, got 4')\n"
# Runs pytest on the module beside it and writes JUnit where dbcicd asks notebooks to.
RUN_PYTEST = HEADER + (
    "import pytest\n"
    "out = dbutils.widgets.get('dbcicd_results_dir')\n"
    "code = pytest.main(['-q', '-p', 'no:cacheprovider', 'checks.py', f'--junitxml={out}/pytest.xml'])\n"
    "dbutils.notebook.exit(str(int(code)))\n"
)
CHECKS = "def test_add():\n    assert 1 + 1 == 2\n\n\ndef test_sub():\n    assert 2 - 1 == 1\n"
SLOW = HEADER + "import time\ntime.sleep(60)\n"
FILES = {
    "tests/test_passing.py": PASSING,
    "tests/test_pytest.py": RUN_PYTEST,
    "tests/checks.py": CHECKS,
    "broken/failing.py": FAILING,
    "slow/wait.py": SLOW,
}


def unique(name: str) -> str:
    return f"{name}-{time.time_ns() % 10**9}"


def build(remote: Any, sha: str) -> dict[str, str]:
    """The variables of a CI build of `main` at `sha` of `remote`."""
    return {"Build.Repository.Uri": remote.url, "Build.SourceBranch": "refs/heads/main", "Build.SourceVersion": sha}


def repos_under(client: WorkspaceClient, parent: str) -> list[str]:
    return [r.path or "" for r in client.repos.list(path_prefix=parent + "/")]


def assert_no_secret(agent: Agent, run: TaskRun) -> None:
    """No secret in stdout (but where it is announced with task.setsecret, which the agent consumes), stderr or any
    file the task wrote."""
    announced = {c.data for c in run.commands("task.setsecret")}
    shown = "\n".join(line for line in run.stdout.splitlines() if not line.startswith("##vso[task.setsecret]"))
    texts = {"stdout": shown, "stderr": run.stderr}
    texts.update({str(path): path.read_text(errors="replace") for path in agent.written_files()})
    for secret in agent.secrets:
        assert secret in announced, "every secret is announced to the agent"
        for where, text in texts.items():
            assert secret not in text, f"a secret appears in {where}"


def assert_declared_outputs(agent: Agent, run: TaskRun) -> None:
    """Every output variable is declared in task.json (or is a notebookOutput_<key> one, described there)."""
    declared = {v["name"] for v in agent.task.manifest["outputVariables"]}
    assert {name for name in run.variables if not name.startswith("notebookOutput_")} <= declared


def test_test_command_publishes_results_and_deletes_the_folder(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], client: WorkspaceClient
) -> None:
    """test: temporary folder at the build's commit, notebooks run, JUnit published, variables set, folder deleted."""
    remote = make_remote(FILES)
    sha = remote.commit({"tests/README.md": "tests"}, "second")
    parent = f"/Repos/{unique('e2e-test')}"
    inputs = {"command": "test", "gitProvider": "gitHub", "notebooks": "tests/test_*", "tempFolder": parent}
    run = agent.run({**inputs, "testRunTitle": "E2E"}, build(remote, sha))

    assert run.result == "Succeeded", run.stdout + run.stderr
    [publish] = run.commands("results.publish")
    assert (publish.properties["type"], publish.properties["runtitle"]) == ("JUnit", "E2E")
    files = [Path(p) for p in publish.properties["resultfiles"].split(",")]
    results = {(r.title, r.outcome) for path in files for r in read(path)}
    assert {("tests_test_passing", "Passed"), ("tests_test_pytest", "Passed"), ("test_add", "Passed")} <= results
    variables = run.variables
    assert variables["resultState"] == "SUCCESS"
    assert variables["headCommit"] == sha
    assert variables["repoPath"].startswith(f"{parent}/dbcicd-remote-b{agent.build_id}-a1-")
    assert variables["notebookOutput_tests_test_passing_promote"] == "true"
    assert client.jobs.get_run(int(variables["runId"])).state.result_state == jobs.RunResultState.SUCCESS
    assert repos_under(client, parent) == []
    assert_declared_outputs(agent, run)
    assert_no_secret(agent, run)


def test_failing_notebook_fails_the_step(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], client: WorkspaceClient
) -> None:
    """A failing notebook: error issue with its error, a failed test case, task result Failed, folder deleted."""
    remote = make_remote(FILES)
    parent = f"/Repos/{unique('e2e-fail')}"
    inputs = {"command": "test", "gitProvider": "gitHub", "notebooks": "broken/*", "tempFolder": parent}
    run = agent.run(inputs, build(remote, remote.commit({}, "empty")))

    assert run.result == "Failed"
    assert any("ValueError: expected 3 rows, got 4" in error for error in run.errors)
    assert "The Databricks run or its tests failed; see the errors above." in run.errors
    [publish] = run.commands("results.publish")
    [failed] = [r for path in publish.properties["resultfiles"].split(",") for r in read(Path(path))]
    assert (failed.title, failed.outcome) == ("broken_failing", "Failed")
    assert "expected 3 rows, got 4" in failed.error_message
    assert run.variables["resultState"] == "FAILED"
    assert repos_under(client, parent) == []
    assert_no_secret(agent, run)


def test_repo_command_points_a_folder_at_the_build(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], client: WorkspaceClient
) -> None:
    """repo: creates the Git folder at the commit being built, then follows the branch to the next build's commit."""
    remote = make_remote(FILES)
    path = f"/Repos/{unique('e2e-repo')}/project"
    inputs = {"command": "repo", "gitProvider": "gitHub", "repoPath": path}
    first = agent.run(inputs, build(remote, remote.commit({"a.txt": "1"})))
    second_sha = remote.commit({"a.txt": "2"})
    second = agent.run(inputs, build(remote, second_sha))

    assert (first.result, second.result) == ("Succeeded", "Succeeded")
    assert second.variables["repoPath"] == path
    assert second.variables["headCommit"] == second_sha
    assert client.repos.get(int(second.variables["repoId"])).head_commit_id == second_sha
    assert_declared_outputs(agent, second)
    assert_no_secret(agent, second)


def test_run_command_runs_notebooks_in_a_folder(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], client: WorkspaceClient
) -> None:
    """run: the notebooks of an existing Git folder, their exit values as output variables."""
    remote = make_remote(FILES)
    parent = f"/Repos/{unique('e2e-run')}"
    client.workspace.mkdirs(parent)
    folder = client.repos.create(url=remote.url, provider="gitHub", path=f"{parent}/project")
    run = agent.run({"command": "run", "repoPath": folder.path or "", "notebooks": "tests/test_passing"})

    assert run.result == "Succeeded", run.stdout + run.stderr
    assert run.variables["notebookOutput_promote"] == "true"
    assert run.variables["repoId"] == str(folder.id)
    assert run.commands("results.publish")
    assert_no_secret(agent, run)


def test_cleanup_command_deletes_old_temporary_folders(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], client: WorkspaceClient
) -> None:
    """cleanup: deletes the temporary folders older than olderThanHours and keeps younger ones."""
    remote = make_remote(FILES)
    parent = f"/Repos/{unique('e2e-cleanup')}"
    old = temporary_name("project", "7", "1", datetime.now(timezone.utc) - timedelta(hours=30))
    young = temporary_name("project", "8", "1")
    client.workspace.mkdirs(parent)
    for name in (old, young):
        client.repos.create(url=remote.url, provider="gitHub", path=f"{parent}/{name}")
    run = agent.run({"command": "cleanup", "tempFolder": parent, "olderThanHours": "24"})

    assert run.result == "Succeeded"
    assert run.variables == {"deletedCount": "1"}
    assert repos_under(client, parent) == [f"{parent}/{young}"]
    assert_no_secret(agent, run)


def test_cleanup_deletes_the_old_results_folders_kept_for_a_rerun(agent: Agent, client: WorkspaceClient) -> None:
    """A failed run keeps its results folder for the job's next attempt (rerunFailedOnly); one whose next attempt
    never came is deleted by cleanup, by the age its name gives; a younger one is kept."""
    results = f"/Users/{client.current_user.me().user_name}/.dbcicd/results"
    old = temporary_name("results-0123456789", "7", "1", datetime.now(timezone.utc) - timedelta(hours=30))
    young = temporary_name("results-0123456789", "8", "1")
    for name in (old, young):
        client.workspace.mkdirs(f"{results}/{name}/tests_test_pytest")
    run = agent.run({"command": "cleanup", "tempFolder": f"/Repos/{unique('e2e-cleanup')}", "olderThanHours": "24"})

    assert run.result == "Succeeded", run.stdout
    assert run.variables == {"deletedCount": "1"}
    assert f"and 1 results folder(s) kept for re-runs under {results}" in run.stdout
    names = [(o.path or "").rsplit("/", 1)[-1] for o in client.workspace.list(results)]
    assert old not in names and young in names
    client.workspace.delete(f"{results}/{young}", recursive=True)


def test_oauth_machine_to_machine_connection(agent: Agent, local_workspace: LocalWorkspaceServer) -> None:
    """A databricks connection with the OAuth scheme (client id and secret): signs in; the secret is never shown."""
    oauth = {"clientId": local_workspace.oauth.client_id, "clientSecret": local_workspace.oauth.client_secret}
    agent.connection = ServiceConnection(agent.connection.id, agent.connection.url, "None", oauth)
    run = agent.run({"command": "cleanup", "tempFolder": f"/Repos/{unique('e2e-m2m')}"})

    assert run.result == "Succeeded", run.stdout + run.stderr
    assert_no_secret(agent, run)


def test_bad_input_is_reported_before_anything_starts(
    agent: Agent, make_remote: Callable[[dict[str, str]], Any], client: WorkspaceClient
) -> None:
    """A contradictory input: an error naming the inputs, result Failed, no run and no folder."""
    remote = make_remote(FILES)
    parent = f"/Repos/{unique('e2e-bad')}"
    inputs = {"command": "run", "notebooks": "tests/test_passing", "jobId": "123", "tempFolder": parent}
    run = agent.run(inputs, build(remote, remote.commit({}, "empty")))

    assert run.result == "Failed"
    assert "Give exactly one of notebooks, jobId, jobName or bundleJob for the run command" in run.errors
    assert "The step is not configured correctly; see the error above. Nothing was started." in run.errors
    assert not run.commands("results.publish")
    assert not [r for r in client.jobs.list_runs(active_only=True) if agent.build_id in (r.run_name or "")]
    assert_no_secret(agent, run)


def test_missing_python_names_use_python_version(agent: Agent, tmp_path: Path) -> None:
    """A pythonPath that is no interpreter: the error says what was tried and names UsePythonVersion@0."""
    missing = tmp_path / "no-python"
    run = agent.run({"command": "cleanup", "pythonPath": str(missing)})

    assert run.result == "Failed"
    [error] = run.errors
    assert f"No Python 3.10 or later was found ({missing}: not found)" in error
    assert "UsePythonVersion@0" in error


def test_sigint_cancels_the_run_and_deletes_the_folder_in_time(
    agent: Agent,
    make_remote: Callable[[dict[str, str]], Any],
    client: WorkspaceClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The agent cancels the step mid-run: SIGINT alone ends it, before the agent's SIGTERM; the Databricks run ends
    CANCELED, the temporary folder is gone, and the step is Canceled with no command the agent could not process."""
    remote = make_remote(FILES)
    parent = f"/Repos/{unique('e2e-cancel')}"
    inputs = {"command": "test", "gitProvider": "gitHub", "notebooks": "slow/wait", "tempFolder": parent}
    started = time.monotonic()
    process = agent.start(inputs, build(remote, remote.commit({}, "empty")))
    run_id = wait_for_running_run(client, agent.build_id, process)

    cancelled = cancel(process)
    state = client.jobs.get_run(run_id).state
    folders = repos_under(client, parent)
    run = finish(process, started)

    with capsys.disabled():
        print(f"\nDatabricks@1 cancelled, run CANCELED and folder deleted {cancelled.exited_s:.2f} s after SIGINT")
    assert cancelled.by_sigint, f"the agent had to send {cancelled.sent}\n{run.stdout}\n{run.stderr}"
    assert cancelled.exited_s is not None and cancelled.exited_s < SIGINT_TIMEOUT_S
    assert state is not None and state.result_state == jobs.RunResultState.CANCELED
    assert folders == []
    assert run.result == "Canceled"
    assert run.completes == ["Canceled"], "the task reports it with a result the agent knows"
    assert run.failed_commands == []
    assert_no_secret(agent, run)


def wait_for_running_run(client: WorkspaceClient, build_id: str, process: subprocess.Popen[str]) -> int:
    """The id of the task's run once its notebook is running (polled every 0.1 s, at most 60 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the task ended before its run started"
        for run in client.jobs.list_runs(active_only=True):
            if f"build {build_id} " in (run.run_name or "") and run.run_id is not None:
                tasks = client.jobs.get_run(run.run_id).tasks or []
                if any(t.state and t.state.life_cycle_state == jobs.RunLifeCycleState.RUNNING for t in tasks):
                    return run.run_id
        time.sleep(0.1)
    raise AssertionError("the task's run did not start within 60 s")


def test_start_up_time_on_an_empty_and_a_prepared_tool_cache(
    agent: Agent, local_workspace: LocalWorkspaceServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """From `node` starting to the first Databricks API call: once with an empty tool cache, then cached."""
    agent.tools = tmp_path / "empty-tools"
    figures = []
    for _ in ("empty", "cached"):
        with arrivals(local_workspace) as calls:
            started = time.monotonic()
            run = finish(agent.start({"command": "cleanup", "tempFolder": f"/Repos/{unique('e2e-start')}"}), started)
        assert run.result == "Succeeded"
        figures.append(calls[0] - started)
    with capsys.disabled():
        print(
            f"\nDatabricks@1 start-up, node start to first API call: empty tool cache {figures[0]:.2f} s, "
            f"prepared tool cache {figures[1]:.2f} s"
        )
    assert figures[1] < figures[0]


def supported_interpreters() -> dict[str, str]:
    """One CPython 3.10+ per minor version on this machine: this test environment's, and pyenv's if installed."""
    found = {f"{sys.version_info[0]}.{sys.version_info[1]}": base_interpreter()}
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        root = Path(subprocess.run([pyenv, "root"], capture_output=True, text=True, check=True).stdout.strip())
        for prefix in sorted((root / "versions").glob("3.*")):
            minor = ".".join(prefix.name.split(".")[:2])
            executable = prefix / "bin" / f"python{minor}"
            if minor.split(".")[1].isdigit() and int(minor.split(".")[1]) >= 10 and executable.exists():
                found.setdefault(minor, str(executable))
    return found


def test_runs_on_every_python_of_the_machine(agent: Agent, capsys: pytest.CaptureFixture[str]) -> None:
    """The same wheels serve every CPython 3.10+ found here (all of 3.10-3.13 where pyenv has them)."""
    interpreters = supported_interpreters()
    for minor, executable in interpreters.items():
        run = agent.run({"command": "cleanup", "tempFolder": f"/Repos/{unique('e2e-python')}"}, python=executable)
        assert run.result == "Succeeded", f"Python {minor}:\n{run.stdout}\n{run.stderr}"
        assert f"Using Python {minor}." in run.stdout
    with capsys.disabled():
        print(f"\nDatabricks@1 ran on Python {', '.join(sorted(interpreters))}")


NODE16 = "16.20.2"
NODE_CACHE = Path(__file__).resolve().parents[2] / "build" / "test-node"
# npm's error codes when the registry cannot be reached at all.
UNREACHABLE = ("ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNREFUSED", "ECONNRESET", "ENETUNREACH", "network")


@pytest.fixture(scope="session")
def node16() -> str:
    """Node 16 from the npm registry (the node-<os>-<cpu> package's bin/node), kept in build/test-node."""
    os_name = {"linux": "linux", "darwin": "darwin"}.get(sys.platform)
    cpu = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
    if os_name is None or cpu is None:
        pytest.skip(f"no Node {NODE16} package for {sys.platform} {platform.machine()} is used here")
    binary = NODE_CACHE / f"node-{os_name}-{cpu}-{NODE16}" / "package" / "bin" / "node"
    NODE_CACHE.mkdir(parents=True, exist_ok=True)
    with exclusive(str(NODE_CACHE / "install.lock")):  # pytest-xdist workers: one installs, the others wait for it
        if not binary.is_file():
            _install_node16(os_name, cpu, binary)
    return str(binary)


def _install_node16(os_name: str, cpu: str, binary: Path) -> None:
    npm = shutil.which("npm")
    assert npm is not None, "npm is needed to install Node 16"
    packed = subprocess.run(
        [npm, "pack", f"node-{os_name}-{cpu}@{NODE16}", "--pack-destination", str(NODE_CACHE), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if packed.returncode != 0:
        if any(code in packed.stderr for code in UNREACHABLE):
            pytest.skip(f"the npm registry is unreachable: {packed.stderr.strip()[-300:]}")
        pytest.fail(f"npm pack node-{os_name}-{cpu}@{NODE16} failed:\n{packed.stderr}")
    tarball = NODE_CACHE / f"node-{os_name}-{cpu}-{NODE16}.tgz"
    with tarfile.open(tarball) as archive:
        archive.extractall(binary.parents[2], filter="tar" if sys.version_info >= (3, 12) else None)
    tarball.unlink()


def test_runs_on_node16_on_an_agent_without_node20(
    packaged_task: PackagedTask,
    node16: str,
    local_workspace: LocalWorkspaceServer,
    tools_directory: Path,
    tmp_path: Path,
) -> None:
    """Agent 2.217.2 (the newest 2.x, run with Azure DevOps Server 2022.0.1) knows Node16 but neither Node20_1 nor
    Node24: it runs the task's Node16 entry on its Node 16, which must work as on Node 20."""
    settings = AgentSettings(version=(2, 217, 2))
    agent = Agent(packaged_task, {"node16": node16}, local_workspace, tools_directory, tmp_path, settings=settings)
    assert packaged_task.handler(settings) == ("Node16", "node16")
    run = agent.run({"command": "cleanup", "tempFolder": f"/Repos/{unique('e2e-node16')}"})

    assert run.result == "Succeeded", run.stdout + run.stderr
    assert run.errors == []
    assert run.variables == {"deletedCount": "0"}
    assert_no_secret(agent, run)
