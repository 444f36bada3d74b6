"""JUnit files read with junitparser and mapped as Azure DevOps maps them: the tests' view of a published result.

`testcase@name` -> title, `@classname` -> test file, `@time` -> duration; a `failure` or `error` child -> Failed with
its `message` as error message and its text as stack trace; `skipped` -> NotExecuted; otherwise Passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, Skipped, TestSuite


@dataclass(frozen=True)
class AzureResult:
    suite: str
    title: str
    test_file: str
    seconds: float
    outcome: str  # Passed | Failed | NotExecuted
    error_message: str
    stack_trace: str
    system_out: str


def read(path: Path) -> list[AzureResult]:
    """Every test case of the file, in order."""
    xml = JUnitXml.fromfile(str(path))
    suites = [xml] if isinstance(xml, TestSuite) else list(xml)
    results = []
    for suite in suites:
        for case in suite:
            problems = [r for r in case.result if isinstance(r, (Failure, Error))]
            skipped = [r for r in case.result if isinstance(r, Skipped)]
            outcome = "Failed" if problems else "NotExecuted" if skipped else "Passed"
            detail = (problems or skipped or [None])[0]
            results.append(
                AzureResult(
                    suite=suite.name or "",
                    title=case.name,
                    test_file=case.classname or "",
                    seconds=case.time,
                    outcome=outcome,
                    error_message=(detail.message or "") if detail is not None else "",
                    stack_trace=(detail.text or "") if detail is not None else "",
                    system_out=case.system_out or "",
                )
            )
    return results


def by_title(path: Path) -> dict[str, AzureResult]:
    return {result.title: result for result in read(path)}
