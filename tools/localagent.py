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

It also picks the handler and Node the agent would (`select_handler`), cancels as the agent does (`cancel`: SIGINT,
SIGTERM, kill; on Windows CTRL_C, CTRL_BREAK, a kill of the tree) and keeps the step's record as the agent does
(`step_record`: the result from task.complete, read as the agent's TaskResult enum, a failed command failing the
step; at most 10 error and 10 warning issues; secrets masked). Each part cites the agent source it follows; what no
source settles is said where it is modelled.
"""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
import weakref
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any

SYSTEM_CONNECTION = "SYSTEMVSSCONNECTION"
_MACRO = re.compile(r"\$\(([A-Za-z0-9_.]+)\)")


def environment_name(name: str) -> str:
    """How the agent names a variable in the environment: upper case, `.` and spaces as `_`."""
    return name.upper().replace(".", "_").replace(" ", "_")


def step_variables(build_id: str, sources: Path, temp: Path, tools: Path, host_type: str = "build") -> dict[str, str]:
    """The predefined variables the agent gives a step of a job (each step a task instance id of its own):
    `host_type` is System.HostType, "build" for a build or YAML pipeline, "release" for a classic release,
    "deployment" for a deployment group job (the lower-case names of the agent's HostTypes, which it parses
    ignoring case: src/Agent.Worker/Variables.cs System_HostType, Util/EnumUtil.cs)."""
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
        "System.HostType": host_type,
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
    "LICENSE",
    "requirements",
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
    """What the agent does first when a run is cancelled: SIGINT to the task's Node process only (CTRL_C to its
    console on Windows, see `cancel`)."""
    _, send, _ = _cancel_plan(process, os.name == "nt", 0, 0)[0]
    send()


# How the agent stops a task's process when the run is cancelled (azure-pipelines-agent src/Agent.Sdk/ProcessInvoker.cs,
# CancelAndKillProcessTree; ProcessInvoker.MacLinux.cs, SendPosixSignal and NixKillProcessTree): SIGINT to the process,
# up to SIGINT_TIMEOUT_S for it to exit, then SIGTERM and up to SIGTERM_TIMEOUT_S, then Process.Kill() of that process
# (not its children). The Node handler takes the timeouts from the knobs PROCESS_SIGINT_TIMEOUT and
# PROCESS_SIGTERM_TIMEOUT, 7500 and 2500 ms by default (src/Agent.Sdk/Knob/AgentKnobs.cs; Handlers/NodeHandler.cs),
# and asks for no forced kill (killProcessOnCancel: false). With the knob USE_GRACEFUL_PROCESS_SHUTDOWN (off by
# default) the agent stops after SIGINT; not modelled.
SIGINT_TIMEOUT_S = 7.5
SIGTERM_TIMEOUT_S = 2.5


# On Windows the agent sends console control events instead (src/Agent.Sdk/ProcessInvoker.Windows.cs, SendCtrlSignal):
# it frees its own console, attaches to the console of the task's process, ignores the events itself and calls
# GenerateConsoleCtrlEvent(event, 0), which every process on that console receives; CTRL_C first, CTRL_BREAK after
# the same SIGINT timeout, then WindowsKillProcessTree kills the whole tree, children first. The emulation starts the
# task on a console of its own (`process_options`), so that the events reach the task's processes and not the test
# runner, and sends them from a short-lived Python process, because detaching this process from its console would
# take the console from the tests.
_CTRL_C_EVENT, _CTRL_BREAK_EVENT = 0, 1  # wincon.h
_SEND_CONSOLE_CTRL = """
import ctypes, sys
kernel32 = ctypes.windll.kernel32
pid, event = int(sys.argv[1]), int(sys.argv[2])
kernel32.FreeConsole()
if not kernel32.AttachConsole(pid):
    sys.exit(1)
kernel32.SetConsoleCtrlHandler(None, True)
sys.exit(0 if kernel32.GenerateConsoleCtrlEvent(event, 0) else 2)
"""


def process_options() -> dict[str, Any]:
    """`subprocess.Popen` arguments for starting a task's process as the agent would have it: on Windows on a console
    of its own (hidden), which `cancel` attaches to; nothing elsewhere."""
    if os.name != "nt":
        return {}
    startup = subprocess.STARTUPINFO()  # type: ignore[attr-defined]  # Windows only
    startup.dwFlags |= subprocess.STARTF_USESHOWWINDOW  # type: ignore[attr-defined]
    startup.wShowWindow = 0  # SW_HIDE
    return {"creationflags": subprocess.CREATE_NEW_CONSOLE, "startupinfo": startup}  # type: ignore[attr-defined]


def _send_console_ctrl(process: subprocess.Popen[str], event: int) -> None:
    subprocess.run([sys.executable, "-c", _SEND_CONSOLE_CTRL, str(process.pid), str(event)], timeout=30, check=False)


def _kill_tree(process: subprocess.Popen[str]) -> None:
    subprocess.run(["taskkill", "/T", "/F", "/PID", str(process.pid)], capture_output=True, timeout=30, check=False)


def _cancel_plan(
    process: subprocess.Popen[str], windows: bool, sigint_timeout: float, sigterm_timeout: float
) -> list[tuple[str, Callable[[], None], float | None]]:
    """What the agent sends, in order, with how long it waits after each: the POSIX or the Windows sequence."""
    if windows:
        return [
            ("CTRL_C", lambda: _send_console_ctrl(process, _CTRL_C_EVENT), sigint_timeout),
            ("CTRL_BREAK", lambda: _send_console_ctrl(process, _CTRL_BREAK_EVENT), sigterm_timeout),
            ("KILL_TREE", lambda: _kill_tree(process), None),
        ]
    return [
        ("SIGINT", lambda: process.send_signal(signal.SIGINT), sigint_timeout),
        ("SIGTERM", lambda: process.send_signal(signal.SIGTERM), sigterm_timeout),
        ("SIGKILL", process.kill, None),
    ]


@dataclass
class Cancellation:
    """What the agent sent to a cancelled task's process, in order: (signal, seconds after the cancel began), and
    when the process exited."""

    sent: list[tuple[str, float]] = field(default_factory=list)
    exited_s: float | None = None

    @property
    def by_sigint(self) -> bool:
        """Whether the process exited on the first signal (SIGINT; CTRL_C on Windows), before the agent's next."""
        return len(self.sent) == 1 and self.exited_s is not None


_CANCELLED: weakref.WeakKeyDictionary[subprocess.Popen[str], Cancellation] = weakref.WeakKeyDictionary()


def cancel(
    process: subprocess.Popen[str],
    sigint_timeout: float = SIGINT_TIMEOUT_S,
    sigterm_timeout: float = SIGTERM_TIMEOUT_S,
    windows: bool | None = None,
) -> Cancellation:
    """Cancels the step as the agent does on this platform (see SIGINT_TIMEOUT_S, `_cancel_plan`); returns once the
    process has exited. The step's result is then Canceled whatever the task said (see `step_record`)."""
    done = _CANCELLED.setdefault(process, Cancellation())
    began = time.monotonic()
    plan = _cancel_plan(process, os.name == "nt" if windows is None else windows, sigint_timeout, sigterm_timeout)
    for name, send, timeout in plan:
        if process.poll() is not None:
            break
        send()
        done.sent.append((name, time.monotonic() - began))
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            continue
        break
    done.exited_s = time.monotonic() - began
    return done


def cancellation_of(process: subprocess.Popen[str]) -> Cancellation | None:
    """How `cancel` cancelled this process; None if it was not cancelled."""
    return _CANCELLED.get(process)


# The Node execution handlers of task.json: the first agent release that knows each (the first release tag of
# microsoft/azure-pipelines-agent whose src/Agent.Worker/TaskManager.cs has its ExecutionData property: an agent
# ignores entries it does not know), and its HandlerData.Priority (TaskManager.cs; TaskRunner.GetHandlerData runs the
# handler of lowest priority among those the task declares and the agent knows).
NODE_HANDLERS: dict[str, tuple[tuple[int, int, int], int]] = {
    "Node24": ((4, 265, 0), 101),
    "Node20_1": ((3, 230, 2), 102),
    "Node16": ((2, 206, 1), 103),
    "Node10": ((2, 144, 0), 104),
    "Node": ((0, 0, 0), 105),
}
# The agent's Node folders (externals/<folder>/bin/node; Handlers/NodeHandler.cs) and the Node major each holds.
NODE_FOLDERS = {"node24": 24, "node20_1": 20, "node16": 16, "node10": 10, "node": 6}
NEWEST_AGENT = (4, 999, 0)


@dataclass(frozen=True)
class AgentSettings:
    """The agent a step runs on, as far as it matters to the task: its version, and the knob
    AGENT_USE_NODE24_WITH_HANDLER_DATA (UseNode24withHandlerData in src/Agent.Sdk/Knob/AgentKnobs.cs, default false;
    also a pipeline feature Microsoft can turn on)."""

    version: tuple[int, int, int] = NEWEST_AGENT
    use_node24_with_handler_data: bool = False


class NoHandler(Exception):
    """The agent knows none of the task's handlers: the step fails before it starts ("A supported task execution
    handler was not found", SupportedTaskHandlerNotFound* in TaskRunner.cs)."""


def select_handler(execution: Mapping[str, Any], agent: AgentSettings) -> tuple[str, str]:
    """(handler, Node folder) as the agent picks them. The handler: the lowest priority among the Node handlers of
    `execution` that the agent's version knows (TaskRunner.GetHandlerData). The folder: NodeHandler.cs
    GetNodeLocationLegacy (the default; UseEnhancedNodeSelection off): Node24 handler data runs on node24 only with the
    knob UseNode24withHandlerData, else on node20_1, the default folder; Node20_1 on node20_1, Node16 on node16,
    Node10 on node10, Node on node. Not modelled: the knobs that force one Node for every task (AGENT_USE_NODE10,
    AGENT_USE_NODE20_1, AGENT_USE_NODE24), the glibc fallbacks, and containers."""
    known = [h for h in execution if h in NODE_HANDLERS and agent.version >= NODE_HANDLERS[h][0]]
    if not known:
        raise NoHandler(f"agent {'.'.join(map(str, agent.version))} knows none of the handlers {sorted(execution)}")
    handler = min(known, key=lambda h: NODE_HANDLERS[h][1])
    if handler == "Node24":
        return handler, "node24" if agent.use_node24_with_handler_data else "node20_1"
    return handler, {"Node20_1": "node20_1", "Node16": "node16", "Node10": "node10", "Node": "node"}[handler]


@dataclass(frozen=True)
class AgentNetwork:
    """How the agent was configured to reach the network: `./config.sh --proxyurl --proxyusername --proxypassword`,
    a `.proxybypass` file (one regular expression a line) and `--sslcacert`. The agent hands them to every task as
    variables (ExecutionContext.cs, "Proxy variables" and "Certificate variables"): Agent.ProxyUrl,
    Agent.ProxyUsername, Agent.ProxyPassword as a secret variable, Agent.ProxyBypassList as a JSON array (only when
    not empty; JsonUtility.ToString of the list, VstsAgentWebProxy.LoadProxyBypassList), Agent.UseBasicAuthForProxy,
    and Agent.CAInfo; it sets no HTTPS_PROXY. Not modelled: client certificates, --sslskipcertvalidation, and
    NO_PROXY of the agent's own environment, which it adds to the bypass list with its dots escaped."""

    proxy_url: str = ""
    proxy_username: str = ""
    proxy_password: str = ""
    proxy_bypass: tuple[str, ...] = ()
    ca_info: str = ""

    def variables(self) -> tuple[dict[str, str], dict[str, str]]:
        """(public, secret) variables, by name, as the agent sets them for the job."""
        public: dict[str, str] = {}
        secret: dict[str, str] = {}
        if self.proxy_url:
            public["Agent.ProxyUrl"] = self.proxy_url
            if self.proxy_username:
                public["Agent.ProxyUsername"] = self.proxy_username
            if self.proxy_password:
                secret["Agent.ProxyPassword"] = self.proxy_password
            if self.proxy_bypass:
                public["Agent.ProxyBypassList"] = json.dumps(list(self.proxy_bypass))
            public["Agent.UseBasicAuthForProxy"] = "False"
        if self.ca_info:
            public["Agent.CAInfo"] = self.ca_info
        return public, secret


@dataclass(frozen=True)
class ServiceConnection:
    """A service connection as the agent hands it to a task."""

    id: str
    url: str
    scheme: str
    parameters: Mapping[str, str]
    data: Mapping[str, str] = field(default_factory=dict)

    @property
    def secrets(self) -> list[str]:
        """The values the agent masks: every authorization parameter but those MaskingUtil says are no secret."""
        return [value for key, value in self.parameters.items() if value and is_secret_auth_parameter(key)]

    def environment(self) -> dict[str, str]:
        env = {
            f"ENDPOINT_URL_{self.id}": self.url,
            f"ENDPOINT_AUTH_{self.id}": json.dumps({"parameters": dict(self.parameters), "scheme": self.scheme}),
            f"ENDPOINT_AUTH_SCHEME_{self.id}": self.scheme,
        }
        env.update({f"ENDPOINT_AUTH_PARAMETER_{self.id}_{k.upper()}": v for k, v in self.parameters.items()})
        env.update({f"ENDPOINT_DATA_{self.id}_{k.upper()}": v for k, v in self.data.items()})
        return env


@functools.cache
def node_major(binary: str) -> int:
    """The major version of a Node binary, asked once per binary: the steps of a test session (many at once, from
    threads) need not each start a Node process to learn it."""
    return int(
        subprocess.run(
            [binary, "-p", "process.versions.node.split('.')[0]"], capture_output=True, text=True, check=True
        ).stdout
    )


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

    def handler(self, agent: AgentSettings | None = None) -> tuple[str, str]:
        """The execution handler the agent runs this task with, and the Node folder it runs it on."""
        return select_handler(self.manifest["execution"], agent or AgentSettings())

    def command_line(self, node: str | Mapping[str, str], agent: AgentSettings | None = None) -> list[str]:
        """`node <target>` as the agent starts it: the target of the handler the agent picks, on the Node folder it
        picks for it (see `select_handler`). `node` is the binary for that folder, or a mapping of folder names
        ("node16", "node20_1", "node24") to binaries; its Node major version must be the folder's."""
        handler, folder = self.handler(agent)
        binary = node if isinstance(node, str) else node[folder]
        major = node_major(binary)
        if major != NODE_FOLDERS[folder]:
            raise ValueError(
                f"the agent runs handler {handler} on {folder} (Node {NODE_FOLDERS[folder]}): {binary} is Node {major}"
            )
        return [binary, str(self.folder / self.manifest["execution"][handler]["target"])]

    def environment(
        self,
        inputs: Mapping[str, str],
        connections: Mapping[str, ServiceConnection],
        variables: Mapping[str, str],
        access_token: str,
        base: Mapping[str, str],
        secret_variables: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """The task's environment: `base` plus inputs (defaults filled in, macros expanded), the connections the
        inputs name (input name -> connection) and the variables, as the agent sets them: public ones under their
        environment names, secret ones (System.AccessToken, `secret_variables`) as SECRET_<NAME>, each kind listed
        in VSTS_PUBLIC_VARIABLES / VSTS_SECRET_VARIABLES (Handler.cs AddVariablesToEnvironment)."""
        env = dict(base)
        for name, value in variables.items():
            env[environment_name(name)] = value
        env["TF_BUILD"] = "True"
        env["VSTS_PUBLIC_VARIABLES"] = json.dumps(sorted(variables))
        secrets = {"System.AccessToken": access_token, **(secret_variables or {})}
        env["VSTS_SECRET_VARIABLES"] = json.dumps(list(secrets))
        for name, value in secrets.items():
            env[f"SECRET_{environment_name(name)}"] = value
        system = ServiceConnection(SYSTEM_CONNECTION, "", "OAuth", {"AccessToken": access_token})
        env.update(system.environment())
        known = {**variables, **secrets}
        for declared in self.manifest["inputs"]:
            name = declared["name"]
            default = declared.get("defaultValue", "")
            value = inputs.get(name, str(default).lower() if isinstance(default, bool) else str(default))
            if name in connections:
                value = connections[name].id
                env.update(connections[name].environment())
            # Macros expand to secret variables too: "Secret variables are not passed into tasks as environment
            # variables and must be passed as inputs" (azure-pipelines-tasks, docs/authoring/commands.md,
            # task.setvariable), which is how `parameters: key=$(Storage.Key)` hands a secret to a notebook.
            env[f"INPUT_{environment_name(name)}"] = _MACRO.sub(lambda m: known.get(m[1], m[0]), value)
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


class TaskResult(IntEnum):
    """The agent's TaskResult. The enum is defined in the Microsoft.TeamFoundation.DistributedTask.WebApi package, not
    in the agent's repository; its members and their order are those the agent's code uses: TaskResult.Canceled
    (src/Agent.Worker/StepsRunner.cs, JobRunner.cs) and the ordering that MergeTaskResults relies on
    (src/Microsoft.VisualStudio.Services.Agent/Util/TaskResultUtil.cs: Succeeded, SucceededWithIssues, then Failed,
    Canceled, Skipped, Abandoned; "currentResult > TaskResult.Failed" means Canceled, Skipped or Abandoned)."""

    Succeeded = 0
    SucceededWithIssues = 1
    Failed = 2
    Canceled = 3
    Skipped = 4
    Abandoned = 5


def merge_results(current: TaskResult | None, coming: TaskResult) -> TaskResult:
    """TaskResultUtil.MergeTaskResults: the worse of the two, except that Canceled, Skipped and Abandoned stay."""
    if current is None:
        return coming
    if current > TaskResult.Failed:
        return current
    return max(current, coming)


def parse_result(text: str) -> TaskResult | None:
    """`Enum.TryParse<TaskResult>(text)` as TaskCompleteCommand calls it (src/Agent.Worker/TaskCommandExtension.cs):
    case-sensitive member names (surrounding white space ignored) or the number of a member. .NET also accepts
    numbers of no member and comma-separated lists; tasks do not write those, and they are not modelled."""
    text = text.strip()
    if text.lstrip("+-").isdigit():
        return TaskResult(int(text)) if int(text) in TaskResult._value2member_map_ else None
    return TaskResult.__members__.get(text)


# The endpoint authorization parameters the agent does not mask (src/Agent.Sdk/Util/MaskingUtil.cs,
# IsEndpointAuthorizationParametersSecret; Worker.cs masks every other non-empty parameter of every endpoint of the
# job). MaskingUtil names them by EndpointAuthorizationParameters constants of the
# Microsoft.VisualStudio.Services.ServiceEndpoints.WebApi package, which is not public source: their spelling here is
# the constants' names in camel case. The comparison is case-insensitive.
NOT_MASKED_AUTH_PARAMETERS = frozenset(
    name.lower()
    for name in (
        "role",
        "scope",
        "tenantId",
        "issuedAt",
        "expiresAt",
        "audience",
        "authenticationType",
        "authorizationType",
        "accessTokenType",
        "accessTokenFetchingMethod",
        "useWindowsSecurity",
        "unsecured",
        "oAuthAccessTokenIsSupplied",
        "completeCallbackPayload",
        "acceptUntrustedCertificates",
    )
)


def is_secret_auth_parameter(key: str) -> bool:
    return key.lower() not in NOT_MASKED_AUTH_PARAMETERS


MASK = "***"


class SecretMasker:
    """The agent's secret masker, for the values it is given: each one in a log line or an issue becomes `***`.
    The agent also masks a few encodings of secret variables (Worker.cs: %-escaped and base64 forms) and drops
    secrets shorter than AZP_IGNORE_SECRETS_SHORTER_THAN; not modelled."""

    def __init__(self, values: list[str] | None = None) -> None:
        self.values: set[str] = set()
        for value in values or []:
            self.add(value)

    def add(self, value: str) -> None:
        if value:
            self.values.add(value)

    def mask(self, text: str) -> str:
        for value in sorted(self.values, key=len, reverse=True):
            text = text.replace(value, MASK)
        return text


# ExecutionContext.cs: `_maxIssueCount = 10`; AddIssue keeps the first 10 errors and the first 10 warnings of a step
# as its timeline record's issues and counts them all (ErrorCount, WarningCount); every one is also written to the
# log (`##[error]`, `##[warning]`), masked.
MAX_ISSUES = 10

# The commands of the `task` area (src/Agent.Worker/TaskCommandExtension.cs, the IWorkerCommand classes' Name and
# Aliases); another event of that area fails as an unknown command (WorkerCommandManager.cs: "CommandNotFound2").
TASK_COMMANDS = frozenset(
    {
        "logdetail",
        "uploadsummary",
        "uploadfile",
        "addattachment",
        "logissue",
        "issue",
        "complete",
        "setprogress",
        "setsecret",
        "setvariable",
        "debug",
        "settaskvariable",
        "setendpoint",
        "prependpath",
    }
)
# The other areas the agent registers a command extension for (src/Agent.Worker/*CommandExtension.cs); a command of
# an area not listed is ignored with a warning ("CommandNotFound").
OTHER_AREAS = frozenset({"artifact", "build", "codecoverage", "results", "telemetry", "release", "plugininternal"})

# The host types (System.HostType) each area's extension supports, its SupportedHostTypes (WorkerCommandManager.cs,
# enum HostTypes: Build, Deployment, PoolMaintenance, Release): Build/ArtifactCommandExtension.cs Build | Release,
# CodeCoverage/CodeCoverageCommands.cs Build, PluginInternalCommandExtension.cs Build,
# Release/ReleaseCommandExtension.cs Release | Deployment; task, build, results and telemetry All.
ALL_HOST_TYPES = frozenset({"build", "deployment", "poolmaintenance", "release"})
SUPPORTED_HOST_TYPES = {
    "artifact": frozenset({"build", "release"}),
    "codecoverage": frozenset({"build"}),
    "plugininternal": frozenset({"build"}),
    "release": frozenset({"release", "deployment"}),
}

# src/Misc/layoutbin/en-US/strings.json
DOCS_LINK = "http://go.microsoft.com/fwlink/?LinkId=817296"
SEE_DOCS = f"Please reference documentation ({DOCS_LINK})"
COMMAND_PROCESS_FAILED = "Unable to process command '{0}' successfully. " + SEE_DOCS
COMMAND_NOT_SUPPORTED = "{0} commands are not supported for {1} flow. " + SEE_DOCS
UPLOAD_ARTIFACT_NOT_SUPPORTED = "Uploading server artifact is not supported in {0}."
COMMAND_NOT_FOUND2 = "##vso[{0}.{1}] is not a recognized command for {2} command extension. " + SEE_DOCS + "."
INVALID_COMMAND_RESULT = "Command doesn't have valid result value."
COMMAND_NOT_FOUND = "Cannot find command extension for ##vso[{0}.command]. " + SEE_DOCS
COMMAND_KEYWORD_DETECTED = (
    "'{0}' contains logging command keyword '##vso', but it's not a legal command. Please see the list of accepted "
    "commands: https://go.microsoft.com/fwlink/?LinkId=817296"
)
PROCESS_EXIT_CODE = "Exit code {0} returned from process: file name '{1}', arguments '{2}'."


@dataclass
class Issue:
    type: str  # "error" or "warning"
    message: str


@dataclass
class StepRecord:
    """The step as the agent records it: its result, the issues its timeline record keeps (at most MAX_ISSUES of each
    type) and how many there were, and its log (masked)."""

    result: TaskResult
    issues: list[Issue]
    error_count: int
    warning_count: int
    log: list[str]
    commands: list[AgentCommand]

    @property
    def errors(self) -> list[str]:
        return [issue.message for issue in self.issues if issue.type == "error"]

    @property
    def warnings(self) -> list[str]:
        return [issue.message for issue in self.issues if issue.type == "warning"]


def host_type_name(host_type: str) -> str:
    """System.HostType as the agent prints it in messages: the HostTypes member's name (EnumUtil.TryParse ignores
    case; an unknown value is HostTypes.None)."""
    names = {"build": "Build", "deployment": "Deployment", "poolmaintenance": "PoolMaintenance", "release": "Release"}
    return names.get(host_type.lower(), "None")


class _Step:
    def __init__(self, masker: SecretMasker, host_type: str) -> None:
        self.masker = masker
        self.host_type = host_type.lower()
        self.result: TaskResult | None = None
        self.command_result: TaskResult | None = None
        self.issues: list[Issue] = []
        self.counts = {"error": 0, "warning": 0}
        self.log: list[str] = []
        self.commands: list[AgentCommand] = []

    def issue(self, kind: str, message: str) -> None:
        message = self.masker.mask(message)
        self.log.append(f"##[{kind}]{message}")
        if self.counts[kind] < MAX_ISSUES:
            self.issues.append(Issue(kind, message))
        self.counts[kind] += 1

    def line(self, line: str) -> None:
        command = parse(line)
        if command is None:
            if "##vso" in line:
                self.issue("warning", COMMAND_KEYWORD_DETECTED.format(line))
            self.log.append(self.masker.mask(line))
            return
        area, _, event = command.name.partition(".")
        if area != "task" and area not in OTHER_AREAS:
            self.issue("warning", COMMAND_NOT_FOUND.format(area))
            return
        # WorkerCommandManager.TryProcessCommand: an area whose extension does not support the host type is an error
        # and fails the step, before the command runs. HostTypes.None (no or an unknown System.HostType) passes
        # this check: HasFlag(None) is true.
        supported = SUPPORTED_HOST_TYPES.get(area, ALL_HOST_TYPES)
        if self.host_type in ALL_HOST_TYPES and self.host_type not in supported:
            self.issue("error", COMMAND_NOT_SUPPORTED.format(area, host_type_name(self.host_type)))
            self.command_result = merge_results(self.command_result, TaskResult.Failed)
            return
        try:
            self.run(area, event, command)
        except ValueError as failure:
            # WorkerCommandManager.TryProcessCommand: two errors, and the step's command result is Failed.
            self.issue("error", COMMAND_PROCESS_FAILED.format(line))
            self.issue("error", str(failure))
            self.command_result = merge_results(self.command_result, TaskResult.Failed)
            return
        self.commands.append(command)

    def run(self, area: str, event: str, command: AgentCommand) -> None:
        if (area, event) == ("artifact", "upload") and self.host_type != "build":
            # ArtifactUploadCommand.Execute (Build/ArtifactCommandExtension.cs) throws outside Build, unless the path is
            # a UNC share (\\server\share), which a task's temp folder is not; not modelled.
            raise ValueError(UPLOAD_ARTIFACT_NOT_SUPPORTED.format(host_type_name(self.host_type)))
        if area != "task":
            return
        if event not in TASK_COMMANDS:
            raise ValueError(COMMAND_NOT_FOUND2.format("task", event, "task"))
        if event == "complete":
            result = parse_result(command.properties.get("result", ""))
            if result is None:
                raise ValueError(INVALID_COMMAND_RESULT)
            self.result = merge_results(self.result, result)
        elif event in ("logissue", "issue"):
            kind = command.properties.get("type", "")
            if kind.lower() not in self.counts:
                raise ValueError(f"issue type {kind} is not an expected issue type.")
            self.issue(kind.lower(), command.data)
        elif event == "setsecret":
            self.masker.add(command.data)


def step_record(
    stdout: str,
    returncode: int,
    secrets: list[str],
    cancelled: bool = False,
    command_line: list[str] | None = None,
    host_type: str = "build",
) -> StepRecord:
    """The step's record once its process has ended: every line of stdout read as the agent reads it (commands run,
    other lines logged, masked with `secrets` and the values of task.setsecret), then the result as StepsRunner.cs
    settles it: Canceled when the agent cancelled the step (ProcessInvoker throws once the process is gone and
    RunStepAsync sets Canceled, overriding task.complete); Failed when Node exited with another code than 0 (the Node
    handler requires exit code 0: ProcessExitCodeException); else task.complete's result, Succeeded without one
    (ExecutionContext.Complete); then merged with the commands' result (a failed command fails the step, among them
    a command the pipeline's `host_type` does not support)."""
    step = _Step(SecretMasker(secrets), host_type)
    for line in lines(stdout):
        step.line(line)
    result = step.result
    if cancelled:
        result = TaskResult.Canceled
    elif returncode != 0:
        command = command_line or ["node"]
        step.issue("error", PROCESS_EXIT_CODE.format(returncode, command[0], " ".join(command[1:])))
        result = TaskResult.Failed
    if step.command_result is not None:
        result = merge_results(result, step.command_result)
    return StepRecord(
        result if result is not None else TaskResult.Succeeded,
        step.issues,
        step.counts["error"],
        step.counts["warning"],
        step.log,
        step.commands,
    )
