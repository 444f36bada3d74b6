"""Fixtures shared by every suite: a started local workspace, an SDK client for it, Git remotes, and the built VSIX
unpacked with an agent that runs its task against the local workspace (a tool cache shared by the whole session,
so the first run prepares it and later runs reuse it)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient

from dbcicd.localworkspace import LocalWorkspaceServer
from git_remote import GitRemote
from localagent import newest_source
from task_harness import Agent, PackagedTask


@pytest.fixture(scope="session")
def local_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalWorkspaceServer]:
    """One local workspace for the session (tests use unique paths, so they do not collide)."""
    with LocalWorkspaceServer(root=tmp_path_factory.mktemp("local-workspace")) as server:
        yield server


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


@pytest.fixture(scope="session")
def client(local_workspace: LocalWorkspaceServer) -> WorkspaceClient:
    """The real databricks-sdk client, authenticated with the local workspace's token."""
    return WorkspaceClient(host=local_workspace.host, token=local_workspace.token, auth_type="pat")


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
    """dist/*.vsix, packaged again with `npm run package` when it is missing or older than its sources."""
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
