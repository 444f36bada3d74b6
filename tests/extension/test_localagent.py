"""The agent emulation (tools/localagent.py) behaves as the agent's sources say: the step result from task.complete
(only TaskResult's own names), issues capped per step, masking, the choice of handler, and cancelling a process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

import localagent
from localagent import (
    MASK,
    MAX_ISSUES,
    AgentSettings,
    NoHandler,
    ServiceConnection,
    TaskResult,
    cancel,
    merge_results,
    select_handler,
    step_record,
)

EXECUTION = {"Node24": {"target": "index.js"}, "Node20_1": {"target": "index.js"}, "Node16": {"target": "index.js"}}


@pytest.mark.parametrize(
    ("written", "result"),
    [("Succeeded", TaskResult.Succeeded), ("Failed", TaskResult.Failed), ("Canceled", TaskResult.Canceled)],
)
def test_task_complete_sets_the_result(written: str, result: TaskResult) -> None:
    record = step_record(f"##vso[task.complete result={written};]done\n", 0, [])

    assert record.result == result
    assert record.errors == []


@pytest.mark.parametrize("written", ["Cancelled", "canceled", "succeeded", ""])
def test_an_unknown_result_fails_the_command_and_the_step(written: str) -> None:
    """task-lib's TaskResult.Cancelled is written 'Cancelled': the agent's Enum.TryParse is case-sensitive and its
    member is Canceled, so the command fails, two errors are logged and the step fails (no result was set)."""
    line = f"##vso[task.complete result={written};]stopped"
    record = step_record(line + "\n", 0, [])

    assert record.result == TaskResult.Failed
    assert record.errors == [
        f"Unable to process command '{line}' successfully. "
        "Please reference documentation (http://go.microsoft.com/fwlink/?LinkId=817296)",
        "Command doesn't have valid result value.",
    ]


def test_a_cancelled_step_is_canceled_whatever_the_task_says() -> None:
    for stdout in ("##vso[task.complete result=Failed;]x\n", "##vso[task.complete result=Succeeded;]\n", ""):
        assert step_record(stdout, 0, [], cancelled=True).result == TaskResult.Canceled
    assert step_record("", -2, [], cancelled=True).result == TaskResult.Canceled


def test_a_non_zero_exit_fails_the_step_and_no_complete_succeeds() -> None:
    record = step_record("##vso[task.complete result=Succeeded;]\n", 1, [], command_line=["node", "index.js"])

    assert record.result == TaskResult.Failed
    assert record.errors == ["Exit code 1 returned from process: file name 'node', arguments 'index.js'."]
    assert step_record("hello\n", 0, []).result == TaskResult.Succeeded


def test_results_merge_to_the_worse_and_canceled_stays() -> None:
    assert merge_results(TaskResult.Succeeded, TaskResult.Failed) == TaskResult.Failed
    assert merge_results(TaskResult.Failed, TaskResult.Succeeded) == TaskResult.Failed
    assert merge_results(TaskResult.Canceled, TaskResult.Failed) == TaskResult.Canceled


def test_at_most_ten_errors_and_ten_warnings_are_kept_and_all_are_counted() -> None:
    stdout = "".join(
        f"##vso[task.logissue type=error]error {i}\n##vso[task.issue type=warning]warning {i}\n" for i in range(15)
    )
    record = step_record(stdout, 0, [])

    assert record.errors == [f"error {i}" for i in range(MAX_ISSUES)]
    assert record.warnings == [f"warning {i}" for i in range(MAX_ISSUES)]
    assert (record.error_count, record.warning_count) == (15, 15)
    assert sum(line.startswith("##[error]") for line in record.log) == 15


def test_an_unknown_issue_type_or_task_command_fails_the_command() -> None:
    record = step_record("##vso[task.logissue type=notice]n\n##vso[task.nosuchthing]x\n", 0, [])

    assert record.result == TaskResult.Failed
    assert record.errors[1] == "issue type notice is not an expected issue type."
    assert record.errors[3].startswith("##vso[task.nosuchthing] is not a recognized command for task command extension")


COVERAGE = "##vso[codecoverage.publish codecoveragetool=Cobertura;summaryfile=/t/c.xml]\n"
UPLOAD = "##vso[artifact.upload containerfolder=pages;artifactname=pages]/t/pages\n"


@pytest.mark.parametrize(
    ("host_type", "line", "error"),
    [
        ("release", COVERAGE, "codecoverage commands are not supported for Release flow."),
        ("deployment", COVERAGE, "codecoverage commands are not supported for Deployment flow."),
        ("deployment", UPLOAD, "artifact commands are not supported for Deployment flow."),
        ("release", UPLOAD, "Uploading server artifact is not supported in Release."),
    ],
)
def test_build_only_commands_fail_the_step_in_other_host_types(host_type: str, line: str, error: str) -> None:
    """WorkerCommandManager.TryProcessCommand refuses an area its extension does not support for the host type;
    ArtifactUploadCommand throws outside Build. Either fails the step, whatever task.complete says."""
    record = step_record(line + "##vso[task.complete result=Succeeded;]done\n", 0, [], host_type=host_type)

    assert record.result == TaskResult.Failed
    assert any(error.split(" Please")[0] in message for message in record.errors), record.errors
    assert step_record(line, 0, [], host_type="build").result == TaskResult.Succeeded


def test_secrets_and_announced_values_are_masked_in_the_log_and_issues() -> None:
    stdout = "token abc123\n##vso[task.setsecret]s3cr3t\n##vso[task.logissue type=error]bad s3cr3t and abc123\n"
    record = step_record(stdout, 0, ["abc123"])

    assert record.log[0] == f"token {MASK}"
    assert record.errors == [f"bad {MASK} and {MASK}"]


def test_every_endpoint_auth_parameter_but_the_fixed_list_is_a_secret() -> None:
    parameters = {"apitoken": "t", "clientId": "c", "clientSecret": "s", "tenantid": "tid", "scope": "sc", "role": ""}
    connection = ServiceConnection("id", "https://x/", "Token", parameters)

    assert connection.secrets == ["t", "c", "s"]


def test_the_agent_runs_node24_handler_data_on_node20_unless_the_knob_says_so() -> None:
    assert select_handler(EXECUTION, AgentSettings()) == ("Node24", "node20_1")
    assert select_handler(EXECUTION, AgentSettings(use_node24_with_handler_data=True)) == ("Node24", "node24")


def test_older_agents_pick_the_newest_handler_they_know() -> None:
    assert select_handler(EXECUTION, AgentSettings(version=(4, 264, 2))) == ("Node20_1", "node20_1")
    assert select_handler(EXECUTION, AgentSettings(version=(3, 230, 0))) == ("Node16", "node16")
    assert select_handler(EXECUTION, AgentSettings(version=(2, 206, 1))) == ("Node16", "node16")
    with pytest.raises(NoHandler):
        select_handler(EXECUTION, AgentSettings(version=(2, 181, 2)))


STUBBORN = textwrap.dedent(
    """
    import signal, sys, time
    ignored = [name for name in sys.argv[1].split(",") if name]
    for name in ignored:
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    print("ready", flush=True)
    time.sleep(30)
    """
)


def stubborn(*ignored: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", STUBBORN, ",".join(ignored)],
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        **localagent.process_options(),
    )
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    return process


@pytest.mark.skipif(os.name != "posix", reason="the agent's POSIX sequence sends POSIX signals")
@pytest.mark.parametrize(
    ("ignored", "sent"),
    [((), ["SIGINT"]), (("SIGINT",), ["SIGINT", "SIGTERM"]), (("SIGINT", "SIGTERM"), ["SIGINT", "SIGTERM", "SIGKILL"])],
)
def test_cancel_sends_sigint_then_sigterm_then_kills(ignored: tuple[str, ...], sent: list[str]) -> None:
    """The agent's sequence, with its 7.5 s and 2.5 s shortened to 3 s and 1.5 s: long enough for a process that
    heeds SIGINT to end by it on a loaded machine (0.6 s was not, beside another copy of the suite on two cores)."""
    sigint_s, sigterm_s, slack_s = 3.0, 1.5, 2.0
    process = stubborn(*ignored)
    started = time.monotonic()
    done = cancel(process, sigint_timeout=sigint_s, sigterm_timeout=sigterm_s)

    assert [name for name, _ in done.sent] == sent
    assert process.poll() is not None
    assert done.by_sigint == (sent == ["SIGINT"])
    times = dict(done.sent)
    if "SIGTERM" in times:
        assert sigint_s <= times["SIGTERM"] < sigint_s + slack_s
    if "SIGKILL" in times:
        assert sigint_s + sigterm_s <= times["SIGKILL"] < sigint_s + sigterm_s + slack_s
    assert time.monotonic() - started < sigint_s + sigterm_s + 2 * slack_s
    process.stdout.close()  # type: ignore[union-attr]


def test_cancel_on_windows_sends_ctrl_c_then_ctrl_break_then_kills_the_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Windows agent's sequence (ProcessInvoker.Windows.cs), checked on any platform with the console events and
    the tree kill recorded instead of sent: a process that outlives CTRL_C and CTRL_BREAK is killed with its tree."""
    process = stubborn()
    sent: list[tuple[str, int | None]] = []
    monkeypatch.setattr(localagent, "_send_console_ctrl", lambda p, event: sent.append(("ctrl", event)))

    def kill_tree(p: subprocess.Popen[str]) -> None:
        sent.append(("taskkill", None))
        p.kill()

    monkeypatch.setattr(localagent, "_kill_tree", kill_tree)
    done = cancel(process, sigint_timeout=0.3, sigterm_timeout=0.2, windows=True)

    assert [name for name, _ in done.sent] == ["CTRL_C", "CTRL_BREAK", "KILL_TREE"]
    assert sent == [("ctrl", 0), ("ctrl", 1), ("taskkill", None)]  # CTRL_C_EVENT, CTRL_BREAK_EVENT
    assert process.poll() is not None and not done.by_sigint
    process.stdout.close()  # type: ignore[union-attr]


@pytest.mark.skipif(os.name != "nt", reason="console control events exist on Windows only")
def test_ctrl_c_reaches_a_task_on_its_own_console() -> None:
    """What the Windows agent really sends: CTRL_C to the console the task runs on ends a Python that waits."""
    process = stubborn()
    done = cancel(process, sigint_timeout=5, sigterm_timeout=1)
    assert [name for name, _ in done.sent] == ["CTRL_C"] and done.by_sigint
    process.stdout.close()  # type: ignore[union-attr]
