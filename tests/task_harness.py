"""The packaged Databricks@1 task, run as the Azure Pipelines agent runs it, for the tests: an agent job with a
clean environment against the local workspace (the agent's environment and its reading of the task's stdout are
`dbcicd.localagent`'s), and finishing, timing and interrupting the task's process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dbcicd.localworkspace import LocalWorkspaceServer
from localagent import (  # noqa: F401 (interrupt: tests import it from here)
    AgentCommand,
    PackagedTask,
    ServiceConnection,
    commands,
    interrupt,
    step_variables,
)


@dataclass
class TaskRun:
    """A finished run of the task: exit code, output, and how long it took."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def commands(self, name: str) -> list[AgentCommand]:
        return commands(self.stdout, name)

    @property
    def result(self) -> str:
        """The result of the one `task.complete` command (the agent takes the task's result from it)."""
        [complete] = self.commands("task.complete")
        return complete.properties["result"]

    @property
    def variables(self) -> dict[str, str]:
        """Output variables set with `task.setvariable ...;isoutput=true`."""
        found = self.commands("task.setvariable")
        assert all(c.properties.get("isoutput") == "true" for c in found), found
        return {c.properties["variable"]: c.data for c in found}

    @property
    def errors(self) -> list[str]:
        """Error issues: the core's `task.logissue` and the task library's `task.issue`."""
        issues = self.commands("task.logissue") + self.commands("task.issue")
        return [c.data for c in issues if c.properties.get("type") == "error"]


def start(command: list[str], env: Mapping[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        command, env=dict(env), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8"
    )


def finish(process: subprocess.Popen[str], started: float, timeout: float = 120) -> TaskRun:
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        raise AssertionError(f"the task did not finish within {timeout} s\n{stdout}\n{stderr}") from None
    return TaskRun(process.returncode, stdout, stderr, time.monotonic() - started)


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
    node: str
    workspace: LocalWorkspaceServer
    tools: Path
    work: Path
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
    ) -> subprocess.Popen[str]:
        """Starts `node <target>` with the databricks connection, unless `connectionType` says otherwise or
        `connections` (input name -> connection) names the ones to pass."""
        bin_dir = python_bin(self.work / "python-bin", python or base_interpreter())
        if connections is None:
            connections = {} if "connectionType" in inputs else {"databricksConnection": self.connection}
        base = base_environment([bin_dir], self.work)
        env = self.task.environment(inputs, connections, self.variables(variables or {}), self.access_token, base)
        return start(self.task.command_line(self.node), env, self.sources)

    def run(
        self,
        inputs: Mapping[str, str],
        variables: Mapping[str, str] | None = None,
        python: str | None = None,
        connections: Mapping[str, ServiceConnection] | None = None,
    ) -> TaskRun:
        started = time.monotonic()
        return finish(self.start(inputs, variables, python, connections), started)

    def written_files(self) -> list[Path]:
        """Everything the task wrote for the agent (JUnit files, summaries) under Agent.TempDirectory."""
        return [path for path in self.temp.rglob("*") if path.is_file()]
