"""The secret registry: what gets masked in printed text and in log records."""

from __future__ import annotations

import logging
import secrets as random_tokens
import sys

import pytest

from dbcicd.secrets import MASK, RedactingFilter, install_log_redaction, redact, register_secret


def fresh_secret() -> str:
    return "s3cr3t-" + random_tokens.token_hex(12)


def test_registered_secret_is_masked_everywhere_in_text() -> None:
    """Every occurrence of a registered value is replaced by the mask."""
    secret = register_secret(fresh_secret())
    assert redact(f"a {secret} b {secret}") == f"a {MASK} b {MASK}"


def test_register_returns_the_value_for_inline_use() -> None:
    """register_secret hands the value back, so reading and registering is one expression."""
    value = fresh_secret()
    assert register_secret(value) == value


def test_url_encoded_form_is_masked() -> None:
    """A secret that ends up in a query string or form body is masked in its encoded form too."""
    secret = register_secret(fresh_secret() + "/+=")
    assert MASK in redact(f"GET /x?token={secret.replace('/', '%2F').replace('+', '%2B').replace('=', '%3D')}")


def test_each_line_of_a_multiline_secret_is_masked() -> None:
    """Logs show multi-line secrets (keys, certificates) line by line; each line is masked."""
    first, second = fresh_secret(), fresh_secret()
    register_secret(f"{first}\n{second}\n")
    assert redact(f"line: {second}") == f"line: {MASK}"


def test_longer_secret_containing_a_shorter_one_is_masked_whole() -> None:
    """Overlapping secrets leave no fragment of the longer one behind."""
    short = register_secret(fresh_secret())
    long = register_secret(short + "-and-more")
    assert redact(long) == MASK


@pytest.mark.parametrize("value", [None, "", "abc", "12345"])
def test_empty_and_short_values_are_ignored(value: str | None) -> None:
    """Values too short to be credentials are not masked (they would mangle ordinary output)."""
    register_secret(value)
    assert redact("abc 12345 ok") == "abc 12345 ok"


def record(msg: str, *args: object, exc_info: object = None) -> logging.LogRecord:
    return logging.LogRecord("databricks.sdk", logging.DEBUG, __file__, 1, msg, args or None, exc_info)


def test_filter_masks_message_and_arguments() -> None:
    """A secret passed as a %-argument is masked in the formatted message."""
    secret = register_secret(fresh_secret())
    rec = record("token=%s in %s", secret, "body")
    assert RedactingFilter().filter(rec) is True
    assert rec.getMessage() == f"token={MASK} in body"


def test_filter_masks_exception_text() -> None:
    """A secret inside a logged exception's message does not reach the formatted traceback."""
    secret = register_secret(fresh_secret())
    try:
        raise ValueError(f"refused {secret}")
    except ValueError:
        rec = record("failed", exc_info=sys.exc_info())
    RedactingFilter().filter(rec)
    text = logging.Formatter().format(rec)
    assert secret not in text and f"refused {MASK}" in text


def test_installed_filter_masks_records_of_child_loggers(caplog: pytest.LogCaptureFixture) -> None:
    """Records from any logger (urllib3, databricks.sdk.*) reach the captured output masked."""
    secret = register_secret(fresh_secret())
    caplog.set_level(logging.DEBUG)
    install_log_redaction()
    logging.getLogger("urllib3.connectionpool").debug('"GET /x?path=%s HTTP/1.1" 200', secret)
    logging.getLogger("databricks.sdk").debug("body: %s", {"token": secret})
    assert secret not in caplog.text
    assert caplog.text.count(MASK) == 2
