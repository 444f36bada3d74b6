"""The step's credentials, handed to the Databricks CLI through its environment and never its arguments.

The CLI signs in as every Databricks SDK does ("unified authentication", docs.databricks.com/dev-tools/auth/
env-vars): DATABRICKS_HOST and DATABRICKS_AUTH_TYPE, with DATABRICKS_TOKEN for `pat`, DATABRICKS_CLIENT_ID and
DATABRICKS_CLIENT_SECRET for `oauth-m2m`, ARM_CLIENT_ID, ARM_CLIENT_SECRET, ARM_TENANT_ID (and
DATABRICKS_AZURE_RESOURCE_ID) for `azure-client-secret`. Naming the auth type keeps a profile in ~/.databrickscfg or
stray DATABRICKS_* variables of the agent from adding a second method ("more than one authorization method
configured"). A connection with no variables of its own — workload identity federation, which dbcicd exchanges
itself — gives the CLI the access token the step holds, as a bearer token (`pat`): Databricks OAuth tokens are
accepted wherever a personal access token is (docs.databricks.com/dev-tools/auth/oauth-m2m, "manually generate and
use access tokens"); it lasts about an hour, longer than a bundle command takes.
"""

from __future__ import annotations

from collections.abc import Mapping

from databricks.sdk import WorkspaceClient

from ..secrets import register_secret

# Variables of the agent's environment that would sign the CLI in some other way: dropped, the step's own set.
_SIGN_IN_PREFIXES = ("DATABRICKS_", "ARM_", "AZURE_")
_KEPT = ("DATABRICKS_BUNDLE_", "DATABRICKS_CLI_")  # not credentials: bundle and CLI settings the user set


def cli_environment(client: WorkspaceClient, base: Mapping[str, str]) -> dict[str, str]:
    """`base` without other credentials, plus the step's connection as the CLI's unified authentication reads it."""
    config = client.config
    env = {k: v for k, v in base.items() if not k.startswith(_SIGN_IN_PREFIXES) or k.startswith(_KEPT)}
    env["DATABRICKS_HOST"] = config.host or ""
    kind = config.auth_type
    if kind == "pat" and config.token:
        env.update(DATABRICKS_AUTH_TYPE="pat", DATABRICKS_TOKEN=config.token)
    elif kind == "oauth-m2m" and config.client_id and config.client_secret:
        env.update(
            DATABRICKS_AUTH_TYPE="oauth-m2m",
            DATABRICKS_CLIENT_ID=config.client_id,
            DATABRICKS_CLIENT_SECRET=config.client_secret,
        )
    elif kind == "azure-client-secret" and config.azure_client_secret:
        env.update(
            DATABRICKS_AUTH_TYPE="azure-client-secret",
            ARM_CLIENT_ID=config.azure_client_id or "",
            ARM_CLIENT_SECRET=config.azure_client_secret,
            ARM_TENANT_ID=config.azure_tenant_id or "",
        )
        if config.azure_workspace_resource_id:
            env["DATABRICKS_AZURE_RESOURCE_ID"] = config.azure_workspace_resource_id
    else:
        env.update(DATABRICKS_AUTH_TYPE="pat", DATABRICKS_TOKEN=bearer_token(client))
    return env


def bearer_token(client: WorkspaceClient) -> str:
    """The access token the step's client sends now (registered as a secret, like every token it sends)."""
    header = client.config.authenticate().get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ValueError(f"the connection signs in with {scheme or 'no'} authorization, not a bearer token")
    return register_secret(token) or token
