"""Databricks refusing the step's credentials (401, or 403 "Invalid access token.") or one of its requests (403),
explained.

Whichever call meets the refusal — usually the first, sometimes one whose failure already reads as a message of its
own ("jobId 12: ...", "Creating the Git folder ... failed: ...") — the user must learn that the credentials or a
permission are the problem, not the input that call was about, which credentials they are, and what to change.
"""

from __future__ import annotations

from collections.abc import Mapping

from databricks.sdk.errors import DatabricksError, PermissionDenied, Unauthenticated

from ..errors import ConfigurationError, DbcicdError, RunFailed

# connectionType (lower case) -> where the credentials are, and how to renew them.
_SOURCES = {
    "databricks": (
        "the service connection of input 'databricksConnection'",
        "update its personal access token or OAuth secret in Project settings > Service connections",
    ),
    "azurerm": (
        "the Azure Resource Manager service connection of input 'azureSubscription'",
        "check that its service principal has been added to the workspace and that its secret or federated "
        "credential is current",
    ),
    "environment": (
        "the DATABRICKS_* environment variables",
        "set DATABRICKS_TOKEN (or the OAuth variables) to credentials that are valid for DATABRICKS_HOST",
    ),
}


def explain_refusal(err: BaseException, inputs: Mapping[str, str]) -> DbcicdError | None:
    """The error to show for `err` if Databricks answered 401 or 403 to it (or to what caused it), else None."""
    refusal = _refusal(err)
    if refusal is None:
        return None
    kind = ((inputs.get("connectionType") or "").strip() or "environment").lower()
    source, renew = _SOURCES.get(kind, _SOURCES["environment"])
    detail = _detail(refusal)
    if isinstance(refusal, Unauthenticated) or _rejects_token(refusal):
        status = 401 if isinstance(refusal, Unauthenticated) else 403
        return ConfigurationError(
            f"Databricks did not accept the credentials of {source} ({_code(status, refusal)}{detail}). "
            f"They are wrong, expired, revoked or for another workspace: {renew}."
        )
    if isinstance(err, DbcicdError):  # our own message already says which call failed; the SDK's names none
        what = f"{err.message} ({_code(403, refusal).removesuffix(': ')})"
    else:
        what = f"Databricks refused a request of this step ({_code(403, refusal)}{detail})"
    message = (
        f"{what}. The identity of {source} lacks a permission the step needs: grant it in the workspace (e.g. Can "
        "Manage on the tempFolder or repoPath, Can Attach To on the cluster, Can Manage Run on the job), or use "
        "credentials that have it."
    )
    return ConfigurationError(message) if isinstance(err, ConfigurationError) else RunFailed(message)


def _code(status: int, refusal: DatabricksError) -> str:
    """`403 PERMISSION_DENIED: `, or `403: ` when the workspace's error_code is only the status again (as in its
    answer to an unknown token, `{"error_code": 403, ...}`, databricks/databricks-sdk-go#873)."""
    code = str(refusal.error_code or "")
    return f"{status}: " if code in ("", str(status)) else f"{status} {code}: "


def _detail(refusal: DatabricksError) -> str:
    """The workspace's message, without the configuration databricks-sdk appends to authentication errors
    (`... Config: host=..., auth_type=pat, ...`, `Config.wrap_debug_info` in its config.py), which says nothing the
    message does not and is long enough to hide it."""
    return " ".join(str(refusal).split(" Config: ", 1)[0].split())


def _rejects_token(refusal: DatabricksError) -> bool:
    """Whether a 403 refuses the token itself rather than a permission: Databricks answers a personal access token
    it does not know with 403 "Invalid access token." (a 401 is for a request without credentials)."""
    return isinstance(refusal, PermissionDenied) and "invalid access token" in str(refusal).lower()


def _refusal(err: BaseException | None) -> DatabricksError | None:
    """The 401 or 403 error in `err`'s chain of causes."""
    while err is not None:
        if isinstance(err, (Unauthenticated, PermissionDenied)):
            return err
        err = err.__cause__
    return None
