"""`python -m dbcicd task`: the pipeline task's Python side.

The Node entry point writes ONE JSON document to stdin (inputs, service connections, pipeline variables — the only
channel secrets travel by) and maps the exit code to the task result: 0 succeeded, 1 the run or its tests failed,
2 configuration error, 130 cancelled.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from contextlib import ExitStack
from typing import Any, TextIO

from ..errors import EXIT_FAILED, EXIT_OK, DbcicdError
from ..options.request import TaskRequest
from ..secrets import register_secret

# Endpoint parameters that are not secrets (shown in logs to help diagnose a connection).
PUBLIC_ENDPOINT_PARAMETERS = frozenset({"serviceprincipalid", "tenantid", "clientid", "scope", "scopelevel"})


def register_request_secrets(request: TaskRequest) -> None:
    """Register every credential in the document before anything is printed."""
    register_secret(request.variables.get("System.AccessToken"))
    for endpoint in request.endpoints.values():
        parameters: Mapping[str, Any] = endpoint.get("parameters") or {}
        for name, value in parameters.items():
            if name.lower() not in PUBLIC_ENDPOINT_PARAMETERS and isinstance(value, str):
                register_secret(value)


def main(stdin: TextIO, stdout: TextIO, environ: Mapping[str, str] | None = None) -> int:
    """Run one task invocation; returns the exit code."""
    from ..azdo.logging_commands import AzureDevOpsOutput, CommandWriter
    from ..azdo.rest import RestSettings
    from ..connect.auth import workspace_client
    from ..output import retries_reported
    from ..results.report import ReportSettings, publish, task_report_directory
    from ..steps.commands import execute
    from ..steps.teardown import Interrupts
    from .debuglog import debug_requested, sdk_debug_log

    environ = os.environ if environ is None else environ
    writer = CommandWriter(stdout)
    output = AzureDevOpsOutput(writer)
    with ExitStack() as debug:
        try:
            request = TaskRequest.from_json(stdin.read())
            register_request_secrets(request)
            debug.enter_context(sdk_debug_log(writer, debug_requested(request.variables)))
            rest = RestSettings.from_request(request, environ)
            with Interrupts():
                with retries_reported(output):  # signing in probes the host: its retries show as well
                    client = workspace_client(request.inputs, request.endpoints, request.variables, environ)
                outcome = execute(request, client, output)
        except DbcicdError as err:
            writer.command("task.logissue", {"type": "error"}, err.message)
            return err.exit_code
        finally:
            output.close()
        settings = ReportSettings.from_request(request, task_report_directory(request, environ))
        report = publish(outcome, settings, writer, stdout, rest)
        output.info(("OK: " if report.success else "FAILED: ") + report.message)
        return EXIT_OK if report.success else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main(sys.stdin, sys.stdout))
