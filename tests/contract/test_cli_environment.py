"""The step's connection as the Databricks CLI's environment (connect/cli_environment.py), from clients signed in to
the local workspace for real: a personal access token and an OAuth client go as the unified authentication variables
with the auth type named, anything else as the bearer token the step holds — which the workspace accepts; stray
credentials of the agent's environment are dropped, bundle settings kept."""

from __future__ import annotations

import requests
from databricks.sdk import WorkspaceClient

from dbcicd.connect.auth import workspace_client
from dbcicd.connect.cli_environment import bearer_token, cli_environment
from dbcicd.secrets import redact
from dbcicd_localworkspace import LocalWorkspaceServer

AGENT_ENV = {
    "PATH": "/usr/bin",
    "DATABRICKS_CONFIG_PROFILE": "other",
    "ARM_CLIENT_SECRET": "stray",
    "DATABRICKS_BUNDLE_ROOT": "/keep",
}


def test_a_personal_access_token_goes_as_databricks_token(local_workspace: LocalWorkspaceServer) -> None:
    endpoint = {"url": local_workspace.host, "scheme": "Token", "parameters": {"apitoken": local_workspace.token}}
    client = workspace_client({"connectionType": "databricks"}, {"databricksConnection": endpoint}, {}, environ={})
    env = cli_environment(client, AGENT_ENV)
    assert {k: v for k, v in env.items() if k.startswith(("DATABRICKS_", "ARM_"))} == {
        "DATABRICKS_HOST": local_workspace.host,
        "DATABRICKS_AUTH_TYPE": "pat",
        "DATABRICKS_TOKEN": local_workspace.token,
        "DATABRICKS_BUNDLE_ROOT": "/keep",
    }
    assert env["PATH"] == "/usr/bin"


def test_an_oauth_client_goes_as_its_id_and_secret(local_workspace: LocalWorkspaceServer) -> None:
    oauth = local_workspace.oauth
    parameters = {"clientId": oauth.client_id, "clientSecret": oauth.client_secret}
    endpoint = {"url": local_workspace.host, "scheme": "None", "parameters": parameters}
    client = workspace_client({"connectionType": "databricks"}, {"databricksConnection": endpoint}, {}, environ={})
    env = cli_environment(client, AGENT_ENV)
    assert env["DATABRICKS_AUTH_TYPE"] == "oauth-m2m"
    assert (env["DATABRICKS_CLIENT_ID"], env["DATABRICKS_CLIENT_SECRET"]) == (oauth.client_id, oauth.client_secret)
    assert "DATABRICKS_TOKEN" not in env and "ARM_CLIENT_SECRET" not in env


def test_the_bearer_token_a_client_holds_is_accepted_and_registered_as_a_secret(
    local_workspace: LocalWorkspaceServer,
) -> None:
    oauth = local_workspace.oauth
    client = WorkspaceClient(
        host=local_workspace.host, client_id=oauth.client_id, client_secret=oauth.client_secret, auth_type="oauth-m2m"
    )
    token = bearer_token(client)
    me = requests.get(
        f"{local_workspace.host}/api/2.0/preview/scim/v2/Me", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert me.status_code == 200
    assert token not in redact(f"token {token}")
