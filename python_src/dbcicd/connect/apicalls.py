"""Which Databricks API call failed, in every error a step ends with.

databricks-sdk's errors carry Databricks' message but not the request, and when its retries run out it raises a bare
`TimeoutError("Timed out after 0:02:00")` that no caller expects — the step ended in a traceback. So the client's
request function (`ApiClient.do`, which every service of a `WorkspaceClient` calls) is wrapped: an API error it
raises is marked with its call (`METHOD /path`), and spent retries become a `RunFailed` naming the call, how long it
was retried and the last error. Callers that expect an API error (NotFound for a missing folder, a failed read that
becomes a failed test case) catch it as before; one that no caller handled is turned into the step's error by
`api_error`.

The same wrapper watches whether the host can be reached at all (see `reach`): the SDK's retry rule is narrowed so
that a host that never answered is given up on after a few seconds, and the failure names the host, not a call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.core import ApiClient
from databricks.sdk.errors import (
    BadRequest,
    DatabricksError,
    NotFound,
    PermissionDenied,
    ResourceConflict,
    Unauthenticated,
)

from ..errors import RunFailed
from .reach import CONNECT_TIMEOUT_SECONDS, Reach

_CALL = "dbcicd_api_call"
_WATCH = "dbcicd_watch"
# How the advice names the retry budget until the entry in use tells it (an input in a pipeline, a flag in a shell).
RETRY_SETTING = "input retryTimeoutSeconds (CLI: --retry-timeout-seconds)"


@dataclass(frozen=True)
class Watch:
    """What every client of one step shares: the host's reach, and how advice names the retry budget."""

    reach: Reach
    retry_setting: str = RETRY_SETTING


def name_calls(client: WorkspaceClient, watch: Watch) -> WorkspaceClient:
    """`client`, whose calls' errors name the call, and which gives up early on a host never reached (see the
    module docstring)."""
    api = client.api_client
    budget = client.config.retry_timeout_seconds
    request = api.do
    _watch_reach(api, watch.reach)

    def named(method: str, path: str | None = None, url: str | None = None, **kwargs: Any) -> Any:
        call = f"{method} {path or urlsplit(url or '').path}"
        try:
            return request(method, path, url, **kwargs)
        except (TimeoutError, requests.ConnectionError) as err:
            never_reached = watch.reach.unreachable(err)
            if never_reached is not None:
                raise never_reached from None
            if not isinstance(err, TimeoutError):
                raise
            last = _reason(err.__cause__).rstrip(".")
            raise RunFailed(
                f"Databricks API call {call} still failing after retrying for {budget} s: {last}. "
                f"Check the workspace's status; if it needs longer to recover, raise {watch.retry_setting}."
            ) from err
        except DatabricksError as err:
            setattr(err, _CALL, call)
            raise

    api.do = named  # type: ignore[method-assign]
    setattr(api, _WATCH, watch)
    return client


def named_like(client: WorkspaceClient, like: WorkspaceClient) -> WorkspaceClient:
    """`client` (e.g. one with shorter timeouts for clean-up) named and watched as `like`, sharing its reach."""
    return name_calls(client, getattr(like.api_client, _WATCH))


def _watch_reach(api: ApiClient, reach: Reach) -> None:
    """Every HTTP answer marks the host reached, the SDK stops retrying connections to a host never reached once
    its time is up, and opening a connection has a timeout of its own. All three hook into databricks-sdk's private
    request machinery: `ApiClient._api_client` is the `_BaseClient` (`core.py`, `ApiClient.__init__`), whose `do`
    looks up `self._is_retryable` on every call, and whose `_perform` sends through `self._session` with
    `timeout=self._http_timeout_seconds` (`_base_client.py`), which `requests` also takes as (connect, read)."""
    base = api._api_client
    sdk_rule = base._is_retryable
    base._session.hooks["response"].append(reach.mark_answered)
    # databricks-sdk 0.167 passes the request's method too (`functools.partial(self._is_retryable, method=...)`).
    base._is_retryable = lambda err, **how: None if reach.gives_up(err) else sdk_rule(err, **how)
    read_timeout = base._http_timeout_seconds
    base._http_timeout_seconds = (min(CONNECT_TIMEOUT_SECONDS, read_timeout), read_timeout)


def api_error(err: DatabricksError) -> RunFailed:
    """The step's error for an API error that no caller handled."""
    call = getattr(err, _CALL, "")
    return RunFailed(f"Databricks API call {call or '(unknown)'} failed: {_reason(err)}")


def refused(err: DatabricksError) -> bool:
    """Whether Databricks refused the request itself (a 4xx: the request, so an input, is at fault) rather than
    failed to serve it (a 5xx, or an answer it could not give)."""
    return isinstance(err, (BadRequest, Unauthenticated, PermissionDenied, NotFound, ResourceConflict))


def _reason(err: BaseException | None) -> str:
    if err is None:
        return "no answer"
    if isinstance(err, DatabricksError):
        code = f"{err.error_code}: " if err.error_code else ""
        return f"{code}{err}"
    return f"{type(err).__name__}: {err}"
