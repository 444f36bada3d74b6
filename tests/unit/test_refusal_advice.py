"""The advice for a refusal follows what happened: renew the token, point at the right workspace, or add a Git
credential — never a workspace permission for a credential problem."""

from __future__ import annotations

import pytest
from databricks.sdk.errors import PermissionDenied

from dbcicd.connect.refusals import explain_refusal
from dbcicd.errors import ConfigurationError, RunFailed
from dbcicd_localworkspace.services.git_credentials import AZURE_AD_CREDENTIALS_MISSING, INVALID_GIT_CREDENTIALS


def _wrapped(message: str, refusal: PermissionDenied) -> RunFailed:
    """A step's own error around the SDK's, as GitFolders.create raises it."""
    try:
        raise refusal
    except PermissionDenied as err:
        try:
            raise RunFailed(f"{message}: {err}") from err
        except RunFailed as wrapped:
            return wrapped


@pytest.mark.parametrize(
    ("connection", "where", "other_fix"),
    [
        ("databricks", "the Server URL of that service connection", "use a token made in the workspace it names"),
        ("azureRM", "input 'workspaceUrl'", "add the connection's service principal to the workspace it names"),
        ("", "DATABRICKS_HOST", "use credentials made in the workspace it names"),
    ],
)
def test_a_token_of_another_workspace_says_to_point_at_the_right_workspace(
    connection: str, where: str, other_fix: str
) -> None:
    refusal = PermissionDenied("Invalid access to Org: 3352391956719492", error_code="403")
    explained = explain_refusal(refusal, {"connectionType": connection})
    assert isinstance(explained, ConfigurationError)
    text = str(explained)
    assert "(403: Invalid access to Org: 3352391956719492): they are valid, but not for the workspace" in text
    assert f"Point {where} at the workspace they belong to, or {other_fix}." in text
    assert "expired" not in text and "Can Manage" not in text


@pytest.mark.parametrize(
    ("workspace_says", "reason"),
    [
        (INVALID_GIT_CREDENTIALS, "Invalid Git provider credentials"),
        (AZURE_AD_CREDENTIALS_MISSING, "Azure Active Directory credentials missing"),
        (
            "Encountered an error with your Azure Active Directory credentials. Please try logging out of Azure Active "
            "Directory (https://portal.azure.com) and logging back in.",
            "Encountered an error with your Azure Active Directory credentials",
        ),
    ],
)
def test_a_clone_without_git_credentials_says_to_add_one_not_to_grant_a_permission(
    workspace_says: str, reason: str
) -> None:
    refusal = PermissionDenied(workspace_says, error_code="PERMISSION_DENIED")
    err = _wrapped("Creating the Git folder /Repos/ci/x from https://dev.azure.com/o/p/_git/r failed", refusal)
    explained = explain_refusal(err, {"connectionType": "azureRM", "gitProvider": "azureDevOpsServices"})
    assert isinstance(explained, ConfigurationError)
    text = str(explained)
    assert text.startswith(
        f"Creating the Git folder /Repos/ci/x from https://dev.azure.com/o/p/_git/r failed: {reason} "
        "(403 PERMISSION_DENIED). The workspace clones and pulls as the identity of the Azure Resource Manager "
        "service connection of input 'azureSubscription', which has no working Git credential there for the "
        "repository's Git provider (azureDevOpsServices)."
    ), text
    assert (
        "databricks git-credentials create" in text and "Service principals > <the principal> > Git integration" in text
    )
    assert "Can Manage" not in text and "\n" not in text and "1. You have" not in text


def test_a_pull_refused_for_git_credentials_drops_the_branch_advice() -> None:
    """GitFolders.checkout adds "Check input 'branch'" to a refused update; for a Git credential that is misleading."""
    refusal = PermissionDenied(INVALID_GIT_CREDENTIALS, error_code="PERMISSION_DENIED")
    err = _wrapped("Cannot check out branch 'main' in /Repos/ci/x", refusal)
    err.message += ". Check input 'branch' (by default the branch being built) and that the branch exists in x."
    text = str(explain_refusal(err, {"connectionType": "databricks"}))
    assert text.startswith("Cannot check out branch 'main' in /Repos/ci/x: Invalid Git provider credentials (403")
    assert "Check input 'branch'" not in text and "Git provider." in text


def test_a_permission_refusal_still_names_the_permission() -> None:
    refusal = PermissionDenied("User does not have Manage permission on /Repos/ci", error_code="PERMISSION_DENIED")
    text = str(explain_refusal(refusal, {"connectionType": "databricks"}))
    assert "lacks a permission the step needs" in text and "Git credential" not in text
