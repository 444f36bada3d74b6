"""Which workspace of this process issued a bearer token, so a server can tell a token of another workspace from one
nobody issued.

A real workspace tells them apart: a personal access token that works on one workspace is answered on another with
403 "Invalid access to Org: <org id>", while a token no workspace knows gets 403 "Invalid access token." (recorded in
databricks/databricks-sdk-go#928 and #853; databricks/databricks-sdk-go#981 is a pipeline whose PAT works on its
`dev` workspace and gets this answer on `staging` and `prod`; databricks/databricks-cli#684 the same from an Azure
DevOps release pipeline). Here a workspace is a server (its own host); every server of the process registers the
tokens of its tenants, and a server meeting a token registered by another answers as the other workspace would.
Servers of different processes (two `dbcicd local serve`) do not see each other's tokens: there such a token is
simply unknown.

Tokens are kept as SHA-256 digests: a lookup by digest tells nothing about how much of a token was right.
"""

from __future__ import annotations

import hashlib
import threading

_lock = threading.Lock()
_issuers: dict[bytes, str] = {}  # token digest -> host of the server that issued it


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def register(token: str, host: str) -> None:
    """Record that the server at `host` issued `token`."""
    with _lock:
        _issuers[_digest(token)] = host


def unregister(token: str) -> None:
    with _lock:
        _issuers.pop(_digest(token), None)


def issuer(token: str) -> str | None:
    """The host of the server that issued `token`, or None if no server of this process did."""
    with _lock:
        return _issuers.get(_digest(token))
