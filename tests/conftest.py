"""Fixtures shared by every suite: a started local workspace, an SDK client for it, and Git remotes."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient

from dbcicd.localworkspace import LocalWorkspaceServer


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


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
            "PATH": os.environ["PATH"],
            "HOME": str(cwd),
        },
    ).stdout.strip()


class GitRemote:
    """A bare repository to clone from, plus a work tree to push new commits, branches and tags to it."""

    def __init__(self, base: Path) -> None:
        self.bare = base / "remote.git"
        self.work = base / "work"
        git("init", "--quiet", "--bare", "--initial-branch=main", str(self.bare), cwd=base)
        git("clone", "--quiet", str(self.bare), str(self.work), cwd=base)
        git("checkout", "--quiet", "-B", "main", cwd=self.work)

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def commit(self, files: dict[str, str], message: str = "change", branch: str = "main") -> str:
        """Write files (path -> text) on `branch` (created from the current HEAD if new), commit, push; the sha."""
        git("checkout", "--quiet", "-B", branch, cwd=self.work)
        for rel, text in files.items():
            target = self.work / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git("add", "--all", cwd=self.work)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work)
        git("push", "--quiet", "--force", "origin", branch, cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def tag(self, name: str, ref: str = "HEAD") -> str:
        git("tag", "--force", name, ref, cwd=self.work)
        git("push", "--quiet", "--force", "origin", f"refs/tags/{name}", cwd=self.work)
        return git("rev-list", "-n", "1", name, cwd=self.work)


@pytest.fixture
def make_remote(tmp_path_factory: pytest.TempPathFactory) -> Callable[[dict[str, str]], GitRemote]:
    """Factory: a new Git remote whose `main` holds the given files."""

    def make(files: dict[str, str]) -> GitRemote:
        remote = GitRemote(tmp_path_factory.mktemp("git"))
        remote.commit(files, "initial")
        return remote

    return make
