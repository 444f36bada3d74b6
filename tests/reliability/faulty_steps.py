"""`test` steps of the packaged task against local workspaces with injected faults: what test_faults.py,
test_cancellation.py and bench/soak.py run.

Each step tests a repository of one cheap notebook (it writes a JUnit file and exits with a value, so results
collection and output variables are exercised without the cost of pytest in a notebook) on a local workspace lent to
it alone (`WorkspacePool`): its fault rules and call counts belong to that step, so steps can run concurrently.
`ENDPOINTS` lists every endpoint such a step calls, `FAULT_KINDS` the faults injected into them.
"""

from __future__ import annotations

import fnmatch
import queue
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from databricks.sdk import WorkspaceClient
from leftovers import Leftovers
from task_runs import HEADER, Agents, build_variables, unique

from dbcicd_localworkspace import FaultRule, LocalWorkspaceServer
from junit_reader import read
from task_harness import Agent, TaskRun

CHECKS = HEADER + (
    "import os\n"
    "import time\n"
    "dbutils.widgets.text('sleep_s', '0')\n"
    "time.sleep(float(dbutils.widgets.get('sleep_s')))\n"
    "folder = dbutils.widgets.get('dbcicd_results_dir')\n"
    "os.makedirs(folder, exist_ok=True)\n"
    "with open(os.path.join(folder, 'checks.xml'), 'w') as report:\n"
    '    report.write(\'<testsuite name="checks" tests="1"><testcase classname="checks" name="test_add"/>'
    "</testsuite>')\n"
    "dbutils.notebook.exit('checked')\n"
)
REPOSITORY = {"tests/test_checks.py": CHECKS}  # with input `parameters` sleep_s=N the notebook runs N s longer
EXIT_VALUE = "checked"
PASSED = {("test_add", "Passed"), ("tests_test_checks", "Passed")}  # the notebook's own case and its task's

# Every endpoint a `test` step calls, in the order it first calls them (name -> fault rule route).
ENDPOINTS = {
    "discovery": "GET /.well-known/databricks-config",
    "mkdirs": "POST /api/2.0/workspace/mkdirs",
    "repos-create": "POST /api/2.0/repos",
    "repos-update": "PATCH /api/2.0/repos/*",
    "repos-get": "GET /api/2.0/repos/*",
    "workspace-list": "GET /api/2.0/workspace/list",
    "runs-submit": "POST /api/2.2/jobs/runs/submit",
    "runs-get": "GET /api/2.2/jobs/runs/get",
    "runs-get-output": "GET /api/2.2/jobs/runs/get-output",
    "workspace-export": "GET /api/2.0/workspace/export",
    "workspace-get-status": "GET /api/2.0/workspace/get-status",
    "repos-delete": "DELETE /api/2.0/repos/*",
}
# What a step with `source: upload` calls besides (the cancellation trials slow it down).
UPLOAD_ENDPOINTS = {"workspace-import": "POST /api/2.0/workspace/import"}
RETRY_AFTER_S = 1
LATENCY_MS = 2000
FAULT_KINDS: dict[str, dict[str, Any]] = {
    "429": {"status": 429, "retry_after": RETRY_AFTER_S},
    "503": {"status": 503, "retry_after": RETRY_AFTER_S},
    "500": {"status": 500},
    "drop-before": {"drop": "before"},
    "drop-after": {"drop": "after"},
    "latency": {"latency_ms": LATENCY_MS},
}
# How the step's log names the retry of each fault kind the SDK retries.
RETRY_REASONS = {
    "429": "throttled by platform",
    "503": "throttled by platform",
    "drop-before": "cannot connect",
    "drop-after": "cannot connect",
}
RETRY_WARNING = "A Databricks API call failed and is retried: "


def rule(endpoint: str, kind: str, **options: Any) -> FaultRule:
    """The fault `kind` on `endpoint` (names of ENDPOINTS, UPLOAD_ENDPOINTS and FAULT_KINDS); `options` such as
    times, probability."""
    route = ENDPOINTS.get(endpoint) or UPLOAD_ENDPOINTS[endpoint]
    return FaultRule.parse({"route": route, **FAULT_KINDS[kind], **options})


def kind_of(fault: FaultRule) -> str:
    """The FAULT_KINDS name of a rule."""
    if fault.status is not None:
        return str(fault.status)
    return f"drop-{fault.drop}" if fault.drop else "latency"


@dataclass(frozen=True)
class Call:
    """One API call of a step: its ENDPOINTS name (None for others) and the fault it met (a FAULT_KINDS name)."""

    endpoint: str | None
    kind: str | None


@contextmanager
def calls_of(server: LocalWorkspaceServer) -> Iterator[list[Call]]:
    """Every call the server receives while active, in order, with the fault each met."""
    calls: list[Call] = []
    pick = server.faults.pick

    def logged(method: str, path: str) -> FaultRule | None:
        fault = pick(method, path)
        endpoint = next(
            (name for name, route in ENDPOINTS.items() if fnmatch.fnmatchcase(f"{method} {path}", route)), None
        )
        calls.append(Call(endpoint, kind_of(fault) if fault else None))
        return fault

    server.faults.pick = logged  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        server.faults.pick = pick  # type: ignore[method-assign]


def step_inputs(temp_folder: str, **extra: str) -> dict[str, str]:
    """The inputs of a `test` step of the notebooks in REPOSITORY, its temporary Git folder under `temp_folder`."""
    return {"command": "test", "gitProvider": "gitHub", "notebooks": "tests/test_*", "tempFolder": temp_folder, **extra}


class WorkspacePool:
    """Local workspaces lent to one step at a time; each comes back without fault rules."""

    def __init__(self, size: int) -> None:
        self._servers = [LocalWorkspaceServer().start() for _ in range(size)]
        self._clients = {
            id(server): WorkspaceClient(host=server.host, token=server.token, auth_type="pat")
            for server in self._servers
        }
        self._free: queue.Queue[LocalWorkspaceServer] = queue.Queue()
        for server in self._servers:
            self._free.put(server)

    @contextmanager
    def lease(self) -> Iterator[LocalWorkspaceServer]:
        server = self._free.get()
        try:
            yield server
        finally:
            server.faults.replace([])
            self._free.put(server)

    def client(self, server: LocalWorkspaceServer) -> WorkspaceClient:
        """A client of `server` that the step's faults do not touch (use it once the rules are removed)."""
        return self._clients[id(server)]

    def close(self) -> None:
        for server in self._servers:
            server.stop()

    def __enter__(self) -> WorkspacePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class StepResult:
    """A finished step: the task's run, how often each fault fired, and what it left in the workspace."""

    run: TaskRun
    agent: Agent
    fired: list[int]  # per rule, in the order given
    calls: list[Call]
    left: Leftovers

    @property
    def log(self) -> str:
        return self.run.stdout + self.run.stderr

    def retry_warnings(self) -> list[str]:
        return [line for line in self.run.stdout.splitlines() if RETRY_WARNING in line]

    def test_results(self) -> set[tuple[str, str]]:
        """(title, outcome) of every test case in the JUnit files the task published."""
        found = set()
        for publish in self.run.commands("results.publish"):
            for path in publish.properties["resultfiles"].split(","):
                found |= {(result.title, result.outcome) for result in read(Path(path))}
        return found


def run_step(
    agents: Agents,
    pool: WorkspacePool,
    build: tuple[str, str],
    name: str,
    rules: list[FaultRule],
    inputs: Mapping[str, str] | None = None,
) -> StepResult:
    """One `test` step of `build` (repository URL, commit) with `rules` injected, on a workspace of its own, its
    temporary folder under a parent of its own (so nothing another step left is counted as this one's)."""
    parent = f"/Repos/{unique(name)}"
    with pool.lease() as server, calls_of(server) as calls:
        server.faults.replace(rules)
        agent = agents.new(server, name)
        run = agent.run(step_inputs(parent, **(inputs or {})), build_variables(*build))
        fired = [rule.fired for rule in rules]
        server.faults.replace([])
        step_calls = list(calls)
    return StepResult(run, agent, fired, step_calls, Leftovers.of(pool.client(server), agent.build_id, parent))
