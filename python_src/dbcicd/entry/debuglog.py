"""System.Debug: databricks-sdk's DEBUG log — every request and response, retries, signing in — in the pipeline log.

A pipeline run with the variable System.Debug set to true asks every task for its diagnostic detail; the agent
shows `task.debug` lines only then. The lines go through the `CommandWriter`, so registered secrets are masked in
them like everywhere else; the SDK never logs headers here (`debug_headers` is off). It does cut every long value
after 96 bytes, `...xyz... (52 more bytes)`, which can leave the head of a secret that masking no longer
recognises: such a head is masked too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from ..azdo.logging_commands import CommandWriter
from ..options.build import variable
from ..output import debug_records
from ..secrets import MASK, registered_secrets

SDK_LOGGER = "databricks.sdk"
# databricks-sdk's mark of a value it cut short (logger/round_trip_logger.py): "<head>... (<n> more bytes)".
_CUT_VALUE = re.compile(r"(\S+)(\.\.\. \(\d+ more bytes\))")
MIN_CUT_SECRET = 4  # a shorter head of a secret tells nothing


def debug_requested(variables: Mapping[str, str]) -> bool:
    """Whether the pipeline runs with System.Debug=true."""
    return variable(variables, "System.Debug").lower() == "true"


class _AgentDebugLines(logging.Handler):
    """Each line of each record as a `task.debug` command."""

    def __init__(self, writer: CommandWriter) -> None:
        super().__init__(logging.DEBUG)
        self.writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a malformed record: logging reports it on stderr, as it would for any handler
            self.handleError(record)
            return
        for line in mask_cut_secrets(text).splitlines():
            self.writer.command("task.debug", None, f"{record.name}: {line}")


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
def sdk_debug_log(writer: CommandWriter, enabled: bool) -> Iterator[None]:
    """While active and `enabled`, databricks-sdk's DEBUG records are written as the agent's debug lines."""
    if not enabled:
        yield
        return
    with debug_records(SDK_LOGGER, _AgentDebugLines(writer)):
        yield
