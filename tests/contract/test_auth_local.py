"""Signing in to the local workspace the ways a pipeline does: service connection, environment, workload identity.

Workload identity federation runs end to end against loopback fakes of Azure DevOps' ID token endpoint and the
Microsoft Entra ID token endpoint; the fake Entra issues the local workspace's own token.
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from contract_target import Target
from databricks.sdk.errors import NotFound

from dbcicd.connect import auth
from dbcicd.connect.auth import workspace_client
from dbcicd.connect.workload_identity import AZURE_DATABRICKS_SCOPE, JWT_BEARER, WORKLOAD_IDENTITY_AUTH_TYPE
from dbcicd.errors import ConfigurationError
from dbcicd_localworkspace import LocalWorkspaceServer
from dbcicd_localworkspace.services.compute import USER_NAME
from json_reply import send_json

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT_ID = "3f1c5a7e-0b9d-4e7a-9d2f-6c8e1b4a2d90"
CONNECTION_ID = "0d2a7c3e-5b1f-4a8e-9c6d-1e2f3a4b5c6d"
OIDC_PATH = "/org/project-id/_apis/distributedtask/hubs/build/plans/plan-id/jobs/job-id/oidctoken"


@dataclass
class Seen:
    """One request a fake received."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class FakeAzure:
    """Azure DevOps' ID token endpoint and Entra's token endpoint on one loopback server."""

    access_token: str  # the System.AccessToken Azure DevOps accepts
    workspace_token: str  # what Entra issues (the local workspace accepts it as a bearer token)
    url: str = ""
    expires_in: int = 3600
    entra_error: str | None = None  # an AADSTS message to refuse the exchange with
    issued: list[str] = field(default_factory=list)  # ID tokens handed out, in order
    seen: list[Seen] = field(default_factory=list)

    def answer(self, seen: Seen) -> tuple[int, dict[str, Any]]:
        self.seen.append(seen)
        if seen.path == OIDC_PATH:
            if seen.headers.get("authorization") != f"Bearer {self.access_token}":
                # Echo the credential, as a careless server might: the task must still not print it.
                return 401, {"message": f"Access denied for {seen.headers.get('authorization')}"}
            self.issued.append(f"eyJhbGciOiJSUzI1NiJ9.{secrets.token_urlsafe(48)}.sig")
            return 200, {"oidcToken": self.issued[-1]}
        if seen.path == f"/{TENANT}/oauth2/v2.0/token":
            if self.entra_error or not self.issued or seen.form.get("client_assertion") != self.issued[-1]:
                description = self.entra_error or "AADSTS50027: JWT token is invalid or malformed."
                return 400, {"error": "invalid_client", "error_description": description}
            body = {"token_type": "Bearer", "expires_in": self.expires_in, "access_token": self.workspace_token}
            return 200, body
        return 404, {"error": "not_found"}

    def requests_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]


@pytest.fixture
def fake_azure(local_workspace: LocalWorkspaceServer) -> Iterator[FakeAzure]:
    fake = FakeAzure(access_token="ado-" + secrets.token_hex(20), workspace_token=local_workspace.token)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            seen = Seen(
                url.path,
                {k: v[-1] for k, v in parse_qs(url.query).items()},
                {k.lower(): v for k, v in self.headers.items()},
                {k: v[-1] for k, v in parse_qs(body).items()},
            )
            status, answer = fake.answer(seen)
            send_json(self, status, answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


def wif_request(local_workspace: LocalWorkspaceServer, fake: FakeAzure) -> dict[str, Any]:
    """The task's request document for an Azure Resource Manager connection using workload identity federation."""
    return {
        "inputs": {"connectionType": "azureRM", "azureSubscription": "prod", "workspaceUrl": local_workspace.host},
        "endpoints": {
            "azureSubscription": {
                "id": CONNECTION_ID,
                "url": "https://management.azure.com/",
                "scheme": "WorkloadIdentityFederation",
                "parameters": {"serviceprincipalid": CLIENT_ID, "tenantid": TENANT},
                "data": {"environmentAuthorityUrl": fake.url + "/"},
            }
        },
        "variables": {"System.AccessToken": fake.access_token, "System.OidcRequestUri": fake.url + OIDC_PATH},
    }


def test_personal_access_token_from_databricks_service_connection(target: Target) -> None:
    """A `databricks` service connection with scheme Token signs in with its personal access token."""
    endpoint = {
        "url": f" {target.host}/ ",
        "scheme": "Token",
        "parameters": {"apitoken": target.token},
    }
    client = workspace_client({"connectionType": "databricks"}, {"databricksConnection": endpoint}, {}, environ={})
    assert client.current_user.me().user_name == USER_NAME
    assert client.config.auth_type == "pat"


def test_client_carries_the_product_user_agent(local_workspace: LocalWorkspaceServer) -> None:
    """Every request names dbcicd and its version in the User-Agent."""
    environ = local_workspace.environment()
    client = workspace_client({}, {}, {}, environ=environ)
    assert client.config.user_agent.startswith("dbcicd/")


def test_environment_variables_sign_in(local_workspace: LocalWorkspaceServer) -> None:
    """DATABRICKS_HOST and DATABRICKS_TOKEN (a variable group mapped with env:) are enough."""
    client = workspace_client({"connectionType": "environment"}, {}, {}, environ=local_workspace.environment())
    assert client.current_user.me().user_name == USER_NAME
    assert client.config.retry_timeout_seconds == auth.DEFAULT_RETRY_TIMEOUT_SECONDS


def test_oauth_machine_to_machine_from_databricks_service_connection(local_workspace: LocalWorkspaceServer) -> None:
    """A `databricks` service connection with clientId/clientSecret signs in through the workspace's OAuth M2M."""
    parameters = {"clientId": local_workspace.oauth.client_id, "clientSecret": local_workspace.oauth.client_secret}
    endpoint = {"url": local_workspace.host, "scheme": "None", "parameters": parameters}
    client = workspace_client({"connectionType": "databricks"}, {"databricksConnection": endpoint}, {}, environ={})
    assert client.current_user.me().user_name == USER_NAME
    assert client.config.auth_type == "oauth-m2m"


def test_wrong_oauth_secret_fails_while_building_the_client(local_workspace: LocalWorkspaceServer) -> None:
    """A refused OAuth secret is a configuration error at once, and the message does not contain the secret."""
    wrong = "dose" + secrets.token_hex(16)
    parameters = {"clientId": local_workspace.oauth.client_id, "clientSecret": wrong}
    endpoint = {"url": local_workspace.host, "scheme": "None", "parameters": parameters}
    with pytest.raises(ConfigurationError) as caught:
        workspace_client({"connectionType": "databricks"}, {"databricksConnection": endpoint}, {}, environ={})
    assert "invalid_client" in caught.value.message
    assert wrong not in caught.value.message


def test_local_token_endpoint_answers_like_an_oauth_server(local_workspace: LocalWorkspaceServer) -> None:
    """The local workspace's token endpoint speaks RFC 6749: discovery, grant checks, client authentication."""
    discovery = requests.get(f"{local_workspace.host}/oidc/.well-known/oauth-authorization-server", timeout=10)
    token_url = discovery.json()["token_endpoint"]
    oauth = local_workspace.oauth
    wrong_grant = requests.post(token_url, {"grant_type": "password"}, auth=(oauth.client_id, oauth.client_secret))
    wrong_secret = requests.post(token_url, {"grant_type": "client_credentials"}, auth=(oauth.client_id, "nope"))
    posted = requests.post(
        token_url,
        {"grant_type": "client_credentials", "client_id": oauth.client_id, "client_secret": oauth.client_secret},
    )
    assert (wrong_grant.status_code, wrong_grant.json()["error"]) == (400, "unsupported_grant_type")
    assert (wrong_secret.status_code, wrong_secret.json()["error"]) == (401, "invalid_client")
    assert posted.status_code == 200
    assert posted.json() | {"expires_in": 0} == {
        "access_token": local_workspace.token,
        "token_type": "Bearer",
        "expires_in": 0,
        "scope": "all-apis",
    }


def test_workload_identity_federation_end_to_end(local_workspace: LocalWorkspaceServer, fake_azure: FakeAzure) -> None:
    """An ID token from Azure DevOps, exchanged at Entra, signs in to the workspace."""
    doc = wif_request(local_workspace, fake_azure)
    client = workspace_client(doc["inputs"], doc["endpoints"], doc["variables"], environ={})
    assert client.current_user.me().user_name == USER_NAME
    assert client.config.auth_type == WORKLOAD_IDENTITY_AUTH_TYPE

    [ado] = fake_azure.requests_to(OIDC_PATH)
    assert ado.query == {"api-version": "7.1", "serviceConnectionId": CONNECTION_ID}
    assert ado.headers["authorization"] == f"Bearer {fake_azure.access_token}"
    [entra] = fake_azure.requests_to(f"/{TENANT}/oauth2/v2.0/token")
    assert entra.form == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "scope": AZURE_DATABRICKS_SCOPE,
        "client_assertion_type": JWT_BEARER,
        "client_assertion": fake_azure.issued[0],
    }


def test_workload_identity_refreshes_with_a_fresh_id_token(
    local_workspace: LocalWorkspaceServer, fake_azure: FakeAzure
) -> None:
    """An expiring Entra token is replaced before use, each time with a newly requested ID token."""
    fake_azure.expires_in = 1  # within the SDK's 40-second safety margin: every use needs a new token
    doc = wif_request(local_workspace, fake_azure)
    client = workspace_client(doc["inputs"], doc["endpoints"], doc["variables"], environ={})
    client.current_user.me()
    client.current_user.me()
    exchanges = fake_azure.requests_to(f"/{TENANT}/oauth2/v2.0/token")
    assert len(exchanges) >= 3
    assert [seen.form["client_assertion"] for seen in exchanges] == fake_azure.issued[: len(exchanges)]
    assert len(set(fake_azure.issued)) == len(fake_azure.issued)


def test_entra_refusal_is_a_configuration_error_without_secrets(
    local_workspace: LocalWorkspaceServer, fake_azure: FakeAzure
) -> None:
    """Entra's reason reaches the user; the access token and the ID token do not."""
    fake_azure.entra_error = "AADSTS700213: No matching federated identity record found for presented assertion."
    doc = wif_request(local_workspace, fake_azure)
    with pytest.raises(ConfigurationError) as caught:
        workspace_client(doc["inputs"], doc["endpoints"], doc["variables"], environ={})
    message = caught.value.message
    assert "AADSTS700213" in message and "federated credential" in message
    assert fake_azure.access_token not in message and fake_azure.issued[0] not in message


def test_azure_devops_refusal_masks_the_access_token(
    local_workspace: LocalWorkspaceServer, fake_azure: FakeAzure
) -> None:
    """A refused ID token request names the HTTP status; the System.AccessToken echoed back is masked."""
    doc = wif_request(local_workspace, fake_azure)
    fake_azure.access_token = "ado-" + secrets.token_hex(20)  # the task's token is no longer the accepted one
    with pytest.raises(ConfigurationError) as caught:
        workspace_client(doc["inputs"], doc["endpoints"], doc["variables"], environ={})
    sent = doc["variables"]["System.AccessToken"]
    assert "HTTP 401" in caught.value.message and "Access denied for Bearer ***" in caught.value.message
    assert sent not in caught.value.message


def test_sdk_debug_logging_never_shows_the_token(
    local_workspace: LocalWorkspaceServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With DEBUG logging and DATABRICKS_DEBUG_HEADERS=true, no log line carries the token, even in a URL."""
    monkeypatch.setenv("DATABRICKS_DEBUG_HEADERS", "true")
    caplog.set_level(logging.DEBUG)
    client = workspace_client({}, {}, {}, environ=local_workspace.environment())
    assert client.config.debug_headers is False
    client.current_user.me()
    with pytest.raises(NotFound):  # the URL and the error body logged at DEBUG both contain the token
        client.workspace.get_status(f"/Shared/{local_workspace.token}")
    assert "GET /api/2.0/preview/scim/v2/Me" in caplog.text  # the SDK did log its round trips
    assert "get-status?path=/Shared/***" in caplog.text
    assert local_workspace.token not in caplog.text


def test_unreachable_host_costs_the_probe_budget_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building a client for a dead host returns after the short probe, and API calls keep the full budget."""
    monkeypatch.setattr(auth, "FIRST_ANSWER_SECONDS", 1)
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        environ = {"DATABRICKS_HOST": f"http://127.0.0.1:{sock.getsockname()[1]}", "DATABRICKS_TOKEN": "dapi-x"}
        started = time.monotonic()
        client = workspace_client({}, {}, {}, environ=environ, retry_timeout=45)
    assert time.monotonic() - started < 5
    assert client.config.retry_timeout_seconds == 45
