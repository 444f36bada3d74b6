"""Git credentials API (`/api/2.0/git-credentials`) and private remotes, whose clone and pull need one.

A workspace clones and pulls a Git folder's remote with the calling identity's Git credential for the folder's
provider; without a working one a real workspace refuses the Repos call:
- `403 PERMISSION_DENIED` "Invalid Git provider credentials. Go to User Settings > Git Integration to ensure
  that: ..." (databricks/cli#1551: a service principal creating a Git folder of an Azure DevOps repository);
- for Azure DevOps with no credential at all, `403 PERMISSION_DENIED` "Azure Active Directory credentials
  missing. ..." (databricks/databricks-cli#404, on `repos update` with a personal access token).
Both bodies are recorded there with `error_code` PERMISSION_DENIED, which Databricks sends with HTTP 403 (its error
codes table; databricks-sdk maps both to PermissionDenied); no source records the answer for another provider with
no credential at all, so the local workspace gives it the first message.

Public remotes need no credential, as on Databricks. A remote is private once the local workspace is told so
(`mark_private`, a test hook: the local workspace cannot ask a Git server whether it wants credentials); a private
remote may also name the one personal access token it accepts, to model a wrong or expired one.

The API follows databricks-sdk 0.162 `service/workspace.py` (`GitCredentialsAPI`: create, get, list, update,
delete; `CredentialInfo` fields) and the API reference (docs.databricks.com/api/workspace/gitcredentials): "Each
user has one default credential per Git provider, which is used when no specific credential is selected", so a
user may hold several. The older rule, "Only one Git credential per user is supported, so any attempts to create
credentials if an entry already exists will fail" (the 2.0 API docs, kept in databricks-sdk-r's
`create_git_credential`), is gone from sdk 0.162's docstrings, as is any source for its error. Not settled by a
source, and chosen here: a user's first credential for a provider is its default, and a Git folder of that provider
uses the default (else any credential of that provider). Personal access tokens are never answered back (no
response model of the SDK has the field) and are kept in memory only: credentials do not survive a restart.
"""

from __future__ import annotations

import hmac
import itertools
import threading
from dataclasses import dataclass
from typing import Any

from ..http.errors import ApiError, invalid_parameter, not_found
from ..http.request import Request
from ..storage.git import mask_credentials
from .git_providers import canonical_provider

FIRST_CREDENTIAL_ID = 100_000_000_000_001
AZURE_DEVOPS = "azureDevOpsServices"

# databricks/cli#1551 (the message as recorded, its five points included).
INVALID_GIT_CREDENTIALS = (
    "Invalid Git provider credentials. Go to User Settings > Git Integration to ensure that:\n"
    "1. You have entered a username with your Git provider credentials.\n"
    "2. You have selected the correct Git provider with your credentials.\n"
    "3. Your personal access token or app password has the correct repo access.\n"
    "4. Your personal access token has not expired.\n"
    "5. If you have SSO enabled with your Git provider, be sure to authorize your token."
)
# databricks/databricks-cli#404.
AZURE_AD_CREDENTIALS_MISSING = (
    "Azure Active Directory credentials missing. Ensure you are either logged in with your Azure Active Directory "
    "account or have setup an Azure DevOps personal access token (PAT) in User Settings > Git Integration. If you are "
    "not using a PAT and are using Azure DevOps with the Repos API, you must use an AAD access token. See "
    "https://docs.microsoft.com/en-us/azure/databricks/dev-tools/api/latest/aad/app-aad-token for steps to acquire "
    "an AAD access token."
)


def git_credentials_refused(message: str) -> ApiError:
    return ApiError(403, "PERMISSION_DENIED", message)


@dataclass
class Credential:
    credential_id: int
    git_provider: str
    git_username: str | None
    git_email: str | None
    name: str | None
    is_default_for_provider: bool
    personal_access_token: str | None

    def info(self) -> dict[str, Any]:
        """As `CredentialInfo` / `GetCredentialsResponse`: everything but the token."""
        out: dict[str, Any] = {
            "credential_id": self.credential_id,
            "git_provider": self.git_provider,
            "is_default_for_provider": self.is_default_for_provider,
        }
        for key in ("git_username", "git_email", "name"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


class GitCredentials:
    """The Git credentials of the workspace's one identity, and the remotes that need one."""

    def __init__(self, principal_id: int) -> None:
        self._principal_id = principal_id
        self._lock = threading.Lock()
        self._credentials: dict[int, Credential] = {}
        self._ids = itertools.count(FIRST_CREDENTIAL_ID)
        self._private: dict[str, str | None] = {}  # remote key -> the one token it accepts (None: any)

    # --- handlers --------------------------------------------------------------------------------------------
    def create(self, req: Request) -> dict[str, Any]:
        self._check_principal(req.field("principal_id", int, None))
        provider = self._provider(req)
        with self._lock:
            first = not any(c.git_provider == provider for c in self._credentials.values())
            credential = Credential(
                credential_id=next(self._ids),
                git_provider=provider,
                git_username=req.field("git_username", str, None),
                git_email=req.field("git_email", str, None),
                name=req.field("name", str, None),
                is_default_for_provider=req.field("is_default_for_provider", bool, False) or first,
                personal_access_token=req.field("personal_access_token", str, None),
            )
            if credential.is_default_for_provider:
                self._clear_default(provider)
            self._credentials[credential.credential_id] = credential
            return credential.info()

    def get(self, req: Request) -> dict[str, Any]:
        self._check_principal(req.arg("principal_id", int, None))
        with self._lock:
            return self._require(req).info()

    def list(self, req: Request) -> dict[str, Any]:
        self._check_principal(req.arg("principal_id", int, None))
        with self._lock:
            return {"credentials": [c.info() for c in self._credentials.values()]}

    def update(self, req: Request) -> dict[str, Any]:
        self._check_principal(req.field("principal_id", int, None))
        provider = self._provider(req)
        with self._lock:
            credential = self._require(req)
            credential.git_provider = provider
            for key in ("git_username", "git_email", "name", "personal_access_token"):
                value = req.field(key, str, None)
                if value is not None:
                    setattr(credential, key, value)
            if req.field("is_default_for_provider", bool, False):
                self._clear_default(provider)
                credential.is_default_for_provider = True
            return {}

    def delete(self, req: Request) -> dict[str, Any]:
        self._check_principal(req.arg("principal_id", int, None))
        with self._lock:
            self._credentials.pop(self._require(req).credential_id)
        return {}

    # --- private remotes -------------------------------------------------------------------------------------
    def mark_private(self, url: str, accepted_token: str | None = None) -> None:
        """Make cloning and pulling `url` need a Git credential of its folder's provider (with `accepted_token`, that
        very personal access token)."""
        with self._lock:
            self._private[_remote_key(url)] = accepted_token

    def check_access(self, url: str, provider: str) -> None:
        """Refuse, as a workspace does, a clone or pull of a private remote without a working credential."""
        with self._lock:
            key = _remote_key(url)
            if key not in self._private:
                return
            accepted = self._private[key]
            mine = [c for c in self._credentials.values() if c.git_provider == provider]
            chosen = next((c for c in mine if c.is_default_for_provider), mine[0] if mine else None)
        if chosen is None and provider == AZURE_DEVOPS:
            raise git_credentials_refused(AZURE_AD_CREDENTIALS_MISSING)
        token = (chosen.personal_access_token or "") if chosen else ""
        if chosen is None or (accepted is not None and not hmac.compare_digest(token.encode(), accepted.encode())):
            raise git_credentials_refused(INVALID_GIT_CREDENTIALS)

    # --- internals -------------------------------------------------------------------------------------------
    def _check_principal(self, principal_id: int | None) -> None:
        if principal_id is not None and principal_id != self._principal_id:
            # Databricks lets a service principal's managers act for it; the local workspace has one identity.
            raise invalid_parameter(
                f"Invalid principal_id {principal_id}: the local workspace has one identity, id {self._principal_id}"
            )

    def _provider(self, req: Request) -> str:
        given = req.field("git_provider", str, "").strip()
        if not given:
            raise invalid_parameter("Missing required field: git_provider")
        return canonical_provider(given)

    def _require(self, req: Request) -> Credential:
        raw = req.params["credential_id"]
        found = self._credentials.get(int(raw)) if raw.isdigit() else None
        if found is None:
            raise not_found(f"Git credential {raw} does not exist")
        return found

    def _clear_default(self, provider: str) -> None:
        for other in self._credentials.values():
            if other.git_provider == provider:
                other.is_default_for_provider = False


def _remote_key(url: str) -> str:
    """A remote's URL as compared here: credentials masked, no trailing `/` or `.git`."""
    return mask_credentials(url.strip()).rstrip("/").removesuffix(".git")
