"""The workspace the contract suite talks to: the local workspace (the default) or a real Databricks workspace.

The same tests run against both. They take the host, the credentials, the compute and a Git URL from the `target`
fixture, never from the local workspace itself; what only the local workspace can do (fault injection, tenants,
its files on disk, Git remotes made on this machine) is marked `local_only` and skipped on a real workspace.

A real workspace is chosen with environment variables (README, Development: "The contract suite against a real
workspace"); `DBCICD_CONTRACT_HOST` unset starts a local workspace:

    DBCICD_CONTRACT_HOST           https://adb-<id>.<n>.azuredatabricks.net
    DBCICD_CONTRACT_TOKEN          a personal access token, or instead both of
    DBCICD_CONTRACT_CLIENT_ID      a service principal's OAuth client id (databricks-sdk unified authentication,
    DBCICD_CONTRACT_CLIENT_SECRET  auth type oauth-m2m) and one of its OAuth secrets
    DBCICD_CONTRACT_CLUSTER_ID     an existing cluster the tasks run on; unset: serverless compute
    DBCICD_CONTRACT_GIT_URL        an HTTPS Git URL the workspace can clone (its default branch is used)
    DBCICD_CONTRACT_GIT_PROVIDER   that URL's provider (gitHub, azureDevOpsServices, ...) when its host does not say
    DBCICD_CONTRACT_FOLDER         the workspace folder to work in (default /Users/<the identity>); each session
                                   works in a sub-folder of its own and deletes it at the end
    DBCICD_CONTRACT_CLI            the Databricks CLI test_bundle_cli.py runs (default: `databricks` on PATH)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from databricks.sdk import WorkspaceClient

ENV_PREFIX = "DBCICD_CONTRACT_"
# Every folder, job and run name the suite makes on a real workspace starts with this, so the session sweep can tell
# the suite's leftovers from anything else in a shared workspace.
NAME_PREFIX = "dbcicd-contract-"


@dataclass
class Target:
    """One workspace: where it is, how to sign in, what compute and Git URL its tests use."""

    kind: str  # "local" or "remote"
    host: str
    credentials: dict[str, str]  # databricks-sdk Config keywords: token, or client_id and client_secret
    cluster_id: str | None = None  # None: serverless compute
    git_url: str | None = None
    git_provider: str | None = None
    base_folder: str | None = None  # None: /Users/<the identity>
    session: str = field(default_factory=lambda: NAME_PREFIX + uuid.uuid4().hex[:8])
    _client: WorkspaceClient | None = field(default=None, repr=False)

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    def client(self) -> WorkspaceClient:
        """The real databricks-sdk client of this workspace, made once."""
        if self._client is None:
            auth_type = "pat" if "token" in self.credentials else "oauth-m2m"
            self._client = WorkspaceClient(host=self.host, auth_type=auth_type, **self.credentials)
        return self._client

    @property
    def token(self) -> str:
        """A bearer token for raw HTTP calls: the PAT, or an OAuth access token the SDK obtained (and refreshes)."""
        if "token" in self.credentials:
            return self.credentials["token"]
        header = self.client().config.authenticate()["Authorization"]
        return header.removeprefix("Bearer ")

    def environment(self) -> dict[str, str]:
        """DATABRICKS_* variables that sign the product's CLI in to this workspace, as a developer's shell has them."""
        names = {"token": "DATABRICKS_TOKEN", "client_id": "DATABRICKS_CLIENT_ID"}
        names["client_secret"] = "DATABRICKS_CLIENT_SECRET"
        return {"DATABRICKS_HOST": self.host, **{names[k]: v for k, v in self.credentials.items()}}

    def compute(self) -> dict[str, Any]:
        """Task fields that pick this target's compute: the existing cluster, or none (serverless)."""
        return {"existing_cluster_id": self.cluster_id} if self.cluster_id else {}

    @property
    def folder(self) -> str:
        """This session's own workspace folder (not yet created); the session sweep deletes it."""
        base = self.base_folder or f"/Users/{self.client().current_user.me().user_name}"
        return f"{base.rstrip('/')}/{self.session}"


def from_environment(environ: Mapping[str, str] = os.environ) -> Target | None:
    """The real workspace the variables name, or None when DBCICD_CONTRACT_HOST is unset (a local workspace then).

    Raises ValueError naming the variable when the description is incomplete, so a half-configured run fails at the
    start instead of skipping everything."""

    def get(name: str) -> str | None:
        value = (environ.get(ENV_PREFIX + name) or "").strip()
        # Azure Pipelines leaves the macro of a variable its group does not define as it is ("$(NAME)"; Microsoft
        # Learn, "Define variables", macro syntax): the pipeline maps every variable, so that means unset.
        return None if not value or value == f"$({ENV_PREFIX}{name})" else value

    host = get("HOST")
    if host is None:
        return None
    token, client_id, client_secret = get("TOKEN"), get("CLIENT_ID"), get("CLIENT_SECRET")
    if token and (client_id or client_secret):
        raise ValueError(f"set {ENV_PREFIX}TOKEN or {ENV_PREFIX}CLIENT_ID and {ENV_PREFIX}CLIENT_SECRET, not both")
    if token:
        credentials = {"token": token}
    elif client_id and client_secret:
        credentials = {"client_id": client_id, "client_secret": client_secret}
    else:
        raise ValueError(
            f"{ENV_PREFIX}HOST is set: also set {ENV_PREFIX}TOKEN (a personal access token) or "
            f"{ENV_PREFIX}CLIENT_ID and {ENV_PREFIX}CLIENT_SECRET (a service principal's OAuth secret)"
        )
    return Target(
        kind="remote",
        host=host.rstrip("/"),
        credentials=credentials,
        cluster_id=get("CLUSTER_ID"),
        git_url=get("GIT_URL"),
        git_provider=get("GIT_PROVIDER"),
        base_folder=get("FOLDER"),
    )
