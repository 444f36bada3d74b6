"""Every endpoint a `test` step calls, under every fault the local workspace injects, through the packaged task as
the agent runs it.

Each fault fires once (a persistent one is its own case): 429 with Retry-After, 503, 500, the connection dropped
before the server acted and after it acted (the change made, the answer lost), and a latency spike. What the step
must end with is expectations.py's: retried to success with a warning, or, for a 500 on a call the step cannot do
without, failed with an error naming the call. Repeating a POST is safe: runs/submit carries an idempotency token,
and a Git folder made by a request whose answer was lost is recognised at the step's own unique path. Every case
ends with exactly the runs it should have made, none of them active, and no Git folder.

The cases run three at a time, each on a local workspace of its own, started when the first test needs them; each
test waits for its own case's step (task_runs.StepsInBackground).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from expectations import SUCCEEDED, Expected, api_call, problems, server_error
from faulty_steps import (
    ENDPOINTS,
    FAULT_KINDS,
    REPOSITORY,
    RETRY_REASONS,
    RETRY_WARNING,
    StepResult,
    WorkspacePool,
    rule,
    run_step,
)
from task_runs import STEP_TEST_TIMEOUT_S, Agents, StepsInBackground, selected

from dbcicd_localworkspace import FaultRule
from git_remote import GitRemote
from headless_browser import ARTIFACTS
from task_harness import PackagedTask

WORKERS = 3
RETRY_BUDGET_S = 3  # retryTimeoutSeconds of the case whose fault never ends


def retried(kind: str) -> Expected:
    return Expected("Succeeded", 1, warning=re.escape(RETRY_WARNING + RETRY_REASONS[kind]))


def expected(endpoint: str, kind: str) -> Expected:
    if kind == "500":  # ENDPOINTS are in the order a step first calls them
        return server_error(endpoint, submitted=list(ENDPOINTS).index(endpoint) > list(ENDPOINTS).index("runs-submit"))
    if kind == "latency":
        return SUCCEEDED
    return retried(kind)


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
# Clean-up that takes longer than a cancelled step's budget: a step that ends by itself waits for it.
SLOW_CLEANUP = Case("repos-delete-503-slow", lambda: [rule("repos-delete", "503", times=4)], retried("503"))
CASES += [PERSISTENT, SLOW_CLEANUP]


@pytest.fixture(scope="module")
def results(
    packaged_task: PackagedTask,
    node: str,
    tools_directory: Path,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[StepsInBackground[Case, StepResult]]:
    """The step of every selected case, WORKERS at a time, in the background."""
    remote = GitRemote(tmp_path_factory.mktemp("git"))
    build = (remote.url, remote.commit(REPOSITORY, "build"))
    agents = Agents(packaged_task, node, tools_directory, tmp_path_factory.mktemp("faults"))
    cases = {case.id: case for case in CASES}
    with WorkspacePool(WORKERS) as pool:

        def run(case: Case) -> StepResult:
            return run_step(agents, pool, build, case.id, case.rules(), case.inputs)

        steps = StepsInBackground({key: cases[key] for key in selected(request, cases)}, run, WORKERS)
        try:
            yield steps
        finally:
            steps.close()
            steps.save_seconds(ARTIFACTS / "fault-step-seconds.json")


@pytest.mark.timeout(STEP_TEST_TIMEOUT_S)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_fault(case: Case, results: StepsInBackground[Case, StepResult]) -> None:
    """The step under this fault: the expected result, runs, error or warning; nothing left behind."""
    step, want = results.result(case.id), case.expected
    log = step.log

    assert step.fired[0] >= 1, f"the fault never fired: the step did not call {case.id}\n{log}"
    assert problems(step, want) == [], log
    assert len(step.left.runs) == want.runs, f"runs of the build: {[r.run_id for r in step.left.runs]}\n{log}"
    step.left.assert_none(log)
    if want.result == "Succeeded" and not want.warning:
        assert step.retry_warnings() == [], "nothing failed, so nothing was retried"
