"""What a `test` step must end with under injected faults, for test_faults.py (one fault per step) and bench/soak.py
(random faults, judged from the calls that met them).

The SDK retries 429, 503 and lost connections, so those end in success with a retry warning. A 500 is not retried
(the SDK's policy: the server may have acted, or the request may be at fault). Before the run it fails the step
naming the call; after it, the run is cancelled (runs/get) or its results are unreadable (results list and export):
the step fails, its results are what it is for. A task's exit value only feeds output variables: a warning. Clean-up
calls are tried again until the folder is gone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from faulty_steps import ENDPOINTS, EXIT_VALUE, PASSED, Call, StepResult


@dataclass(frozen=True)
class Expected:
    """The task's result, how many runs its build made, regular expressions that one error and one warning of the
    task must match (empty: no requirement), and whether the notebook's exit value is among the outputs."""

    result: str
    runs: int
    error: str = ""
    warning: str = ""
    exit_value: bool = True


def api_call(endpoint: str) -> str:
    """How an error names the call to `endpoint`: its method and path (ids as digits)."""
    method, path = ENDPOINTS[endpoint].split(" ", 1)
    return re.escape(f"{method} {path}").replace(r"\*", r"\d+") + r"\b"


SUCCEEDED = Expected("Succeeded", 1)
CLEANUP_RETRIED = r"Clean-up: delete the temporary Git folder \S+ failed \(.*Internal error.*\); trying again"
# A 500 on a call made before the run was submitted (get-status: looking up a folder whose create lost its answer).
SERVER_ERROR_BEFORE_SUBMIT: dict[str, Expected] = {
    "discovery": SUCCEEDED,  # only a probe: signing in goes on without it
    "mkdirs": Expected("Failed", 0, error=api_call("mkdirs")),
    "repos-create": Expected("Failed", 0, error=r"Creating the Git folder \S+ from \S+ failed: Internal error"),
    "repos-update": Expected("Failed", 0, error=r"Cannot check out branch 'main' in \S+: Internal error"),
    "repos-get": Expected("Failed", 0, error=api_call("repos-get")),
    "workspace-list": Expected("Failed", 0, error=api_call("workspace-list")),
    "workspace-get-status": Expected("Failed", 0, error=api_call("workspace-get-status")),
    "runs-submit": Expected("Failed", 0, error=r"Submitting the run failed: Internal error"),
}
# After it (get-status, repos-get and repos-delete: deleting the folder).
SERVER_ERROR_AFTER_SUBMIT: dict[str, Expected] = {
    "runs-get": Expected("Failed", 1, error=api_call("runs-get")),
    "runs-get-output": Expected(
        "Succeeded",
        1,
        warning=r"Could not read the output of task tests_test_checks \(.*Internal error",
        exit_value=False,
    ),
    "workspace-list": Expected("Failed", 1, error=r"Could not list \S+: Internal error"),
    "workspace-export": Expected("Failed", 1, error=r"Could not read \S+/checks\.xml: Internal error"),
    "workspace-get-status": Expected("Succeeded", 1, warning=CLEANUP_RETRIED),
    "repos-get": Expected("Succeeded", 1, warning=CLEANUP_RETRIED),
    "repos-delete": Expected("Succeeded", 1, warning=CLEANUP_RETRIED),
}


def server_error(endpoint: str, submitted: bool) -> Expected:
    """What a step must end with when a call to `endpoint` answers 500, before or after the run was submitted (a
    clean-up call ends the same whenever it comes)."""
    before, after = SERVER_ERROR_BEFORE_SUBMIT, SERVER_ERROR_AFTER_SUBMIT
    first, other = (after, before) if submitted else (before, after)
    return first.get(endpoint) or other[endpoint]


def expected_after(calls: Iterable[Call]) -> Expected:
    """What a step whose calls (in order) met these faults must end with: failed at the first 500 on a call it
    cannot do without, else succeeded (with the warnings of the 500s it could do without)."""
    submitted = False
    warnings: list[Expected] = []
    for call in calls:
        if call.kind == "500" and call.endpoint is not None:
            expected = server_error(call.endpoint, submitted)
            if expected.result == "Failed":
                return expected
            warnings.append(expected)
        submitted = submitted or call.endpoint == "runs-submit"
    exit_value = all(expected.exit_value for expected in warnings)
    return Expected("Succeeded", 1, warning=next((e.warning for e in warnings if e.warning), ""), exit_value=exit_value)


def problems(step: StepResult, expected: Expected) -> list[str]:
    """How the step's outcome differs from `expected` (empty: as expected); leftovers and runs are checked apart."""
    run, found = step.run, []
    results = run.commands("task.complete")
    result = results[0].properties["result"] if results else "(none)"
    if result != expected.result:
        found.append(f"result {result}, expected {expected.result}")
    if "Traceback" in run.stderr:
        found.append("a traceback on stderr")
    if expected.error and not any(re.search(expected.error, error) for error in run.errors):
        found.append(f"no error matches {expected.error!r}: {run.errors}")
    if [error for error in run.errors if "not configured correctly" in error]:
        found.append("a fault reported as a bad input")
    warnings = [c.data for c in run.commands("task.logissue") if c.properties.get("type") == "warning"]
    if expected.warning and not any(re.search(expected.warning, warning) for warning in warnings):
        found.append(f"no warning matches {expected.warning!r}: {warnings}")
    if result == "Succeeded" == expected.result:
        if not step.test_results() >= PASSED:
            found.append(f"test results {sorted(step.test_results())}, expected {sorted(PASSED)}")
        if run.variables.get("resultState") != "SUCCESS":
            found.append(f"resultState {run.variables.get('resultState')!r}")
        if expected.exit_value and run.variables.get("notebookOutput") != EXIT_VALUE:
            found.append(f"notebookOutput {run.variables.get('notebookOutput')!r}, expected {EXIT_VALUE!r}")
    return found
