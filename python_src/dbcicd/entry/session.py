"""One invocation, whichever way it came in: options, sign-in, the command, the report — and what each way out means.

The CLI and the pipeline task differ only in how they build the request, how errors are worded (flags or inputs)
and where output goes; both hand an `Entry` to `run_session`, so the sequence cannot drift apart. Everything that
can be checked without the network (every input, the connection settings, the REST publishing settings) is checked
before the first call, so a configuration error starts nothing and exits 2. An exception nobody expected is a bug:
it exits with its own code, EXIT_INTERNAL, with a short redacted trace, and is never reported as a failed run.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from ..azdo.logging_commands import CommandWriter
from ..azdo.rest import RestSettings
from ..connect import network
from ..connect.auth import Connection, connect, resolve_connection
from ..connect.workload_identity import DEFAULT_ENTRA_AUTHORITY
from ..errors import EXIT_INTERNAL, EXIT_OK, Cancelled, ConfigurationError, DbcicdError, every_problem
from ..options.names import Names
from ..options.parse import Options, parse_options
from ..options.request import TaskRequest
from ..output import Output, retries_reported
from ..results.report import Report, ReportSettings, publish
from ..secrets import redact, register_secret
from ..steps.commands import Outcome, evidence_of, execute
from ..steps.teardown import CLEANUP_BUDGET_S, Interrupts
from .debuglog import agent_debug_line, debug_requested, sdk_debug_log, stderr_debug_line

# Endpoint parameters that are not secrets (shown in logs to help diagnose a connection).
PUBLIC_ENDPOINT_PARAMETERS = frozenset({"serviceprincipalid", "tenantid", "clientid", "scope", "scopelevel"})
TRACE_FRAMES = 8


@dataclass(frozen=True)
class Entry:
    """How this invocation came in: how errors name inputs, where output and files go."""

    names: Names
    output: Output
    writer: CommandWriter | None  # ##vso logging commands to the agent; None for a plain terminal
    stdout: TextIO
    environ: Mapping[str, str]
    report_directory: Path  # JUnit, the summary
    debug: bool = False  # the CLI's --debug: the debug log System.Debug=true gives a pipeline


@dataclass(frozen=True)
class Ending:
    """How the invocation ended: its exit code, the closing message, the output variables, a trace for a bug."""

    exit_code: int
    message: str
    reported: bool = False  # the command ran to its end and its results were published
    variables: Mapping[str, str] = field(default_factory=dict)
    trace: str = ""


def register_request_secrets(request: TaskRequest) -> None:
    """Register every credential in the request before anything is printed."""
    register_secret(request.variables.get("System.AccessToken"))
    password = request.network.get("proxyPassword")
    register_secret(password if isinstance(password, str) else None)
    for endpoint in request.endpoints.values():
        parameters: Mapping[str, Any] = endpoint.get("parameters") or {}
        for name, value in parameters.items():
            if name.lower() not in PUBLIC_ENDPOINT_PARAMETERS and isinstance(value, str):
                register_secret(value)


def run_session(request: TaskRequest, entry: Entry) -> Ending:
    """Run one invocation end to end; never raises but for KeyboardInterrupt outside the command."""
    register_request_secrets(request)
    try:
        with ExitStack() as debug:
            if entry.debug or debug_requested(request.variables):
                sink = agent_debug_line(entry.writer) if entry.writer is not None else stderr_debug_line
                debug.enter_context(sdk_debug_log(sink))
            return _run(request, entry)
    except DbcicdError as err:
        return Ending(err.exit_code, redact(err.message), variables=_published_variables(err))
    except Exception as err:  # a bug of ours: say so, with where it happened
        variables = _published_variables(err)
        return Ending(EXIT_INTERNAL, internal_error_message(err), trace=internal_trace(err), variables=variables)
    finally:
        entry.output.close()


def _run(request: TaskRequest, entry: Entry) -> Ending:
    options, rest, connection = _checked(request, entry)
    # The agent's proxy and CA certificate, for every call from here on (connect/network.py)
    proxy_and_ca = network.NetworkSettings.from_document(request.network)
    temp = request.variables.get("Agent.TempDirectory", "")
    network.apply(proxy_and_ca, _called_urls(request, connection, entry), temp)
    settings = ReportSettings.from_options(options, entry.report_directory, only_this_run=entry.writer is None)
    with Interrupts(on_repeat=lambda name: _acknowledge(entry.output, name)):
        try:
            with retries_reported(entry.output):  # signing in probes the host: its retries show as well
                client = connect(
                    connection, options.retry_timeout_seconds, options.names.mention("retryTimeoutSeconds")
                )
        except Cancelled:
            raise Cancelled("Cancelled while signing in: nothing was started in the workspace") from None
        try:
            outcome = execute(options, request.inputs, client, entry.output)
        except Exception as err:
            _publish_evidence(evidence_of(err), settings, entry)
            raise
    entry.output.close()  # the live table, if any, ends before the report is printed
    reports = _publish_all(outcome, settings, entry, rest)
    success = all(report.success for report in reports)
    message = "; ".join(report.message for report in reports)
    variables = {name: value for report in reports for name, value in report.variables.items()}
    return Ending(EXIT_OK if success else outcome.failure_exit, message, True, variables)


def _checked(request: TaskRequest, entry: Entry) -> tuple[Options, RestSettings | None, Connection]:
    """The options, the REST publishing settings and the connection, or one error naming every mistake in any of
    them (`every_problem`)."""
    problems: list[str] = []
    options: Options | None = None
    rest: RestSettings | None = None
    connection: Connection | None = None
    try:
        options = parse_options(request, entry.names)
        rest = RestSettings.from_options(options, request.variables, entry.environ, warn=entry.output.warning)
    except ConfigurationError as err:
        problems += err.problems
    try:
        connection = resolve_connection(request.inputs, request.endpoints, request.variables, entry.environ)
    except ConfigurationError as err:
        problems += err.problems
    if problems or options is None or connection is None:
        raise every_problem(problems)
    return options, rest, connection


def _publish_evidence(evidence: Outcome | None, settings: ReportSettings, entry: Entry) -> None:
    """What a run left when the step could not finish it (cancelled, failed, a bug) — its tasks' states as test
    cases, the summary, the output variables, the pages, the files its notebooks wrote — published before the error
    ends the step. Files and logging commands only: a cancelled step has seconds left, and the REST API could take
    them all. Publishing that fails is a warning: the error that ended the step is what the step reports."""
    if evidence is None:
        return
    entry.output.close()
    try:
        for report in _publish_all(evidence, settings, entry):
            evidence.outputs.update(report.variables)  # for the closing lines of the CLI (`_published_variables`)
    except Exception as err:  # never hide the error that ended the step
        entry.output.warning(f"Could not publish what the run left: {type(err).__name__}: {err}")


def _publish_all(
    outcome: Outcome, settings: ReportSettings, entry: Entry, rest: RestSettings | None = None
) -> list[Report]:
    """Publish the outcome and the other runs it carries (several bundle jobs), each on its own; a folder that
    holds one invocation's files (`only_this_run`) is emptied before the first only."""
    later = replace(settings, only_this_run=False)
    return [
        publish(each, settings if n == 0 else later, entry.writer, entry.stdout, rest)
        for n, each in enumerate(outcome.published())
    ]


def _published_variables(err: BaseException) -> dict[str, str]:
    """The output variables published with what the run an error stopped left (none if nothing was)."""
    evidence = evidence_of(err)
    return dict(evidence.outputs) if evidence is not None else {}


def _called_urls(request: TaskRequest, connection: Connection, entry: Entry) -> list[str]:
    """The URLs of the hosts the step may call, for the proxy bypass list: the workspace, every connection's URL
    and authority, Azure DevOps (ID tokens, the REST API)."""
    urls = [
        str(connection.settings.get("host") or ""),
        entry.environ.get("DATABRICKS_HOST", ""),
        DEFAULT_ENTRA_AUTHORITY,
    ]
    for endpoint in request.endpoints.values():
        urls.append(str(endpoint.get("url") or ""))
        urls.extend(str(value) for value in (endpoint.get("data") or {}).values())
    names = ("System.OidcRequestUri", "System.CollectionUri", "System.TeamFoundationCollectionUri")
    urls.extend(request.variables.get(name, "") for name in names)
    return urls


def _acknowledge(output: Output, signal_name: str) -> None:
    """A signal after the first (Ctrl+C again): say that clean-up goes on, and for how long at most. Called in the
    signal handler: should the main thread be writing to the same stream just then, the line is dropped rather than
    the clean-up broken by a reentrant write."""
    with suppress(RuntimeError):
        output.warning(
            f"{signal_name} again: still cleaning up (at most {CLEANUP_BUDGET_S:g} s), so that nothing is left "
            "behind in the workspace"
        )


def internal_error_message(err: BaseException) -> str:
    return redact(
        f"Internal error in dbcicd — a bug, not a problem with your pipeline or workspace: {type(err).__name__}: "
        f"{err}. Please report it with the trace below. Anything this step started was cleaned up as on a failure."
    )


def internal_trace(err: BaseException) -> str:
    """The last frames of the trace, secrets masked: enough to find the bug, short enough for a log."""
    frames = traceback.format_exception(type(err), err, err.__traceback__, limit=-TRACE_FRAMES)
    return redact("".join(frames).rstrip())
