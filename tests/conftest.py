"""Fixtures shared by every suite: a started local workspace, tenants of it isolated per test, an SDK client for it,
Git remotes, and the built VSIX unpacked with an agent that runs its task against the local workspace (a tool cache
shared by the whole session, so the first run prepares it and later runs reuse it).

Every test that uses the local workspace fails when a request reached it that no route answers (an endpoint the
local workspace does not model), unless it is marked `unrouted_ok`.

Under pytest-xdist every worker is a pytest session of its own: its own local workspace, tenants, agent tools folder
and temporary folders (tmp_path_factory gives each worker its own base), so only what lies outside them is shared:
the repository's dist/ that `vsix` packages into (built under a lock, by the first worker that needs it), and the
machine's two cores, which the groups of `pytest_collection_modifyitems` share out."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient

from dbcicd_localworkspace import LocalWorkspaceServer, Tenant
from dbcicd_localworkspace.runtime.locks import exclusive
from git_remote import GitRemote
from localagent import newest_source
from task_harness import Agent, PackagedTask


def _spark_missing() -> str | None:
    """Why Spark cannot run here, or None: the `spark` tests need pyspark (the `spark` extra) and Java 17."""
    import importlib.util

    if importlib.util.find_spec("pyspark") is None:
        return "needs pyspark: pip install -e './localworkspace[spark]'"
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        return "needs Java 17 (Debian: apt-get install openjdk-17-jre-headless)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip a `spark` test, saying why, where Spark cannot run; with DBCICD_REQUIRE_SPARK=1 (CI) fail it instead, so
    that a machine that lost its Java cannot pass by skipping the Spark tests."""
    if item.get_closest_marker("spark") is None:
        return
    missing = _spark_missing()
    if missing is not None and os.environ.get("DBCICD_REQUIRE_SPARK") == "1":
        pytest.fail(f"DBCICD_REQUIRE_SPARK=1, and Spark {missing}", pytrace=False)
    if missing is not None:
        pytest.skip(f"Spark {missing}")


SPARK_GROUP = "spark"


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook, which reads the groups given here
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Which tests one pytest-xdist worker runs together (`--dist loadgroup`; without xdist the marks do nothing):
    - the `spark` tests: each Spark server is a JVM that wants both cores for a minute to start, and two of them
      starting at once on the two workers made both slow; one worker runs them one after the other instead;
    - the tests of a module that share a module-scoped fixture: such a fixture (the steps of
      tests/reliability/test_faults.py, say) runs what every selected test of its module needs, once per worker
      that runs any of them, so a module split over two workers would run all of its steps twice."""
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        if item.get_closest_marker("spark") is not None:
            item.add_marker(pytest.mark.xdist_group(SPARK_GROUP))
        elif _shares_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))


def _shares_a_module_fixture(item: pytest.Item) -> bool:
    fixtures = getattr(item, "_fixtureinfo", None)  # what pytest resolved for a test function (not public API)
    if fixtures is None:
        return False
    return any(definitions[-1].scope == "module" for definitions in fixtures.name2fixturedefs.values())


@pytest.fixture(scope="session")
def local_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWorkspaceServer]:
    """One local workspace for the session (tests use unique paths, so they do not collide)."""
    with LocalWorkspaceServer(root=tmp_path_factory.mktemp("local-workspace")) as server:
        yield server


@pytest.fixture(autouse=True)
def no_unrouted_requests(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that used the local workspace (any tenant) if a request it made had no route. Databricks answers
    an endpoint it lacks with 404, which databricks-sdk raises as NotFound: passing here would hide that the product
    called something the local workspace does not model. Tests probing unknown endpoints are marked `unrouted_ok`."""
    if "local_workspace" not in request.fixturenames:
        yield
        return
    server: LocalWorkspaceServer = request.getfixturevalue("local_workspace")
    server.drain_unrouted()
    yield
    unrouted = server.drain_unrouted()
    if unrouted and request.node.get_closest_marker("unrouted_ok") is None:
        listed = "\n".join(f"  {r} (tenant {r.tenant})" for r in unrouted)
        pytest.fail(f"Requests the local workspace has no route for (an endpoint it does not model):\n{listed}")


@pytest.fixture
def isolated_workspace(local_workspace: LocalWorkspaceServer) -> Iterator[Tenant]:
    """A tenant of the shared server for this test alone: its own token, Git folders, jobs, runs, DBFS, fault rules
    and call counts. For tests whose assertions cover what the whole workspace holds or receives."""
    tenant = local_workspace.new_tenant()
    yield tenant
    local_workspace.close_tenant(tenant)


@pytest.fixture
def isolated_client(isolated_workspace: Tenant) -> WorkspaceClient:
    """A databricks-sdk client of the test's own tenant."""
    return WorkspaceClient(host=isolated_workspace.host, token=isolated_workspace.token, auth_type="pat")


@pytest.fixture
def faults(local_workspace: LocalWorkspaceServer) -> Iterator[LocalWorkspaceServer]:
    """The shared server, with every fault rule removed again after the test."""
    yield local_workspace
    local_workspace.faults.replace([])


@pytest.fixture
def cli_env(local_workspace: LocalWorkspaceServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The product's environment as a developer's shell has it: DATABRICKS_* naming the local workspace, no pipeline
    or agent variables, and a working directory (returned) that is not a Git checkout."""
    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "ARM_", "BUILD_", "SYSTEM_", "AGENT_")) or name == "TF_BUILD":
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABRICKS_HOST", local_workspace.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", local_workspace.token)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def isolated_cli_env(cli_env: Path, isolated_workspace: Tenant, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`cli_env`, its DATABRICKS_TOKEN naming the test's own tenant."""
    monkeypatch.setenv("DATABRICKS_TOKEN", isolated_workspace.token)
    return cli_env


@pytest.fixture(scope="session")
def client(local_workspace: LocalWorkspaceServer) -> WorkspaceClient:
    """The real databricks-sdk client, authenticated with the local workspace's token."""
    return WorkspaceClient(host=local_workspace.host, token=local_workspace.token, auth_type="pat")


@pytest.fixture(scope="session")
def fake_databricks_cli(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding an executable `databricks`: the offline stand-in for the Databricks CLI's bundle commands
    (tests/fakes/databricks_cli.py), to put on PATH or give as the task's `cliPath`. The real CLI is licensed for the
    Databricks Services only and never runs against the local workspace. It signs in from its environment."""
    folder = tmp_path_factory.mktemp("databricks-cli")
    program = Path(__file__).parent / "fakes" / "databricks_cli.py"
    wrapper = folder / "databricks"
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(program))} "$@"\n')
    wrapper.chmod(0o755)
    return folder


@pytest.fixture
def make_remote(tmp_path_factory: pytest.TempPathFactory) -> Callable[[dict[str, str]], GitRemote]:
    """Factory: a new Git remote whose `main` holds the given files."""

    def make(files: dict[str, str]) -> GitRemote:
        remote = GitRemote(tmp_path_factory.mktemp("git"))
        remote.commit(files, "initial")
        return remote

    return make


REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD_TIMEOUT_S = 600


def _run(command: list[str]) -> None:
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    if done.returncode != 0:
        pytest.fail(f"`{' '.join(command)}` failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


@pytest.fixture(scope="session")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.skip("node is not installed: the extension's task runs on Node (CI installs Node 20)")
    return found


@pytest.fixture(scope="session")
def vsix(node: str) -> Path:
    """dist/*.vsix, packaged again with `npm run package` when it is missing or older than its sources. Under a lock
    (build/vsix.lock), so that of pytest-xdist workers needing it at once one packages and the others wait for it
    and find it fresh, rather than unpacking a .vsix that is still being written or packaging it twice over."""
    (REPO_ROOT / "build").mkdir(exist_ok=True)
    with exclusive(str(REPO_ROOT / "build" / "vsix.lock")):
        built = sorted((REPO_ROOT / "dist").glob("*.vsix"), key=lambda p: p.stat().st_mtime)
        if not built or built[-1].stat().st_mtime < newest_source(REPO_ROOT):
            npm = shutil.which("npm")
            if npm is None:
                pytest.fail("npm is missing: it packages the extension (`npm ci && npm run package`)")
            if not (REPO_ROOT / "node_modules" / "tfx-cli").is_dir():
                _run([npm, "ci", "--no-audit", "--no-fund"])
            _run([npm, "run", "package"])
            built = sorted((REPO_ROOT / "dist").glob("*.vsix"), key=lambda p: p.stat().st_mtime)
        return built[-1]


@pytest.fixture(scope="session")
def packaged_task(vsix: Path, tmp_path_factory: pytest.TempPathFactory) -> PackagedTask:
    return PackagedTask.from_vsix(vsix, tmp_path_factory.mktemp("vsix"))


@pytest.fixture(scope="session")
def tools_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Agent.ToolsDirectory: empty at the start of the session, kept between tests as an agent keeps it."""
    return tmp_path_factory.mktemp("agent-tools")


@pytest.fixture
def agent(
    packaged_task: PackagedTask, node: str, local_workspace: LocalWorkspaceServer, tools_directory: Path, tmp_path: Path
) -> Agent:
    return Agent(packaged_task, node, local_workspace, tools_directory, tmp_path)


@pytest.fixture
def tenant_agent(
    packaged_task: PackagedTask,
    node: str,
    local_workspace: LocalWorkspaceServer,
    isolated_workspace: Tenant,
    tmp_path: Path,
) -> Agent:
    """An agent with an empty tool cache of its own, signed in to the test's own tenant (isolated_workspace)."""
    agent = Agent(packaged_task, node, local_workspace, tmp_path / "tools", tmp_path / "work")
    agent.tools.mkdir()
    agent.sign_in(isolated_workspace)
    return agent
