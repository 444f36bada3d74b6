"""Which Databricks API call failed, in every error a step ends with.

databricks-sdk's errors carry Databricks' message but not the request, and when its retries run out it raises a bare
`TimeoutError("Timed out after 0:02:00")` that no caller expects — the step ended in a traceback. So the client's
request function (`ApiClient.do`, which every service of a `WorkspaceClient` calls) is wrapped: an API error it
raises is marked with its call (`METHOD /path`), and spent retries become a `RunFailed` naming the call, how long it
was retried and the last error. Callers that expect an API error (NotFound for a missing folder, a failed read that
becomes a failed test case) catch it as before; one that no caller handled is turned into the step's error by
`api_error`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import (
    BadRequest,
    DatabricksError,
    NotFound,
    PermissionDenied,
    ResourceConflict,
    Unauthenticated,
)

from ..errors import RunFailed

_CALL = "dbcicd_api_call"


def name_calls(client: WorkspaceClient) -> WorkspaceClient:
    """`client`, whose calls' errors name the call (see the module docstring)."""
    api = client.api_client
    budget = client.config.retry_timeout_seconds
    request = api.do

    def named(method: str, path: str | None = None, url: str | None = None, **kwargs: Any) -> Any:
        call = f"{method} {path or urlsplit(url or '').path}"
        try:
            return request(method, path, url, **kwargs)
        except TimeoutError as err:
            last = _reason(err.__cause__).rstrip(".")
            raise RunFailed(
                f"Databricks API call {call} still failing after retrying for {budget} s: {last}. "
                "Check the workspace's status; if it needs longer to recover, raise input retryTimeoutSeconds."
            ) from err
        except DatabricksError as err:
            setattr(err, _CALL, call)
            raise

    api.do = named  # type: ignore[method-assign]
    return client


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
