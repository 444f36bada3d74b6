"""Logging commands: exact escaping (checked against the agent's own parsing), neutralised text, secrets first."""

from __future__ import annotations

import io
import uuid

import pytest
from databricks.sdk.service import jobs
from hypothesis import example, given
from hypothesis import strategies as st

from azdo_agent import commands, parse
from dbcicd.azdo.logging_commands import (
    AzureDevOpsOutput,
    CommandWriter,
    azure_devops_active,
    escape_message,
    escape_property,
    format_command,
    neutral_lines,
)
from dbcicd.secrets import register_secret

# Any text, with the characters and escape sequences that matter to the agent's parser drawn often.
FRAGMENTS = ["%", "\r", "\n", ";", "]", "[", "=", "#", " ", "##vso[", "##[", "%AZP25", "%0A", "%0D", "%3B", "%5D"]
TRICKY = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text()), max_size=12).map("".join)


@given(value=TRICKY, message=TRICKY)
@example(value="%AZP25", message="%0D%0A")
@example(value="a=b;c]d", message="]##vso[task.setvariable variable=x]evil")
def test_any_string_decodes_back_and_never_starts_a_new_command(value: str, message: str) -> None:
    """Whatever the values, the line is one command the agent decodes back to exactly those values."""
    line = format_command("task.setvariable", {"variable": "name", "runTitle": value}, message)
    assert "\n" not in line and "\r" not in line
    assert line.startswith("##vso[task.setvariable ")
    parsed = parse(line)
    assert parsed is not None
    assert parsed.name == "task.setvariable"
    assert parsed.properties.get("variable") == "name"
    assert parsed.properties.get("runtitle", "") == value
    assert parsed.data == message


@given(text=TRICKY)
def test_neutral_text_is_never_a_command_or_log_formatting(text: str) -> None:
    """Plain text written to the log can neither run a command nor open or close a group."""
    for line in neutral_lines(text):
        assert parse(line) is None
        assert not line.startswith("##[")
        assert "\n" not in line and "\r" not in line


def test_escaping_rules_are_the_documented_ones() -> None:
    """Properties escape % CR LF ] ; and messages only % CR LF, with the agent's replacement strings."""
    assert escape_property("100%\r\n];") == "100%AZP25%0D%0A%5D%3B"
    assert escape_message("100%\r\n];") == "100%AZP25%0D%0A];"


def test_empty_properties_are_left_out_and_bad_names_refused() -> None:
    """An empty value is omitted as the agent would drop it; command and property names are validated."""
    assert format_command("task.setvariable", {"variable": "x", "isoutput": ""}, "v") == (
        "##vso[task.setvariable variable=x]v"
    )
    assert format_command("task.uploadsummary", None, "/tmp/s.md") == "##vso[task.uploadsummary]/tmp/s.md"
    with pytest.raises(ValueError, match=r"area\.action"):
        format_command("setvariable", {}, "")
    with pytest.raises(ValueError, match="plain word"):
        format_command("task.setvariable", {"var iable": "x"}, "")


def test_secrets_are_announced_before_anything_else_and_redacted() -> None:
    """A registered secret is sent with task.setsecret before the first line, and masked in everything after."""
    secret = register_secret(f"s3cret-{uuid.uuid4().hex}")
    stream = io.StringIO()
    writer = CommandWriter(stream)
    writer.text(f"token is {secret}")
    later = register_secret(f"later-{uuid.uuid4().hex}")
    writer.command("task.logissue", {"type": "error"}, f"failed with {later}")
    out = stream.getvalue().splitlines()
    announced = [parse(line).data for line in out if line.startswith("##vso[task.setsecret]")]  # type: ignore[union-attr]
    assert secret in announced and later in announced
    assert out.index(f"##vso[task.setsecret]{secret}") < out.index("token is ***")
    assert out.index(f"##vso[task.setsecret]{later}") < out.index("##vso[task.logissue type=error]failed with ***")
    assert sum(line == f"##vso[task.setsecret]{secret}" for line in out) == 1


def test_multi_line_secrets_are_announced_line_by_line() -> None:
    """The agent refuses multi-line setsecret values, so each line of such a secret goes out on its own."""
    first, second = f"line-one-{uuid.uuid4().hex}", f"line-two-{uuid.uuid4().hex}"
    register_secret(f"{first}\n{second}")
    stream = io.StringIO()
    CommandWriter(stream).text("hello")
    announced = [c.data for c in commands(stream.getvalue(), "task.setsecret")]
    assert first in announced and second in announced
    assert all("\n" not in value for value in announced)


def test_groups_frame_neutralised_lines() -> None:
    """A group is a title, its lines (output cannot end it early or run commands), and an end marker."""
    stream = io.StringIO()
    CommandWriter(stream).group("task: FAILED", ["##[endgroup]", "x ##vso[task.complete result=Failed]", "trace\n"])
    body = [line for line in stream.getvalue().splitlines() if not line.startswith("##vso[task.setsecret]")]
    assert body == [
        "##[group]task: FAILED",
        "# #[endgroup]",
        "x # #vso[task.complete result=Failed]",
        "trace",
        "##[endgroup]",
    ]


def test_output_reports_progress_and_warnings_as_commands() -> None:
    """The pipeline Output turns finished tasks into task.setprogress and warnings into warning issues."""
    stream = io.StringIO()
    output = AzureDevOpsOutput(CommandWriter(stream))
    tasks = [jobs.RunTask(task_key=k, run_id=i) for i, k in enumerate(("a", "b", "c"))]
    output.run_started(jobs.Run(run_id=7, run_page_url="https://x/run/7", tasks=tasks))
    output.task_finished(tasks[0])
    output.task_finished(tasks[0])  # reported twice, counted once
    output.task_finished(tasks[1])
    output.warning("run 7 timed out; cancelling")
    progress = [(c.properties["value"], c.data) for c in commands(stream.getvalue(), "task.setprogress")]
    assert progress == [("0", "Waiting for run 7"), ("33", "1 of 3 tasks finished"), ("33", "1 of 3 tasks finished"),
                        ("66", "2 of 3 tasks finished")]  # fmt: skip
    issue = commands(stream.getvalue(), "task.logissue")[0]
    assert issue.properties == {"type": "warning"} and issue.data == "run 7 timed out; cancelling"


@pytest.mark.parametrize(
    ("environ", "forced", "active"),
    [({"TF_BUILD": "True"}, False, True), ({"TF_BUILD": "true"}, False, True), ({}, False, False), ({}, True, True)],
)
def test_active_under_an_agent_or_when_forced(environ: dict[str, str], forced: bool, active: bool) -> None:
    """Logging commands are on when TF_BUILD=True (any case) or when forced."""
    assert azure_devops_active(environ, forced) is active


def test_issues_over_the_agents_cap_are_log_lines_neutralised_and_masked() -> None:
    """Past the step's issue budget an error becomes a `##[error]` log line: text from a run there is still
    neutralised (no logging command on any line) and its secrets masked, as in every other line the step writes."""
    secret = register_secret(f"s3cret-{uuid.uuid4().hex}")
    stream = io.StringIO()
    writer = CommandWriter(stream)
    for i in range(12):
        writer.issue("error", f"task {i} failed with {secret}\n##vso[task.setvariable variable=x]pwned\n##[group]g")
    out = stream.getvalue()
    assert secret not in out.replace(f"##vso[task.setsecret]{secret}", "")
    overflow = [line for line in out.splitlines() if line.startswith("##[error]")]
    assert overflow and all("***" in line for line in overflow)
    assert {c.name for c in commands(out)} == {"task.setsecret", "task.logissue"}
    assert not any(line.startswith("##[group]") for line in out.splitlines())
