"""Errors shaped like Databricks' own: an HTTP status plus `{"error_code", "message"}`.

databricks-sdk maps `error_code` before the HTTP status (errors/mapper.py), so the code decides which exception
class a client sees; both must match what a real workspace sends.
"""

from __future__ import annotations


class ApiError(Exception):
    """A failed API call, rendered as Databricks' JSON error body."""

    def __init__(self, status: int, error_code: str | int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        return {"error_code": self.error_code, "message": self.message}


def invalid_parameter(message: str) -> ApiError:
    return ApiError(400, "INVALID_PARAMETER_VALUE", message)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BAD_REQUEST", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "RESOURCE_DOES_NOT_EXIST", message)


def already_exists(message: str) -> ApiError:
    return ApiError(400, "RESOURCE_ALREADY_EXISTS", message)


def invalid_state(message: str) -> ApiError:
    return ApiError(400, "INVALID_STATE", message)


def unauthenticated(message: str) -> ApiError:
    return ApiError(401, "UNAUTHENTICATED", message)


def invalid_access_token() -> ApiError:
    """What a workspace answers a bearer token it does not know (expired, revoked, of another workspace): 403 with
    a numeric `error_code` and the reason in a header, as recorded in databricks/databricks-sdk-go#873 and #917
    (`< HTTP/2.0 403 Forbidden`, `X-Databricks-Reason-Phrase: Invalid access token.`,
    `{"error_code": 403, "message": "Invalid access token."}`)."""
    reason = "Invalid access token."
    return ApiError(403, 403, reason, {"X-Databricks-Reason-Phrase": reason})


def invalid_access_to_org(org_id: int) -> ApiError:
    """What a workspace answers a valid token of another workspace: 403, the same numeric `error_code` and header,
    naming an org id, as recorded in databricks/databricks-sdk-go#928 (`X-Databricks-Reason-Phrase: Invalid access
    to Org: 3352391956719492`, `{"error_code": 403, "message": "Invalid access to Org: 3352391956719492"}`) and #853.
    No source says whose id it is; here it is the id of the workspace that was asked, the one the token cannot
    reach."""
    reason = f"Invalid access to Org: {org_id}"
    return ApiError(403, 403, reason, {"X-Databricks-Reason-Phrase": reason})


def endpoint_not_found(method: str, path: str) -> ApiError:
    return ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")
