"""The JUnit writer: what Azure DevOps reads from it (via junitparser), and files it can always read."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

import pytest

from dbcicd.results.junit import (
    FAILED,
    MAX_MESSAGE_CHARS,
    MAX_TEXT_CHARS,
    PASSED,
    SKIPPED,
    Case,
    JUnitFormatError,
    Suite,
    Tally,
    parse_document,
    prefix_suites,
    suites_element,
    tally,
    write_document,
)
from dbcicd.secrets import register_secret
from dbcicd.untrusted import CUT_MARKER, bounded
from junit_reader import by_title, read


def write(tmp_path: Path, *cases: Case) -> Path:
    suite = Suite("dbcicd demo [abc]", list(cases), timestamp=datetime(2025, 5, 1, 12, 0, 1, tzinfo=timezone.utc))
    return write_document(suites_element([suite]), tmp_path / "out.xml")


def test_cases_map_to_azure_devops_results(tmp_path: Path) -> None:
    """Name, classname, time, outcome, message, trace and system-out land where Azure DevOps reads them."""
    path = write(
        tmp_path,
        Case("ok", "tests/test_ok", 1.25, PASSED, system_out="Exit value: 42"),
        Case("bad", "tests/test_bad", 0.5, FAILED, "ValueError: no", "Traceback ...\nValueError: no\n"),
        Case("later", "tests/test_later", 0.0, SKIPPED, "UPSTREAM_FAILED: a task it depends on failed"),
    )
    results = by_title(path)
    assert results["ok"].test_file == "tests/test_ok" and results["ok"].seconds == 1.25
    assert results["ok"].outcome == "Passed" and results["ok"].system_out == "Exit value: 42"
    assert results["bad"].outcome == "Failed" and results["bad"].error_message == "ValueError: no"
    assert results["bad"].stack_trace == "Traceback ...\nValueError: no\n"
    assert results["later"].outcome == "NotExecuted"
    assert results["later"].error_message == "UPSTREAM_FAILED: a task it depends on failed"
    assert {r.suite for r in read(path)} == {"dbcicd demo [abc]"}


def test_suite_counts_and_timestamp(tmp_path: Path) -> None:
    """Suites and the root carry tests/failures/skipped/time counts and an ISO timestamp without a zone."""
    path = write(tmp_path, Case("a", "c", 1.0), Case("b", "c", 2.0, FAILED, "m"), Case("s", "c", 0, SKIPPED, "r"))
    root = ET.parse(path).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped"), suite.get("time")) == (
        "3",
        "1",
        "1",
        "3.000",
    )
    assert suite.get("timestamp") == "2025-05-01T12:00:01"
    assert root.get("tests") == "3" and root.get("failures") == "1"
    assert tally(root) == Tally(passed=1, failed=1, skipped=1)


def test_utf8_kept_and_illegal_characters_removed(tmp_path: Path) -> None:
    """Non-ASCII text survives; control characters and lone surrogates that would break the file are dropped."""
    path = write(tmp_path, Case("naïve ✓", "tests/ünï", 0, FAILED, "bad\x00 byte\x1b[31m", "trace \ud800end\x0c"))
    assert path.read_bytes().startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    result = by_title(path)["naïve ✓"]
    assert result.test_file == "tests/ünï"
    assert result.error_message == "bad byte"
    assert result.stack_trace == "trace end"


def test_terminal_colours_of_a_notebook_traceback_are_removed(tmp_path: Path) -> None:
    """IPython colours the traces Databricks returns as error_trace: the colour codes go, whole, the text stays."""
    trace = (
        "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m\n"
        "\x1b[0;31mValueError\x1b[0m                                Traceback (most recent call last)\n"
        "File \x1b[0;32m<command-1>:3\x1b[0m\n"
        "\x1b[1;32m----> 3\x1b[0m \x1b[38;5;28;01mraise\x1b[39;00m ValueError(\x1b[38;5;124m'boom'\x1b[39m)\n"
    )
    path = write(tmp_path, Case("t", "c", 0, FAILED, "\x1b[0;31mValueError\x1b[0m: boom", trace))
    result = by_title(path)["t"]
    assert result.error_message == "ValueError: boom"
    assert "[0;" not in result.stack_trace and "[38;5" not in result.stack_trace
    assert "----> 3 raise ValueError('boom')" in result.stack_trace


def test_long_texts_are_cut_with_a_marker_keeping_the_end(tmp_path: Path) -> None:
    """Traces and outputs beyond the limit keep their head and (longer) tail, with a marker between."""
    trace = "first line\n" + "x" * (3 * MAX_TEXT_CHARS) + "\nValueError: the end"
    path = write(tmp_path, Case("t", "c", 0, FAILED, "m" * (MAX_MESSAGE_CHARS * 2), trace, system_out="o" * 10**6))
    result = by_title(path)["t"]
    assert len(result.stack_trace) == MAX_TEXT_CHARS
    assert result.stack_trace.startswith("first line") and result.stack_trace.endswith("ValueError: the end")
    assert "characters cut" in result.stack_trace
    assert len(result.error_message) == MAX_MESSAGE_CHARS
    assert len(result.system_out) == MAX_TEXT_CHARS


def test_bounded_leaves_short_text_alone() -> None:
    """Text within the limit is unchanged; the marker says how much was cut."""
    assert bounded("short", 10) == "short"
    cut = bounded("a" * 200, 100)
    assert len(cut) == 100 and CUT_MARKER.format(count=100) in cut


def test_parse_document_accepts_both_roots_and_names_problems() -> None:
    """`testsuites` and a bare `testsuite` are JUnit; other roots and broken XML raise with the reason."""
    assert parse_document(b"<testsuites><testsuite name='x'/></testsuites>").tag == "testsuites"
    assert parse_document(b"<testsuite name='x'/>").tag == "testsuite"
    with pytest.raises(JUnitFormatError, match="not well-formed XML: unclosed token"):
        parse_document(b"<testsuite><testcase")
    with pytest.raises(JUnitFormatError, match=r"root element is <html>"):
        parse_document(b"<html/>")


def test_prefix_suites_renames_the_outermost_suites() -> None:
    """Suites get `<task>.<name>` (or `<task>` when unnamed), whichever root the file has."""
    root = parse_document(b"<testsuites><testsuite name='pytest'/><testsuite/></testsuites>")
    prefix_suites(root, "tests_unit")
    assert [s.get("name") for s in root.findall("testsuite")] == ["tests_unit.pytest", "tests_unit"]
    single = parse_document(b"<testsuite name='suite'><testcase name='a'/></testsuite>")
    prefix_suites(single, "k")
    assert single.get("name") == "k.suite"


def test_rewritten_documents_are_sanitized(tmp_path: Path) -> None:
    """A notebook's file passes through the same writer: characters XML forbids are dropped from any element."""
    root = parse_document(
        b"<testsuite name='s'><testcase name='a' classname='c'><system-out>ok</system-out></testcase></testsuite>"
    )
    case = root.find("testcase")
    assert case is not None
    case.set("name", "a\x07b")
    out = write_document(root, tmp_path / "n.xml")
    assert by_title(out)["ab"].system_out == "ok"


def test_registered_secrets_are_masked_in_files(tmp_path: Path) -> None:
    """A token a notebook printed in its error never reaches a result file."""
    token = register_secret(f"dapi{uuid.uuid4().hex}")
    path = write(
        tmp_path, Case("t", "c", 0, FAILED, f"401 for token {token}", f"trace {token}", system_out=token or "")
    )
    assert token not in path.read_text()
    result = by_title(path)["t"]
    assert (result.error_message, result.stack_trace, result.system_out) == ("401 for token ***", "trace ***", "***")
