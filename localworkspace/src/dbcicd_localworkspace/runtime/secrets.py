"""dbutils.secrets (get, getBytes, list, listScopes) and the redaction of secret values in notebook output.

Databricks "redacts all secret values that are read using dbutils.secrets.get(). When displayed in notebook cell
output, the secret values are replaced with [REDACTED]" and this "applies only to literals"
(docs.databricks.com/security/secrets/redaction). Here every value a notebook read is replaced wherever it appears
whole in what the process writes to stdout and stderr, and in the error and trace its result reports (what
runs/get-output shows as `logs`, `error` and `error_trace`); a transformed value (reversed, split across writes,
one character per line) is not recognised, as on Databricks.
"""

from __future__ import annotations

import io
import sys
import threading
from typing import Any, NamedTuple, TextIO

from . import secret_store

REDACTED = "[REDACTED]"


class SecretScope(NamedTuple):
    """What dbutils.secrets.listScopes() returns per scope (`SecretScope(name='...')` on Databricks)."""

    name: str


class SecretMetadata(NamedTuple):
    """What dbutils.secrets.list(scope) returns per secret (`SecretMetadata(key='...')` on Databricks)."""

    key: str


class Redactor:
    """The secret values read so far in this process, and their replacement in text."""

    def __init__(self) -> None:
        self._values: list[str] = []
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        if value and value not in self._values:
            with self._lock:
                # Longest first, so a secret containing another is replaced whole.
                self._values = sorted({*self._values, value}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text


class RedactingStream(io.TextIOBase):
    """A text stream that redacts what is written before passing it on (sys.stdout and sys.stderr of a notebook)."""

    def __init__(self, target: TextIO, redactor: Redactor) -> None:
        self._target = target
        self._redactor = redactor

    def write(self, text: str) -> int:
        self._target.write(self._redactor.redact(text))
        return len(text)

    def flush(self) -> None:
        self._target.flush()

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._target.fileno()  # subprocesses write to the same file, unredacted (as %sh output is a process's)

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)  # encoding, errors, buffer, reconfigure ...


def install_redaction(redactor: Redactor) -> None:
    """Route the process's stdout and stderr through `redactor`; before the notebook runs, so that loggers and
    handlers made by the notebook write through it too."""
    sys.stdout = RedactingStream(sys.stdout, redactor)  # type: ignore[assignment]
    sys.stderr = RedactingStream(sys.stderr, redactor)  # type: ignore[assignment]


class SecretsUtils:
    """dbutils.secrets over the workspace's secret store (read on every call)."""

    def __init__(self, store_file: str, redactor: Redactor) -> None:
        self._file = store_file
        self._redactor = redactor

    def get(self, scope: str, key: str) -> str:
        """The secret's value as text (its bytes as UTF-8); the value is redacted from this notebook's output."""
        value = self.getBytes(scope, key).decode("utf-8", "replace")
        self._redactor.add(value)
        return value

    def getBytes(self, scope: str, key: str) -> bytes:
        """The secret's value as bytes; its text form is redacted from this notebook's output."""
        entry = self._scope(scope)["secrets"].get(key)
        if entry is None:
            # Databricks raises IllegalArgumentException with this wording (no public page records it verbatim).
            raise ValueError(f"Secret does not exist with scope: {scope} and key: {key}")
        data = secret_store.value_bytes(entry)
        self._redactor.add(data.decode("utf-8", "replace"))
        return data

    def list(self, scope: str) -> list[SecretMetadata]:
        return [SecretMetadata(key) for key in sorted(self._scope(scope)["secrets"])]

    def listScopes(self) -> list[SecretScope]:
        return [SecretScope(name) for name in sorted(secret_store.load(self._file))]

    def help(self, method: str = "") -> None:
        print("dbutils.secrets: get(scope, key), getBytes(scope, key), list(scope), listScopes()")

    def _scope(self, scope: str) -> dict[str, Any]:
        if not isinstance(scope, str):
            raise TypeError(f"dbutils.secrets: the scope must be a string, got {scope!r}")
        found = secret_store.load(self._file).get(scope)
        if found is None:
            raise ValueError(f"Secret scope {scope} does not exist")
        return found
