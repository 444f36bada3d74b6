"""Whether the workspace host can be reached at all, and the error that says so before a whole retry budget passes.

databricks-sdk retries every `requests.ConnectionError` for the client's whole retry budget (databricks-sdk
`_base_client.py`, `_BaseClient._is_retryable`: "cannot connect"), and its probe of `/.well-known/databricks-config`
while building the `Config` swallows any failure (`config.py`, `Config._resolve_host_metadata`). A closed port, a
name that does not resolve, or TLS to a port that speaks plain HTTP therefore cost the full `retryTimeoutSeconds`
(two minutes by default) before the step failed with "raise retryTimeoutSeconds" — advice that cannot help.

A host that has never answered a single request of this step, and whose connection could not even be opened, is far
likelier a wrong URL or a blocked network than a blip: such failures are retried only until FIRST_ANSWER_SECONDS
after signing in began, then the step fails naming the host and what to check; and opening a connection may take
CONNECT_TIMEOUT_SECONDS, not the whole per-request timeout. Once the host has answered, the
SDK's rule holds again (a workspace restarting mid-run gets the whole budget), and throttling (429) and 503 are
never affected: the SDK retries them on their Retry-After before consulting `_is_retryable`
(`retries.py`, `retried`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import requests
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from ..errors import ConfigurationError


class NeverReached(ConfigurationError):
    """No connection to the host could ever be opened: no request of the step was received, so nothing was made."""


# How long a host that has never answered may keep refusing connections, counted from the start of signing in. The
# SDK's host probe retries for as long (a few seconds more: it sleeps 1 s, 2 s, ... plus jitter before checking the
# time), so a dead host fails at the first API call, within about 5 s of signing in.
FIRST_ANSWER_SECONDS = 3
# Opening a connection (TCP) may take this long: a host behind a firewall that drops packets would otherwise hold
# each attempt for the whole per-request timeout (60 s). A connect timeout is retried like any other.
CONNECT_TIMEOUT_SECONDS = 5


@dataclass
class Reach:
    """The workspace host of one step, where its URL came from, and whether it has answered yet.

    Shared by every client of the step (the clean-up client too), so a host never reached is given up on once.
    """

    host: str  # https://adb-123.azuredatabricks.net
    source: str  # "environment variable DATABRICKS_HOST": where the user fixes the URL, to go mid-sentence
    typed: str = ""  # the URL as given, when it had no scheme and https:// was assumed
    deadline: float = field(default_factory=lambda: time.monotonic() + FIRST_ANSWER_SECONDS)
    answered: bool = False

    def mark_answered(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        """A `requests` response hook: any HTTP answer, even an error, proves the host is reachable."""
        self.answered = True

    def gives_up(self, err: BaseException) -> bool:
        """Whether `err` ends the retries: no connection could be opened to a host that never answered, and the
        time it had to answer has passed."""
        return not self.answered and failed_to_connect(err) is not None and time.monotonic() >= self.deadline

    def unreachable(self, err: BaseException) -> NeverReached | None:
        """The step's error when `err` (or what caused it) is a connection this host never let open; else None."""
        reason = None if self.answered else _cause_to_connect(err)
        if reason is None:
            return None
        assumed = ""
        if self.typed:
            assumed = (
                f" {self.source[0].upper()}{self.source[1:]} is '{self.typed}', without a scheme, so https:// was "
                "assumed: write the URL in full, with https:// (or http:// for a local workspace on 127.0.0.1 or "
                "localhost)."
            )
        return NeverReached(
            f"Cannot connect to {self.host}: {reason}.{assumed} Check the workspace URL ({self.source}) and that "
            "this agent can reach it (proxy, firewall, private endpoint)."
        )


def failed_to_connect(err: BaseException) -> str | None:
    """What stopped a connection from being opened, if that is what `err` is: the request was never sent."""
    if isinstance(err, requests.exceptions.SSLError):
        if "WRONG_VERSION_NUMBER" in str(err):
            return "the port answers plain HTTP, not HTTPS (TLS handshake failed: WRONG_VERSION_NUMBER)"
        if "CERTIFICATE_VERIFY_FAILED" in str(err):
            return untrusted_certificate(err)
        return f"the TLS handshake failed ({_innermost(err)})"
    if not isinstance(err, requests.ConnectionError):
        return None
    reason = getattr(err.args[0], "reason", None) if err.args else None  # urllib3's MaxRetryError
    if isinstance(reason, NameResolutionError):
        return "its name does not resolve (DNS lookup failed)"
    if isinstance(reason, NewConnectionError):  # before ConnectTimeoutError, which urllib3 derives it from
        return "connection refused" if "refused" in str(reason).lower() else f"cannot connect ({_innermost(reason)})"
    if isinstance(reason, ConnectTimeoutError):
        return "opening the connection timed out"
    return None  # reset, dropped or timed out after the request went out: the host was reached


def untrusted_certificate(err: BaseException) -> str:
    """Why a certificate was refused, and what makes it trusted: the agent's CA certificate (its --sslcacert, which
    gives the task Agent.CAInfo), or REQUESTS_CA_BUNDLE on the command line (connect/network.py)."""
    found = re.search(r"certificate verify failed: ([^(')]+)", str(err))
    detail = found[1].strip() if found else "certificate verify failed"
    return (
        f"its TLS certificate is not trusted ({detail}). If this agent reaches it through a TLS-inspecting proxy, or "
        "its certificate comes from a private certificate authority, configure the agent with that authority's "
        "certificate (./config.sh --sslcacert <file>, which gives the task Agent.CAInfo); outside a pipeline, set "
        "REQUESTS_CA_BUNDLE to a file holding it"
    )


def _cause_to_connect(err: BaseException | None) -> str | None:
    """`failed_to_connect` of `err` or of an error in its chain of causes (the SDK's TimeoutError wraps it)."""
    while err is not None:
        reason = failed_to_connect(err)
        if reason is not None:
            return reason
        err = err.__cause__ or err.__context__
    return None


def _innermost(err: BaseException) -> str:
    """The last part of a urllib3 message: 'HTTPSConnection(...): Failed to establish ...: [Errno 113] No route'."""
    return str(err).rsplit(": ", 1)[-1].strip("()'\" ") or type(err).__name__
