"""Every endpoint a `test` step calls, under every fault the local workspace injects, through the packaged task as
the agent runs it.

Each fault fires once (a persistent one is its own case): 429 with Retry-After, 503, 500, the connection dropped
before the server acted and after it acted (the change made, the answer lost), and a latency spike. The SDK retries
429, 503 and lost connections — repeating a POST is safe because runs/submit carries an idempotency token and a Git
folder created by a lost request is recognised at the step's own unique path — and the step succeeds with its
results, the retry shown as a warning. A 500 is not retried (the SDK's policy: the server may have acted, or the
request may be at fault): where the step cannot do without the call it fails with an error naming the call, where it
can (the optional discovery probe, a task's exit value) it goes on, and clean-up calls are tried again. Every case
ends with exactly the runs it should have made, none of them active, and no Git folder.

The cases run three at a time, each on a local workspace of its own, when the first test needs them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from faulty_steps import (
    ENDPOINTS,
    EXIT_VALUE,
    FAULT_KINDS,
    PASSED,
    REPOSITORY,
    RETRY_REASONS,
    RETRY_WARNING,
    StepResult,
    WorkspacePool,
    rule,
    run_step,
)
from task_runs import Agents, run_all

from conftest import GitRemote
from dbcicd.localworkspace import FaultRule
from task_harness import PackagedTask

WORKERS = 3
RETRY_BUDGET_S = 3  # retryTimeoutSeconds of the case whose fault never ends


@dataclass(frozen=True)
class Expected:
    """What a case must end with: the task's result, how many runs its build made, and regular expressions that one
    error and one warning of the task must match (empty: no requirement)."""

    result: str
    runs: int
    error: str = ""
    warning: str = ""


def retried(endpoint: str, kind: str) -> Expected:
    return Expected("Succeeded", 1, warning=re.escape(RETRY_WARNING + RETRY_REASONS[kind]))


def api_call(endpoint: str) -> str:
    """How an error names the call to `endpoint`: its method and path (ids as digits)."""
    method, path = ENDPOINTS[endpoint].split(" ", 1)
    return re.escape(f"{method} {path}").replace(r"\*", r"\d+") + r"\b"


CLEANUP_RETRIED = r"Clean-up: delete the temporary Git folder \S+ failed \(.*Internal error.*\); trying again"
# A 500 answered once. Before the run: nothing was made, the step fails naming the call. After it: the run is
# cancelled (runs-get) or its results are unreadable (export): fail, the results are what the step is for. A task's
# exit value only feeds output variables: warn. Clean-up calls are tried again until the folder is gone.
SERVER_ERROR: dict[str, Expected] = {
    "discovery": Expected("Succeeded", 1),
    "mkdirs": Expected("Failed", 0, error=api_call("mkdirs")),
    "repos-create": Expected("Failed", 0, error=r"Creating the Git folder \S+ from \S+ failed: Internal error"),
    "repos-update": Expected("Failed", 0, error=r"Cannot check out branch 'main' in \S+: Internal error"),
    "repos-get": Expected("Failed", 0, error=api_call("repos-get")),
    "workspace-list": Expected("Failed", 0, error=api_call("workspace-list")),
    "runs-submit": Expected("Failed", 0, error=r"Submitting the run failed: Internal error"),
    "runs-get": Expected("Failed", 1, error=api_call("runs-get")),
    "runs-get-output": Expected(
        "Succeeded", 1, warning=r"Could not read the output of task tests_test_checks \(.*Internal error"
    ),
    "workspace-export": Expected("Failed", 1, error=r"Could not read \S+/checks\.xml: Internal error"),
    "workspace-get-status": Expected("Succeeded", 1, warning=CLEANUP_RETRIED),
    "repos-delete": Expected("Succeeded", 1, warning=CLEANUP_RETRIED),
}


def expected(endpoint: str, kind: str) -> Expected:
    if kind == "500":
        return SERVER_ERROR[endpoint]
    if kind == "latency":
        return Expected("Succeeded", 1)
    return retried(endpoint, kind)


@dataclass(frozen=True)
class Case:
    id: str
    rules: Callable[[], list[FaultRule]]
    expected: Expected
    inputs: dict[str, str] = field(default_factory=dict)


CASES = [
    Case(f"{endpoint}-{kind}", lambda e=endpoint, k=kind: [rule(e, k, times=1)], expected(endpoint, kind))
    for endpoint in ENDPOINTS
    for kind in FAULT_KINDS
]
# A fault that never ends: the step gives up after retryTimeoutSeconds, naming the call and that input.
PERSISTENT = Case(
    "mkdirs-503-persistent",
    lambda: [rule("mkdirs", "503")],
    Expected(
        "Failed",
        0,
        error=api_call("mkdirs") + rf".*still failing after retrying for {RETRY_BUDGET_S} s.*retryTimeoutSeconds",
    ),
    {"retryTimeoutSeconds": str(RETRY_BUDGET_S)},
)
CASES.append(PERSISTENT)


@pytest.fixture(scope="module")
def results(
    packaged_task: PackagedTask,
    node: str,
    tools_directory: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, StepResult]]:
    """Every case's step, run WORKERS at a time."""
    remote = GitRemote(tmp_path_factory.mktemp("git"))
    build = (remote.url, remote.commit(REPOSITORY, "build"))
    agents = Agents(packaged_task, node, tools_directory, tmp_path_factory.mktemp("faults"))
    with WorkspacePool(WORKERS) as pool:

        def run(case: Case) -> StepResult:
            return run_step(agents, pool, build, case.id, case.rules(), case.inputs)

        yield dict(zip([case.id for case in CASES], run_all(CASES, run, WORKERS), strict=True))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_fault(case: Case, results: dict[str, StepResult]) -> None:
    """The step under this fault: the expected result, runs, error or warning; nothing left behind."""
    step, want = results[case.id], case.expected
    log = step.log

    assert step.fired[0] >= 1, f"the fault never fired: the step did not call {case.id}\n{log}"
    assert step.run.result == want.result, log
    assert len(step.left.runs) == want.runs, f"runs of the build: {[r.run_id for r in step.left.runs]}\n{log}"
    step.left.assert_none(log)
    assert "Traceback" not in step.run.stderr, log
    if want.error:
        assert any(re.search(want.error, error) for error in step.run.errors), (want.error, step.run.errors)
        assert not [e for e in step.run.errors if "not configured correctly" in e], "a fault is not a bad input"
    if want.warning:
        warnings = [c.data for c in step.run.commands("task.logissue") if c.properties.get("type") == "warning"]
        assert any(re.search(want.warning, warning) for warning in warnings), (want.warning, warnings)
    elif want.result == "Succeeded":
        assert step.retry_warnings() == [], "nothing failed, so nothing was retried"
    if want.result == "Succeeded":
        assert step.test_results() >= PASSED, log
        assert step.run.variables["resultState"] == "SUCCESS"
        if case.id != "runs-get-output-500":
            assert step.run.variables["notebookOutput"] == EXIT_VALUE
