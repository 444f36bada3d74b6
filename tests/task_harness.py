"""The packaged Databricks@1 task, run as the Azure Pipelines agent runs it, for the tests: an agent job with a
clean environment against the local workspace (the agent's environment, its choice of handler, its reading of the
task's stdout, its cancelling and the step's record are tools/localagent.py's), and finishing and timing the task's
process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dbcicd_localworkspace import LocalWorkspaceServer
from dbcicd_localworkspace.http.tenants import Tenant
from localagent import (  # noqa: F401 (cancel, interrupt: tests import them from here)
    SYSTEM_CONNECTION,
    AgentCommand,
    AgentNetwork,
    AgentSettings,
    PackagedTask,
    ServiceConnection,
    StepRecord,
    cancel,
    cancellation_of,
    commands,
    interrupt,
    process_options,
    step_record,
    step_variables,
)


@dataclass
class TaskRun:
    """A finished run of the task: exit code, output, how long it took, and the step as the agent records it."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    record: StepRecord

    def commands(self, name: str) -> list[AgentCommand]:
        return commands(self.stdout, name)

    @property
    def result(self) -> str:
        """The step's result as the agent settles it (its TaskResult name: Succeeded, Failed, Canceled, ...)."""
        return self.record.result.name

    @property
    def completes(self) -> list[str]:
        """The `result` of every task.complete command, as the task wrote it."""
        return [c.properties.get("result", "") for c in self.commands("task.complete")]

    @property
    def variables(self) -> dict[str, str]:
        """Output variables set with `task.setvariable ...;isoutput=true`."""
        found = self.commands("task.setvariable")
        assert all(c.properties.get("isoutput") == "true" for c in found), found
        return {c.properties["variable"]: c.data for c in found}

    @property
    def errors(self) -> list[str]:
        """The step's error issues as the agent keeps them: the first 10 (of the core's `task.logissue`, the task
        library's `task.issue` and the agent's own), masked."""
        return self.record.errors

    @property
    def failed_commands(self) -> list[str]:
        """The agent's errors about logging commands it could not process."""
        return [error for error in self.errors if error.startswith("Unable to process command")]


def start(command: list[str], env: Mapping[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command,
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        **process_options(),
    )


@dataclass(frozen=True)
class _Step:
    command_line: list[str]
    secrets: list[str]
    host_type: str


# What the agent knows about each step it started: its command line and the job's secrets.
_STEPS: weakref.WeakKeyDictionary[subprocess.Popen[str], _Step] = weakref.WeakKeyDictionary()


def finish(process: subprocess.Popen[str], started: float, timeout: float = 120) -> TaskRun:
    """Waits for the task's process; the run with the step's record (Canceled if `cancel` cancelled it)."""
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        raise AssertionError(f"the task did not finish within {timeout} s\n{stdout}\n{stderr}") from None
    step = _STEPS.get(process, _Step(list(map(str, process.args)), [], "build"))  # type: ignore[arg-type]
    cancelled = cancellation_of(process) is not None
    record = step_record(stdout, process.returncode, step.secrets, cancelled, step.command_line, step.host_type)
    return TaskRun(process.returncode, stdout, stderr, time.monotonic() - started, record)


def python_bin(folder: Path, interpreter: str) -> Path:
    """A folder holding `python3` -> `interpreter`, to put first on the task's PATH (as UsePythonVersion@0 does)."""
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "python3"
    if link.exists() or link.is_symlink():
        link.unlink()
    link.symlink_to(interpreter)
    return folder


def base_environment(path_dirs: list[Path], home: Path) -> dict[str, str]:
    """A clean process environment: no DATABRICKS_* or other settings of the machine running the tests."""
    node_dir = Path(shutil.which("node") or "node").parent
    path = os.pathsep.join([*map(str, path_dirs), str(node_dir), "/usr/bin", "/bin"])
    return {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8"}


def base_interpreter() -> str:
    """The Python this test environment was made from (not its virtual environment, whose packages would hide
    a wheel missing from the task)."""
    return str(Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}")


@dataclass
class Agent:
    """One agent job: runs the packaged task with its inputs against the local workspace."""

    task: PackagedTask
    node: str | Mapping[str, str]  # the Node binary of the folder the agent picks, or binaries by folder name
    workspace: LocalWorkspaceServer
    tools: Path
    work: Path
    settings: AgentSettings = field(default_factory=AgentSettings)
    network: AgentNetwork = field(default_factory=AgentNetwork)  # the agent's proxy and CA certificate
    access_token: str = field(default_factory=lambda: "azdo-access-" + uuid.uuid4().hex)
    build_id: str = field(default_factory=lambda: str(uuid.uuid4().int % 10**8))

    def __post_init__(self) -> None:
        self.temp = self.work / "agent-temp"
        self.sources = self.work / "sources"
        self.temp.mkdir(parents=True)
        self.sources.mkdir()
        self.connection = ServiceConnection(
            str(uuid.uuid4()), f"{self.workspace.host}/", "Token", {"apitoken": self.workspace.token}
        )

    def sign_in(self, tenant: Tenant) -> None:
        """Points the databricks connection (same id) at a tenant of the local workspace, with its own token."""
        self.connection = ServiceConnection(self.connection.id, f"{tenant.host}/", "Token", {"apitoken": tenant.token})

    @property
    def secrets(self) -> list[str]:
        """The workspace token (also what OAuth hands out here), System.AccessToken and the connection's secrets."""
        confidential = [v for k, v in self.connection.parameters.items() if k.lower() in ("apitoken", "clientsecret")]
        return [self.workspace.token, self.access_token, *confidential]

    def variables(self, extra: Mapping[str, str]) -> dict[str, str]:
        return {**step_variables(self.build_id, self.sources, self.temp, self.tools), **extra}

    def start(
        self,
        inputs: Mapping[str, str],
        variables: Mapping[str, str] | None = None,
        python: str | None = None,
        connections: Mapping[str, ServiceConnection] | None = None,
        secret_variables: Mapping[str, str] | None = None,
    ) -> subprocess.Popen[str]:
        """Starts `node <target>` with the databricks connection, unless `connectionType` says otherwise or
        `connections` (input name -> connection) names the ones to pass; `secret_variables` are the job's secret
        variables (name -> value), which the agent masks and expands in inputs."""
        bin_dir = python_bin(self.work / "python-bin", python or base_interpreter())
        if connections is None:
            connections = {} if "connectionType" in inputs else {"databricksConnection": self.connection}
        base = base_environment([bin_dir], self.work)
        public, secret = self.network.variables()
        secret = {**secret, **(secret_variables or {})}
        job = self.variables({**public, **(variables or {})})
        env = self.task.environment(inputs, connections, job, self.access_token, base, secret)
        command = self.task.command_line(self.node, self.settings)
        process = start(command, env, self.sources)
        system = ServiceConnection(SYSTEM_CONNECTION, "", "OAuth", {"AccessToken": self.access_token})
        # The agent masks the job's secret variables and the secret parameters of every endpoint (Worker.cs).
        secrets = [
            self.access_token,
            *secret.values(),
            *(s for c in [system, *connections.values()] for s in c.secrets),
        ]
        _STEPS[process] = _Step(command, secrets, job["System.HostType"])
        return process

    def run(
        self,
        inputs: Mapping[str, str],
        variables: Mapping[str, str] | None = None,
        python: str | None = None,
        connections: Mapping[str, ServiceConnection] | None = None,
        secret_variables: Mapping[str, str] | None = None,
    ) -> TaskRun:
        started = time.monotonic()
        return finish(self.start(inputs, variables, python, connections, secret_variables), started)

    def written_files(self) -> list[Path]:
        """Everything the task wrote for the agent (JUnit files, summaries) under Agent.TempDirectory; not the
        bytecode Python compiles from the task's own wheels there (dbcicd-pycache, tasks/databricks/core.js)."""
        bytecode = self.temp / "dbcicd-pycache"
        return [path for path in self.temp.rglob("*") if path.is_file() and bytecode not in path.parents]
