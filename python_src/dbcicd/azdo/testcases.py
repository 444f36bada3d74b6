"""A JUnit test case as Azure DevOps reads it: its outcome, and how much of its texts the test service keeps.

Azure DevOps maps a `failure` (or `error`) child to Failed and `skipped` to Not executed. results/junit.py writes
and reads JUnit by these rules and rest.py publishes test cases by them: results/ depends on azdo/, never the
reverse.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"

# Azure DevOps shows about 4,000 characters of an error message; a message is one line here, so less suffices.
MAX_MESSAGE_CHARS = 1_000
# Test titles and "test file" names beyond a few hundred characters are refused or cut by the test service.
MAX_NAME_CHARS = 256
# Traces and outputs: the head and tail of anything longer are kept.
MAX_TEXT_CHARS = 64_000


def outcome_of(case: ET.Element) -> str:
    """A `testcase` element's outcome as Azure DevOps decides it."""
    if case.find("failure") is not None or case.find("error") is not None:
        return FAILED
    return SKIPPED if case.find("skipped") is not None else PASSED
