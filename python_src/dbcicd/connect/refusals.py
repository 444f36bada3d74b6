"""Databricks refusing the step's credentials (401, or 403 "Invalid access token."), credentials of another workspace
(403 "Invalid access to Org: <id>"), the Git credentials the workspace clones with, or one of the step's requests
(403), explained.

Whichever call meets the refusal — usually the first, sometimes one whose failure already reads as a message of its
own ("jobId 12: ...", "Creating the Git folder ... failed: ...") — the user must learn which of these it is, not
the input that call was about, which credentials they are, and what to change: renew the token, point at the right
workspace, add a Git credential, or grant a permission.
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


# connectionType (lower case) -> where the workspace URL is set, and the other way to fix credentials of another
# workspace (for an Azure service principal: a workspace it has not been added to).
_WORKSPACE_URLS = {
    "databricks": ("the Server URL of that service connection", "or use a token made in the workspace it names"),
    "azurerm": ("input 'workspaceUrl'", "or add the connection's service principal to the workspace it names"),
    "environment": ("DATABRICKS_HOST", "or use credentials made in the workspace it names"),
}

# How an identity gets a Git credential: docs.databricks.com/repos/get-access-tokens-from-git-provider (a user) and
# /repos/automate-with-sp, "Authorize a service principal to access Git folders" (the CLI signed in as the service
# principal, or a workspace admin's Settings > Identity and access > Service principals > Git integration).
_ADD_GIT_CREDENTIAL = (
    "Add or renew one for that identity and provider. A user: Settings > Linked accounts in the workspace. A service "
    "principal: sign in as it (its OAuth client id and secret) and run `databricks git-credentials create "
    "<provider> --git-username <name> --personal-access-token <token>`, or have a workspace admin add it under "
    "Settings > Identity and access > Service principals > <the principal> > Git integration."
)


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
    if _other_workspace(refusal):
        where, other_fix = _WORKSPACE_URLS.get(kind, _WORKSPACE_URLS["environment"])
        return ConfigurationError(
            f"Databricks refused the credentials of {source} ({_code(403, refusal)}{detail}): they are valid, but "
            f"not for the workspace {where} names. Point {where} at the workspace they belong to, {other_fix}."
        )
    if _git_credentials(refusal):
        return _git_credentials_missing(err, refusal, source, inputs.get("gitProvider", "").strip())
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


def _other_workspace(refusal: DatabricksError) -> bool:
    """Whether a 403 refuses valid credentials of another workspace: "Invalid access to Org: <org id>"
    (databricks/databricks-sdk-go#928, #981: a PAT that works on one workspace, sent to another)."""
    return isinstance(refusal, PermissionDenied) and "invalid access to org" in str(refusal).lower()


# The workspace's answers when it cannot clone or pull with the identity's Git credentials: "Invalid Git provider
# credentials." (databricks/cli#1551), "Azure Active Directory credentials missing." (databricks/databricks-cli#404),
# "Encountered an error with your Azure Active Directory credentials." (databricks/cli#1450).
_GIT_CREDENTIAL_REFUSALS = ("invalid git provider credentials", "azure active directory credentials")


def _git_credentials(refusal: DatabricksError) -> bool:
    text = str(refusal).lower()
    return isinstance(refusal, PermissionDenied) and any(phrase in text for phrase in _GIT_CREDENTIAL_REFUSALS)


def _git_credentials_missing(err: BaseException, refusal: DatabricksError, source: str, provider: str) -> DbcicdError:
    """A Git folder's clone or pull refused for want of a working Git credential. The workspace's own text is long
    (five numbered points about its UI); its first sentence says what happened."""
    reason = str(refusal).split("\n", 1)[0].split(". ", 1)[0].rstrip(".")
    failed = "Databricks could not clone or pull the Git repository: "
    if isinstance(err, DbcicdError) and str(refusal) in err.message:  # "Creating the Git folder P from U failed: "
        failed = err.message.split(str(refusal), 1)[0]
    which = f" ({provider})" if provider else ""
    return ConfigurationError(
        f"{failed}{reason} ({_code(403, refusal).removesuffix(': ')}). The workspace clones and pulls as the identity "
        f"of {source}, which has no working Git credential there for the repository's Git provider{which}. "
        f"{_ADD_GIT_CREDENTIAL}"
    )


def _refusal(err: BaseException | None) -> DatabricksError | None:
    """The 401 or 403 error in `err`'s chain of causes."""
    while err is not None:
        if isinstance(err, (Unauthenticated, PermissionDenied)):
            return err
        err = err.__cause__
    return None
