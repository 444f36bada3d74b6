"""JUnit XML as Azure DevOps reads it: the test cases dbcicd reports, and the one writer of every result file.

Azure DevOps maps `testcase@name` to the test title, `@classname` to its "test file", `@time` (seconds) to its
duration; a `failure` (or `error`) child makes it Failed, its `message` attribute the error message and its text the
stack trace; `skipped` makes it Not executed; `system-out` is kept for failed cases.

Every text and attribute of a document passes the trust boundary (dbcicd.untrusted) before it is read or written:
the documents dbcicd builds (`suites_element`) and the ones notebooks wrote (`sanitize_document`, right after they
are read, and again by `write_document`). So secrets are masked (the agent masks its log, not files), logging
commands and attachment markers are inert, characters XML 1.0 forbids (one of them makes the whole file
unreadable) are removed, and long texts are cut in the middle with a marker, since the Tests tab shows only the
first few thousand characters of a message and a multi-megabyte trace helps nobody.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..azdo.testcases import (
    FAILED,
    MAX_MESSAGE_CHARS,
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
    PASSED,
    SKIPPED,
    outcome_of,
)
from ..untrusted import untrusted_text

_TEXT_LIMITS = {"failure": MAX_TEXT_CHARS, "error": MAX_TEXT_CHARS, "skipped": MAX_MESSAGE_CHARS}
_TEXT_LIMITS.update({"system-out": MAX_TEXT_CHARS, "system-err": MAX_TEXT_CHARS})
_ATTRIBUTE_LIMITS = {"name": MAX_NAME_CHARS, "classname": MAX_NAME_CHARS, "message": MAX_MESSAGE_CHARS}


@dataclass(frozen=True)
class Tally:
    """How many test cases of a document passed, failed (`failure` or `error`) and were skipped."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.passed + other.passed, self.failed + other.failed, self.skipped + other.skipped)

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped


class JUnitFormatError(ValueError):
    """A file is not JUnit XML: not well-formed, or its root is neither `testsuites` nor `testsuite`."""


@dataclass
class Case:
    """One test case; `message` and `text` describe a failure or the reason for a skip."""

    name: str
    classname: str
    time: float = 0.0
    outcome: str = PASSED
    message: str = ""
    text: str = ""
    system_out: str = ""


@dataclass
class Suite:
    name: str
    cases: list[Case] = field(default_factory=list)
    timestamp: datetime | None = None
    hostname: str = ""

    def count(self, outcome: str) -> int:
        return sum(case.outcome == outcome for case in self.cases)


def suites_element(suites: list[Suite]) -> ET.Element:
    """The `testsuites` document of `suites`, with the counts Azure DevOps and other readers expect; its texts have
    passed the trust boundary."""
    root = ET.Element("testsuites")
    for suite in suites:
        element = ET.SubElement(root, "testsuite", _suite_attributes(suite))
        for case in suite.cases:
            element.append(_case_element(case))
    _set_totals(root, suites)
    sanitize_document(root)
    return root


def write_document(root: ET.Element, path: Path) -> Path:
    """Write `root` as UTF-8 XML at `path` after passing every text and attribute through the trust boundary;
    returns the path."""
    sanitize_document(root)
    # Written to a temporary name first and renamed, so a reader never sees half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    ET.ElementTree(root).write(partial, encoding="utf-8", xml_declaration=True)
    os.replace(partial, path)
    return path


def sanitize_document(root: ET.Element) -> None:
    """Pass every text and attribute of a document through the trust boundary, each within its limit."""
    for element in root.iter():
        for key, value in element.attrib.items():
            element.set(key, untrusted_text(value, _ATTRIBUTE_LIMITS.get(key, MAX_TEXT_CHARS)))
        limit = _TEXT_LIMITS.get(str(element.tag), MAX_TEXT_CHARS)
        if element.text:
            element.text = untrusted_text(element.text, limit)
        if element.tail:
            element.tail = untrusted_text(element.tail)


def parse_document(content: bytes) -> ET.Element:
    """The root of a JUnit XML file; JUnitFormatError says what is wrong with one that is not.

    The content comes from notebooks; expat neither fetches external entities nor expands entities without bound.
    """
    try:
        root = ET.fromstring(content)
    except ET.ParseError as err:
        raise JUnitFormatError(f"not well-formed XML: {err}") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise JUnitFormatError(f"the root element is <{root.tag}>, expected <testsuites> or <testsuite>")
    return root


def prefix_suites(root: ET.Element, prefix: str) -> None:
    """Name every outermost test suite `<prefix>.<its name>` (`<prefix>` alone when it has no name)."""
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    for suite in suites:
        name = suite.get("name", "")
        suite.set("name", f"{prefix}.{name}" if name else prefix)


def tally(root: ET.Element) -> Tally:
    outcomes = [outcome_of(case) for case in root.iter("testcase")]
    return Tally(outcomes.count(PASSED), outcomes.count(FAILED), outcomes.count(SKIPPED))


def failed_cases(root: ET.Element) -> list[ET.Element]:
    return [case for case in root.iter("testcase") if outcome_of(case) == FAILED]


def case_title(case: ET.Element) -> str:
    """`classname.name` of a test case, as pytest names it (`tests.test_math.test_sub`)."""
    return ".".join(filter(None, (case.get("classname"), case.get("name"))))


def failure_message(case: ET.Element) -> str:
    """The first line of a failed case's message (pytest's assertion, e.g. `AssertionError: assert 1 == 2`), or of
    its text when it has no message; '' when it has neither."""
    problem = case.find("failure") if case.find("failure") is not None else case.find("error")
    if problem is None:
        return ""
    text = problem.get("message", "") or problem.text or ""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _suite_attributes(suite: Suite) -> dict[str, str]:
    attributes = {
        "name": suite.name,
        "tests": str(len(suite.cases)),
        "failures": str(suite.count(FAILED)),
        "errors": "0",
        "skipped": str(suite.count(SKIPPED)),
        "time": _seconds(sum(case.time for case in suite.cases)),
    }
    if suite.timestamp is not None:
        attributes["timestamp"] = suite.timestamp.replace(microsecond=0, tzinfo=None).isoformat()
    if suite.hostname:
        attributes["hostname"] = suite.hostname
    return attributes


def _case_element(case: Case) -> ET.Element:
    element = ET.Element("testcase", {"name": case.name, "classname": case.classname, "time": _seconds(case.time)})
    if case.outcome == FAILED:
        child = ET.SubElement(element, "failure", {"message": case.message, "type": "failure"} if case.message else {})
        child.text = case.text or case.message
    elif case.outcome == SKIPPED:
        ET.SubElement(element, "skipped", {"message": case.message} if case.message else {})
    if case.system_out:
        ET.SubElement(element, "system-out").text = case.system_out
    return element


def _set_totals(root: ET.Element, suites: list[Suite]) -> None:
    root.set("tests", str(sum(len(s.cases) for s in suites)))
    root.set("failures", str(sum(s.count(FAILED) for s in suites)))
    root.set("errors", "0")
    root.set("skipped", str(sum(s.count(SKIPPED) for s in suites)))
    root.set("time", _seconds(sum(case.time for s in suites for case in s.cases)))


def _seconds(value: float) -> str:
    return f"{max(0.0, value):.3f}"
