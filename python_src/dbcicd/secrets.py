"""Secrets known to this process, and their removal from everything it prints or logs.

Whoever reads a credential registers it at once (`register_secret`); whatever prints uses `redact`, and
`install_log_redaction` puts a `logging.Filter` where log records pass, so that databricks-sdk's DEBUG logging
(request URLs, bodies, error messages) never carries a registered value to a pipeline log either.

Azure DevOps masks the secrets it knows of in its own logs, but not tokens minted at run time (the ID token from
Azure DevOps, Entra or Databricks OAuth access tokens), nor anything written to files such as JUnit XML; hence
one registry here, fed by everything that touches a credential.
"""

from __future__ import annotations

import html
import json
import logging
import re
import threading
from urllib.parse import quote, quote_plus

MASK = "***"

# Values this short are not credentials (every real token is far longer); masking them would mangle output.
MIN_SECRET_LENGTH = 6

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def register_secret(value: str | None) -> str | None:
    """Remember `value` as a secret from now on (also its URL-, HTML- and JSON-encoded forms, as a rendered page or
    a document may hold it); returns it unchanged.

    Written so a credential can be registered where it is read: `token = register_secret(params["apitoken"])`.
    Each line of a multi-line value is registered too, since logs often show secrets line by line.
    """
    global _pattern
    if not value:
        return value
    forms = {value, value.strip(), quote(value, safe=""), quote_plus(value), html.escape(value)}
    forms.update(
        (html.escape(value, quote=False), json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1])
    )
    forms.update(line.strip() for line in value.splitlines())
    forms = {form for form in forms if len(form) >= MIN_SECRET_LENGTH}
    with _lock:
        if forms <= _secrets:
            return value
        _secrets.update(forms)
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(secret) for secret in ordered))
    return value


def registered_secrets() -> frozenset[str]:
    """Every value registered so far (with its encoded forms): what a pipeline log must be told to mask."""
    with _lock:
        return frozenset(_secrets)


def redact(text: str) -> str:
    """`text` with every registered secret replaced by `***`."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """Masks registered secrets in a record's message, its arguments and its exception text; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _pattern is None:
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed call; logging reports it when the record is emitted
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse `exc_text` when it is set, so the traceback is printed masked.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FILTER = RedactingFilter()


def install_log_redaction() -> None:
    """Attach the filter to the root and `databricks.sdk` loggers and to the root logger's handlers.

    Logger filters only see records logged on that very logger; records from child loggers (`urllib3...`,
    `databricks.sdk.retries`) reach the root handlers directly, so those get the filter as well. Idempotent:
    call it again after adding handlers.
    """
    root = logging.getLogger()
    for target in (root, logging.getLogger("databricks.sdk"), *root.handlers):
        if _FILTER not in target.filters:
            target.addFilter(_FILTER)
