"""The Databricks@1 task folder, run as the Azure Pipelines agent runs it: for trying the packaged task without an
agent (the lending-club demo) and for the end-to-end tests.

The agent starts `node <execution target>` in the task folder with everything in environment variables: each input
as INPUT_<NAME> (the pipeline's value with macros expanded, else the task.json default), each service connection
the inputs name as ENDPOINT_URL_<id>, ENDPOINT_AUTH_<id> (JSON), ENDPOINT_AUTH_SCHEME_<id> and
ENDPOINT_AUTH_PARAMETER_<id>_<KEY>, System.AccessToken through the built-in SYSTEMVSSCONNECTION and as
SECRET_SYSTEM_ACCESSTOKEN, and pipeline variables under their environment names (SYSTEM_*, BUILD_*, AGENT_*).

It reads the task's stdout as the agent does: a line is a command when it holds `##vso[` anywhere: the text up to
the next `]` is `area.event` and `;`-separated `key=value` properties, the rest of the line is the data; values and
data are unescaped by replacing `%3B`, `%0D`, `%0A`, `%5D` and then `%AZP25` (the agent's Command.TryParse and
CommandStringConvertor.Unescape, with percent decoding on, its default). Lines are split at `\\r` and `\\n` only,
as .NET's ReadLine does. This reader shares nothing with the writer (`dbcicd.azdo.logging_commands`),
so that each checks the other.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SYSTEM_CONNECTION = "SYSTEMVSSCONNECTION"
_MACRO = re.compile(r"\$\(([A-Za-z0-9_.]+)\)")


def environment_name(name: str) -> str:
    """How the agent names a variable in the environment: upper case, `.` and spaces as `_`."""
    return name.upper().replace(".", "_").replace(" ", "_")


def step_variables(build_id: str, sources: Path, temp: Path, tools: Path) -> dict[str, str]:
    """The predefined variables the agent gives a step of a build job (each step a task instance id of its own)."""
    return {
        "Build.BuildId": build_id,
        "System.JobAttempt": "1",
        "System.JobId": str(uuid.uuid4()),
        "System.TaskInstanceId": str(uuid.uuid4()),
        "System.CollectionUri": "https://dev.azure.com/example/",
        "System.TeamFoundationCollectionUri": "https://dev.azure.com/example/",
        "System.TeamProject": "example",
        "System.TeamProjectId": str(uuid.uuid4()),
        "System.PlanId": str(uuid.uuid4()),
        "System.HostType": "build",
        "System.DefaultWorkingDirectory": str(sources),
        "Build.SourcesDirectory": str(sources),
        "Agent.TempDirectory": str(temp),
        "Agent.ToolsDirectory": str(tools),
    }


# What `npm run build` and `npm run package` make the task from, in a checkout of this repository.
PACKAGE_SOURCES = (
    "task.json",
    "vss-extension.json",
    "package-lock.json",
    "pyproject.toml",
    "images",
    "docs/marketplace-overview.md",
    "scripts",
    "tasks/databricks",
    "python_src/dbcicd",
)
_NOT_PACKAGED = {"node_modules", "__pycache__", "tests"}


def newest_source(checkout: Path) -> float:
    """When the newest file the task is packaged from last changed: a build older than this runs stale code."""
    newest = 0.0
    for source in PACKAGE_SOURCES:
        path = checkout / source
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        for folder, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if d not in _NOT_PACKAGED]
            newest = max([newest, *(Path(folder, f).stat().st_mtime for f in files)])
    return newest


def interrupt(process: subprocess.Popen[str]) -> None:
    """What the agent does first when a run is cancelled: SIGINT to the task's Node process only."""
    process.send_signal(signal.SIGINT)


@dataclass(frozen=True)
class ServiceConnection:
    """A service connection as the agent hands it to a task."""

    id: str
    url: str
    scheme: str
    parameters: Mapping[str, str]
    data: Mapping[str, str] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        env = {
            f"ENDPOINT_URL_{self.id}": self.url,
            f"ENDPOINT_AUTH_{self.id}": json.dumps({"parameters": dict(self.parameters), "scheme": self.scheme}),
            f"ENDPOINT_AUTH_SCHEME_{self.id}": self.scheme,
        }
        env.update({f"ENDPOINT_AUTH_PARAMETER_{self.id}_{k.upper()}": v for k, v in self.parameters.items()})
        env.update({f"ENDPOINT_DATA_{self.id}_{k.upper()}": v for k, v in self.data.items()})
        return env


@dataclass(frozen=True)
class PackagedTask:
    """A task folder unpacked from the VSIX."""

    folder: Path
    manifest: dict[str, Any]

    @classmethod
    def from_vsix(cls, vsix: Path, destination: Path, task_path: str = "tasks/databricks") -> PackagedTask:
        with zipfile.ZipFile(vsix) as archive:
            archive.extractall(destination)
        return cls.from_folder(destination / task_path)

    @classmethod
    def from_folder(cls, folder: Path) -> PackagedTask:
        """A task folder as staged by `npm run build` (build/extension/tasks/databricks)."""
        return cls(folder, json.loads((folder / "task.json").read_text(encoding="utf-8")))

    def command_line(self, node: str) -> list[str]:
        """`node <target>` with the handler the agent would choose for this Node: Node24 on 24+, else Node20_1."""
        major = int(
            subprocess.run(
                [node, "-p", "process.versions.node.split('.')[0]"], capture_output=True, text=True, check=True
            ).stdout
        )
        handler = "Node24" if major >= 24 and "Node24" in self.manifest["execution"] else "Node20_1"
        return [node, str(self.folder / self.manifest["execution"][handler]["target"])]

    def environment(
        self,
        inputs: Mapping[str, str],
        connections: Mapping[str, ServiceConnection],
        variables: Mapping[str, str],
        access_token: str,
        base: Mapping[str, str],
    ) -> dict[str, str]:
        """The task's environment: `base` plus inputs (defaults filled in, macros expanded), the connections the
        inputs name (input name -> connection) and the variables, as the agent sets them."""
        env = dict(base)
        for name, value in variables.items():
            env[environment_name(name)] = value
        env["TF_BUILD"] = "True"
        env["VSTS_PUBLIC_VARIABLES"] = json.dumps(sorted(variables))
        env["VSTS_SECRET_VARIABLES"] = json.dumps(["System.AccessToken"])
        env["SECRET_SYSTEM_ACCESSTOKEN"] = access_token
        system = ServiceConnection(SYSTEM_CONNECTION, "", "OAuth", {"AccessToken": access_token})
        env.update(system.environment())
        for declared in self.manifest["inputs"]:
            name = declared["name"]
            default = declared.get("defaultValue", "")
            value = inputs.get(name, str(default).lower() if isinstance(default, bool) else str(default))
            if name in connections:
                value = connections[name].id
                env.update(connections[name].environment())
            env[f"INPUT_{environment_name(name)}"] = _MACRO.sub(lambda m: variables.get(m[1], m[0]), value)
        return env


PREFIX = "##vso["
_UNESCAPES = ((";", "%3B"), ("\r", "%0D"), ("\n", "%0A"), ("]", "%5D"))


@dataclass
class AgentCommand:
    name: str
    properties: dict[str, str] = field(default_factory=dict)
    data: str = ""


def unescape(text: str) -> str:
    for token, replacement in _UNESCAPES:
        text = text.replace(replacement, token)
    return text.replace("%AZP25", "%")


def parse(line: str) -> AgentCommand | None:
    start = line.find(PREFIX)
    if start < 0:
        return None
    end = line.find("]", start)
    if end < 0:
        return None
    name, _, properties_text = line[start + len(PREFIX) : end].partition(" ")
    area_event = [part for part in name.split(".") if part]
    if len(area_event) != 2:
        return None
    properties = {}
    for item in (p for p in properties_text.split(";") if p):
        pair = [part for part in item.split("=", 1) if part]
        if len(pair) == 2:
            properties[pair[0].lower()] = unescape(pair[1])
    return AgentCommand(".".join(area_event).lower(), properties, unescape(line[end + 1 :]))


def lines(stdout: str) -> list[str]:
    return [line for line in re.split(r"\r\n|\r|\n", stdout) if line]


def commands(stdout: str, name: str | None = None) -> list[AgentCommand]:
    """Every command the agent would run, in order (only those called `name` when given)."""
    found = [c for c in (parse(line) for line in lines(stdout)) if c is not None]
    return [c for c in found if name is None or c.name == name]
