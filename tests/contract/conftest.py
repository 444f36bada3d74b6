"""The contract suite's target: the local workspace, or a real workspace named by DBCICD_CONTRACT_* variables
(contract_target.py). `client`, `cli_env` and `make_remote` are the shared fixtures of tests/conftest.py made to
follow the target; `target` gives a test the host, a bearer token, the compute and a Git URL.

On a real workspace:
- tests marked `local_only` are skipped with their reason, and so are tests that use what only the local workspace
  has (the fixtures in LOCAL_ONLY_FIXTURES), which are marked automatically: a new test gets this for free;
- what a test makes through `client` (runs, jobs, Git folders, folders) is deleted after it, and the session's own
  folder and jobs named with its prefix are swept at the end (on the local workspace too, so the sweep is tested).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from contract_target import Target, from_environment
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue, NotFound, ResourceDoesNotExist

from git_remote import GitRemote

HERE = Path(__file__).parent
REAL = from_environment()

# Fixtures of the local workspace itself: a test that uses one cannot run against a real workspace.
# The most specific first: a test's reason is the first of these it uses (`faults` uses `local_workspace` too).
LOCAL_ONLY_FIXTURES = {
    "faults": "injects faults into the local workspace",
    "isolated_workspace": "needs a tenant of the local workspace (a workspace holding only what the test made)",
    "isolated_client": "needs a tenant of the local workspace (a workspace holding only what the test made)",
    "isolated_cli_env": "needs a tenant of the local workspace (a workspace holding only what the test made)",
    "make_remote": "makes a Git remote of its own on this machine, which a real workspace cannot clone",
    "agent": "runs the packaged task with the agent emulation against the local workspace",
    "local_workspace": "reads or changes the local workspace's own state (its files, settings or server)",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests of this suite that use local-only fixtures `local_only`; on a real workspace skip every
    `local_only` test, saying why."""
    for item in items:
        if HERE not in Path(str(item.path)).parents:
            continue
        names = getattr(item, "fixturenames", ())
        reasons = [LOCAL_ONLY_FIXTURES[name] for name in LOCAL_ONLY_FIXTURES if name in names]
        if reasons and item.get_closest_marker("local_only") is None:
            item.add_marker(pytest.mark.local_only(reasons[0]))
        marker = item.get_closest_marker("local_only")
        if REAL is not None and marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "needs the local workspace")
            item.add_marker(pytest.mark.skip(reason=f"local workspace only: {reason}"))


if REAL is None:

    @pytest.fixture(scope="session")
    def target(local_workspace: Any) -> Iterator[Target]:
        """The local workspace started for the session (DBCICD_CONTRACT_HOST is unset)."""
        found = Target(kind="local", host=local_workspace.host, credentials={"token": local_workspace.token})
        yield found
        sweep(found)

else:

    @pytest.fixture(scope="session")
    def target() -> Iterator[Target]:
        """The real workspace DBCICD_CONTRACT_* name."""
        yield REAL
        sweep(REAL)


@pytest.fixture(scope="session")
def client(target: Target) -> WorkspaceClient:
    """The real databricks-sdk client of the target."""
    return target.client()


@pytest.fixture(autouse=True)
def leave_nothing_behind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Delete, after the test, what it made through `client`: runs (cancelled first), jobs, Git folders, folders."""
    if "client" not in request.fixturenames:
        yield
        return
    made = Made(request.getfixturevalue("client"))
    made.record(monkeypatch)
    yield
    made.delete()


@pytest.fixture
def cli_env(target: Target, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The product's environment as a developer's shell has it: DATABRICKS_* naming the target, no pipeline or
    agent variables, and a working directory (returned) that is not a Git checkout."""
    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "ARM_", "BUILD_", "SYSTEM_", "AGENT_")) or name == "TF_BUILD":
            monkeypatch.delenv(name)
    for name, value in target.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def make_remote(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Callable[[dict[str, str]], GitRemote]:
    """Factory: a new Git remote whose `main` holds the given files (local workspace only: it lies on this
    machine)."""
    if not target.is_local:
        pytest.skip(LOCAL_ONLY_FIXTURES["make_remote"])

    def make(files: dict[str, str]) -> GitRemote:
        remote = GitRemote(tmp_path_factory.mktemp("git"))
        remote.commit(files, "initial")
        return remote

    return make


@pytest.fixture
def git_url(target: Target, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str | None]:
    """(URL, provider) of a Git remote the target can clone: DBCICD_CONTRACT_GIT_URL on a real workspace, a new
    remote holding a README on the local one. For tests that need a remote but not particular files in it."""
    if target.is_local:
        remote = GitRemote(tmp_path_factory.mktemp("git"))
        remote.commit({"README.md": "contract suite\n"}, "initial")
        return remote.url, None
    if target.git_url is None:
        pytest.skip("needs DBCICD_CONTRACT_GIT_URL, a Git URL the workspace can clone")
    return target.git_url, target.git_provider


# What Databricks answers for a run, job, Git folder or path that is already gone (a job or run id that does not
# exist is 400 INVALID_PARAMETER_VALUE, "Job 123 does not exist.", in the Jobs API).
GONE = (NotFound, ResourceDoesNotExist, InvalidParameterValue)


@pytest.fixture
def cluster_id(target: Target) -> str:
    """An existing cluster for tests that need one: the local workspace's, or DBCICD_CONTRACT_CLUSTER_ID."""
    if target.is_local:
        return "local"
    if target.cluster_id is None:
        pytest.skip("needs DBCICD_CONTRACT_CLUSTER_ID, an existing cluster")
    return target.cluster_id


class Made:
    """What one test made through the SDK client, recorded as it was made, deleted when the test ends."""

    def __init__(self, client: WorkspaceClient) -> None:
        self.client = client
        self.runs: list[int] = []
        self.jobs: list[int] = []
        self.repos: list[int] = []
        self.folders: list[str] = []

    def record(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def after(method: Callable[..., Any], keep: Callable[[Any, dict[str, Any]], None]) -> Callable[..., Any]:
            def call(*args: Any, **kwargs: Any) -> Any:
                answer = method(*args, **kwargs)
                keep(answer, {"args": args, **kwargs})
                return answer

            return call

        jobs, workspace, repos = self.client.jobs, self.client.workspace, self.client.repos
        monkeypatch.setattr(jobs, "submit", after(jobs.submit, lambda a, _: self.runs.append(a.run_id)))
        monkeypatch.setattr(jobs, "run_now", after(jobs.run_now, lambda a, _: self.runs.append(a.run_id)))
        monkeypatch.setattr(jobs, "create", after(jobs.create, lambda a, _: self.jobs.append(a.job_id)))
        monkeypatch.setattr(repos, "create", after(repos.create, lambda a, _: self.repos.append(a.id)))
        mkdirs = workspace.mkdirs

        def made_folders(*args: Any, **kwargs: Any) -> Any:
            new = self._first_missing(_path({"args": args, **kwargs}))
            answer = mkdirs(*args, **kwargs)
            if new is not None:
                self.folders.append(new)
            return answer

        monkeypatch.setattr(workspace, "mkdirs", made_folders)

    def _first_missing(self, path: str) -> str | None:
        """The top-most folder of `path` that does not exist yet (what mkdirs will make), or None: a folder that was
        there before the test, such as a user's home, is never deleted."""
        missing = None
        while path not in ("", "/") and not self._exists(path):
            missing, path = path, posixpath.dirname(path)
        return missing

    def _exists(self, path: str) -> bool:
        try:
            self.client.workspace.get_status(path)
        except GONE:
            return False
        return True

    def delete(self) -> None:
        jobs = self.client.jobs
        for run_id in self.runs:
            with contextlib.suppress(*GONE):
                if not _ended(self.client, run_id):
                    jobs.cancel_run(run_id)
        for run_id in self.runs:
            with contextlib.suppress(*GONE):
                _wait_ended(self.client, run_id)
                jobs.delete_run(run_id)
        for job_id in self.jobs:
            with contextlib.suppress(*GONE):
                jobs.delete(job_id)
        for repo_id in self.repos:
            with contextlib.suppress(*GONE):
                self.client.repos.delete(repo_id)
        for path in sorted(set(self.folders), key=len):
            with contextlib.suppress(*GONE):
                self.client.workspace.delete(path, recursive=True)


def _path(kwargs: dict[str, Any]) -> str:
    return kwargs.get("path") or kwargs["args"][0]


def _ended(client: WorkspaceClient, run_id: int) -> bool:
    state = client.jobs.get_run(run_id).state
    return state is not None and state.life_cycle_state is not None and state.life_cycle_state.value in TERMINAL


TERMINAL = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")
CANCEL_WAIT_S = 120  # a real cluster can take a while to stop a cancelled notebook


def _wait_ended(client: WorkspaceClient, run_id: int) -> None:
    deadline = time.monotonic() + CANCEL_WAIT_S
    while not _ended(client, run_id) and time.monotonic() < deadline:
        time.sleep(0.2)


def sweep(target: Target) -> None:
    """The session's safety net: its folder (and /Repos/<session>, where Git folder tests make theirs), and jobs
    whose names carry its prefix, are deleted."""
    client = target.client()
    for folder in (target.folder, f"/Repos/{target.session}"):
        with contextlib.suppress(*GONE):
            client.workspace.delete(folder, recursive=True)
    for job in client.jobs.list(name=None):
        name = job.settings.name if job.settings else None
        if name and name.startswith(target.session):
            with contextlib.suppress(*GONE):
                client.jobs.delete(job.job_id)
