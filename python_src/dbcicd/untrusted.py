"""The trust boundary: what a run produced is untrusted text, made harmless here before it is logged, written or
published.

A pipeline that tests a pull request runs that pull request's notebooks. Everything they produce — their output,
exit values, errors and traces, the JUnit and Cobertura files they write and the paths in them, the rendered pages,
the task names — may have been written to attack the agent that reads it back. `untrusted_text` is the one way such
text reaches a log line, a file or Azure DevOps:

- every registered secret is masked first (secrets.py): the agent masks its log, never a file, and a cut made later
  could split a secret into parts that no longer match;
- terminal escape sequences and the characters XML 1.0 cannot hold are removed;
- logging commands are neutralised: `##vso[` and `##[` get a space after the first `#`, wherever they are. The agent
  runs `##vso[...]` anywhere in a line and reads `##[...]` at its start as formatting; text written to a file may be
  printed by a later step, so files get the same treatment as the log;
- JUnit attachment markers, `[[ATTACHMENT|<path>]]`, are neutralised (`[ [ATTACHMENT|...`): a test publisher that
  follows them uploads the file a marker names with the test results (test-results-reporter/parser#51,
  MicrosoftDocs/azure-devops-yaml-schema#259), so a marker from a notebook could publish the agent's credential
  files. The agent's own JUnit reader ignores them today (report.py), but the files dbcicd writes are read by other
  publishers too, and the flag may come back. The pattern matched is the JUnit Attachments plugin's
  `\\[\\[ATTACHMENT\\|.+\\]\\]` (jenkinsci/junit-attachments-plugin, TestCaseAttachmentTestAction.java),
  widened to any letter case and spaces around the word, since no public source gives the exact pattern of every
  parser; breaking the `[[` defeats any pattern that needs it. dbcicd writes no marker of its own;
- long text is cut in the middle, with a marker saying how much.
"""

from __future__ import annotations

import re

from .secrets import redact

CUT_MARKER = "\n[... {count} characters cut ...]\n"

_ILLEGAL_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Terminal escape sequences (ECMA-48): CSI `ESC [ ... final`, OSC `ESC ] ... BEL|ST`, `ESC ( B`-like designations
# and two-character `ESC Fe`. IPython colours the tracebacks a notebook raises, and Databricks hands them on as they
# are in runs/get-output's `error_trace` (databricks/dbt-databricks#434 strips them from it for its logs;
# databrickslabs/dbx#590 shows them in the run page): removing only the ESC, as an XML-illegal character, would leave
# `[0;31m` in every line.
_ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[ -/]+[0-~]|[@-Z\\-_])")
_LOGGING_COMMAND = re.compile(r"##(?=vso\[|\[)", re.IGNORECASE)
_ATTACHMENT = re.compile(r"\[\[(?=\s*attachment\s*\|)", re.IGNORECASE)


def untrusted_text(text: str, limit: int | None = None) -> str:
    """`text` from a run, safe to log, write or publish: secrets masked, terminal codes and characters XML cannot
    hold removed, logging commands and attachment markers neutralised, cut to `limit` characters when given."""
    safe = neutralised(clean(redact(text)))
    return safe if limit is None else bounded(safe, limit)


def neutralised(text: str) -> str:
    """`text` with logging commands (`##vso[`, `##[`) and attachment markers (`[[ATTACHMENT|`) made inert: shown
    as they were written but for one space, never run or followed."""
    return _ATTACHMENT.sub("[ [", _LOGGING_COMMAND.sub("# #", text))


def carries_command(text: str) -> bool:
    """Whether `text` holds a logging command or log formatting the agent would act on when a step prints it."""
    return _LOGGING_COMMAND.search(text) is not None


def clean(text: str) -> str:
    """`text` without terminal colour codes and the characters XML 1.0 cannot hold."""
    return _ILLEGAL_XML.sub("", _ANSI_ESCAPE.sub("", text))


def bounded(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, keeping a quarter from the head and the rest from the tail.

    The tail is kept longer because the end of a trace or an output is where the error is.
    """
    if len(text) <= limit:
        return text
    marker = CUT_MARKER.format(count=len(text) - limit)
    keep = max(0, limit - len(marker))
    head = keep // 4
    return text[:head] + marker + text[len(text) - (keep - head) :] if keep else text[:limit]
