"""`python -m dbcicd task`: the pipeline task's Python side.

The Node entry point writes ONE JSON document to stdin (inputs, service connections, pipeline variables — the only
channel secrets travel by) and maps the exit code to the task result: 0 succeeded, 1 the run or its tests failed,
2 configuration error, 3 internal error (a bug), 4 a bundle command of the Databricks CLI failed, 130 cancelled (the
closing line Node gives the step names which). It also holds a pipe whose other end the core
watches (lifeline.py), so that the core cancels and ends when Node is killed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO

from ..errors import DbcicdError
from . import lifeline


def main(stdin: TextIO, stdout: TextIO, environ: Mapping[str, str] | None = None) -> int:
    """Run one task invocation; returns the exit code."""
    from ..azdo.logging_commands import AzureDevOpsOutput, CommandWriter
    from ..options.names import TASK_NAMES
    from ..options.request import TaskRequest
    from ..results.report import task_report_directory
    from .session import Entry, run_session

    environ = os.environ if environ is None else environ
    lifeline.watch(environ)  # a killed Node entry point cancels as its SIGTERM would
    writer = CommandWriter(stdout)
    output = AzureDevOpsOutput(writer)
    try:
        request = TaskRequest.from_json(stdin.read())
    except DbcicdError as err:
        output.close()
        writer.issue("error", err.message)
        return err.exit_code
    entry = Entry(TASK_NAMES, output, writer, stdout, environ, task_report_directory(request.variables, environ))
    ending = run_session(request, entry)
    if ending.reported:
        output.info(("OK: " if ending.exit_code == 0 else "FAILED: ") + ending.message)
    else:
        writer.issue("error", ending.message)
        if ending.trace:
            writer.group("dbcicd internal error: trace", ending.trace.splitlines())
    writer.end_issues()
    return ending.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.stdin, sys.stdout))
