"""System.Debug: databricks-sdk's DEBUG log — every request and response, retries, signing in — in the pipeline log.

A pipeline run with the variable System.Debug set to true asks every task for its diagnostic detail; the agent
shows `task.debug` lines only then. On the command line `--debug` (or DBCICD_DEBUG=true) asks for the same
lines, written to stderr as `debug: ...`. Registered secrets are masked in them like everywhere else (by the
`CommandWriter` in a pipeline, by `redact` on stderr); the SDK never logs headers here (`debug_headers` is off). It
does cut every long value after 96 bytes, `...xyz... (52 more bytes)`, which can leave the head of a secret that
masking no longer recognises: such a head is masked too.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from ..azdo.logging_commands import CommandWriter
from ..options.build import variable
from ..output import debug_records
from ..secrets import MASK, redact, registered_secrets

SDK_LOGGER = "databricks.sdk"
# databricks-sdk's mark of a value it cut short (logger/round_trip_logger.py): "<head>... (<n> more bytes)".
_CUT_VALUE = re.compile(r"(\S+)(\.\.\. \(\d+ more bytes\))")
MIN_CUT_SECRET = 4  # a shorter head of a secret tells nothing


DEBUG_ENVIRONMENT = "DBCICD_DEBUG"
_TRUE = ("true", "1", "yes", "on")


def debug_requested(variables: Mapping[str, str]) -> bool:
    """Whether the pipeline runs with System.Debug=true."""
    return variable(variables, "System.Debug").lower() == "true"


def cli_debug_requested(flag: bool, environ: Mapping[str, str]) -> bool:
    """Whether the command line asks for the debug log: `--debug`, or DBCICD_DEBUG=true (or 1, yes, on)."""
    return flag or environ.get(DEBUG_ENVIRONMENT, "").strip().lower() in _TRUE


def agent_debug_line(writer: CommandWriter) -> Callable[[str], None]:
    """A debug line as the agent's `task.debug` command (shown when the run has System.Debug=true)."""
    return lambda line: writer.command("task.debug", None, line)


def stderr_debug_line(line: str) -> None:
    """A debug line on stderr, secrets masked (`sys.stderr` looked up each time: a live table redirects it)."""
    print(redact(f"debug: {line}"), file=sys.stderr, flush=True)


class _DebugLines(logging.Handler):
    """Each line of each record, the heads of cut secrets masked, to `sink`."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a malformed record: logging reports it on stderr, as it would for any handler
            self.handleError(record)
            return
        for line in mask_cut_secrets(text).splitlines():
            self.sink(f"{record.name}: {line}")


def mask_cut_secrets(text: str) -> str:
    """`text` with the head of any registered secret that databricks-sdk cut short masked (whole ones are masked
    by the writer)."""

    def mask(cut: re.Match[str]) -> str:
        head = cut[1]
        for secret in registered_secrets():
            for size in range(min(len(head), len(secret)), MIN_CUT_SECRET - 1, -1):
                if secret.startswith(head[-size:]):
                    return head[:-size] + MASK + cut[2]
        return cut[0]

    return _CUT_VALUE.sub(mask, text)


@contextmanager
def sdk_debug_log(sink: Callable[[str], None]) -> Iterator[None]:
    """While active, databricks-sdk's DEBUG records go line by line to `sink`."""
    with debug_records(SDK_LOGGER, _DebugLines(sink)):
        yield
