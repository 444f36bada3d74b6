"""Databricks workload identity federation from Azure DevOps (`azure-devops-oidc`) against the local workspace.

The pipeline's ID token comes from an emulated Azure DevOps ID token service (tools/azdo_idtokens.py) and is
exchanged at the local workspace's token endpoint under a service principal federation policy.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config

from azdo_idtokens import AZURE_DEVOPS_AUDIENCE, IdTokenService
from dbcicd.connect.auth import workspace_client
from dbcicd.errors import EXIT_USAGE, ConfigurationError
from dbcicd_localworkspace import LocalWorkspaceServer
from dbcicd_localworkspace.http.tenants import Tenant
from dbcicd_localworkspace.services.compute import USER_NAME
from dbcicd_localworkspace.services.federation import FederationPolicy
from dbcicd_localworkspace.services.oauth import TOKEN_EXCHANGE
from localagent import step_variables

JWT = "urn:ietf:params:oauth:token-type:jwt"


@pytest.fixture
def id_tokens() -> Iterator[IdTokenService]:
    with IdTokenService(access_token="azdo-" + secrets.token_hex(16)) as service:
        yield service


@pytest.fixture
def federated(local_workspace: LocalWorkspaceServer, isolated_workspace: Tenant, id_tokens: IdTokenService) -> Tenant:
    """A tenant whose service principal trusts this pipeline's ID tokens (the policy Databricks' docs give)."""
    policy = FederationPolicy(id_tokens.issuer, id_tokens.pipeline_subject, (AZURE_DEVOPS_AUDIENCE,))
    local_workspace.oidc.add_federation_policy(isolated_workspace.oauth, policy)
    return isolated_workspace


def job(id_tokens: IdTokenService, tenant: Tenant) -> tuple[dict[str, str], dict[str, str]]:
    """(environment, pipeline variables) of a step signing in with azure-devops-oidc, as a pipeline sets them."""
    predefined = step_variables("1", *(["/nonexistent"] * 3))  # type: ignore[arg-type]
    variables = {**predefined, **id_tokens.job_variables(predefined), "System.AccessToken": id_tokens.access_token}
    environ = {
        "DATABRICKS_HOST": tenant.host,
        "DATABRICKS_AUTH_TYPE": "azure-devops-oidc",
        "DATABRICKS_CLIENT_ID": tenant.oauth.client_id,
    }
    return environ, variables


def exchange(tenant: Tenant, token: str, **form: str) -> requests.Response:
    body = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": token,
        "subject_token_type": JWT,
        "scope": "all-apis",
        "client_id": tenant.oauth.client_id,
        **form,
    }
    return requests.post(f"{tenant.host}/oidc/v1/token", data=body, timeout=10)


def test_product_signs_in_with_azure_devops_oidc(federated: Tenant, id_tokens: IdTokenService) -> None:
    """DATABRICKS_AUTH_TYPE=azure-devops-oidc: the job's ID token is exchanged for the service principal's token."""
    environ, variables = job(id_tokens, federated)
    client = workspace_client({"connectionType": "environment"}, {}, variables, environ=environ)
    assert client.current_user.me().user_name == USER_NAME
    assert client.config.auth_type == "azure-devops-oidc"
    assert id_tokens.requests[0].path == urlpath(variables["System.OidcRequestUri"])
    assert id_tokens.requests[0].authorization == f"Bearer {id_tokens.access_token}"
    assert "serviceConnectionId" not in id_tokens.requests[0].query  # the pipeline's own token: subject p://...


def test_databricks_sdk_own_strategy_signs_in(
    federated: Tenant, id_tokens: IdTokenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """databricks-sdk's azure-devops-oidc, reading SYSTEM_* from the environment, signs in the same way: the local
    workspace answers what the SDK itself sends (the URL it builds, api-version 7.2-preview.1, the exchange form)."""
    environ, variables = job(id_tokens, federated)
    for name in ("System.TeamFoundationCollectionUri", "System.TeamProjectId", "System.PlanId", "System.JobId"):
        monkeypatch.setenv(name.upper().replace(".", "_"), variables[name])
    monkeypatch.setenv("SYSTEM_HOSTTYPE", variables["System.HostType"])
    monkeypatch.setenv("SYSTEM_ACCESSTOKEN", id_tokens.access_token)
    config = Config(
        host=environ["DATABRICKS_HOST"], client_id=environ["DATABRICKS_CLIENT_ID"], auth_type="azure-devops-oidc"
    )
    assert WorkspaceClient(config=config).current_user.me().user_name == USER_NAME
    assert id_tokens.requests[0].query == {"api-version": "7.2-preview.1"}
    assert id_tokens.requests[0].path == urlpath(variables["System.OidcRequestUri"])


def test_discovery_lists_token_exchange(local_workspace: LocalWorkspaceServer) -> None:
    """The authorization server metadata names the grant (RFC 8414 grant_types_supported)."""
    answer = requests.get(f"{local_workspace.host}/oidc/.well-known/oauth-authorization-server", timeout=10).json()
    assert TOKEN_EXCHANGE in answer["grant_types_supported"]


def test_exchange_answers_the_service_principal_token(federated: Tenant, id_tokens: IdTokenService) -> None:
    """A token the policy trusts gets the service principal's bearer token, RFC 6749 shaped."""
    answer = exchange(federated, id_tokens.sign(id_tokens.claims()))
    assert answer.status_code == 200, answer.text
    assert answer.json() | {"expires_in": 0} == {
        "access_token": federated.token,
        "token_type": "Bearer",
        "expires_in": 0,
        "scope": "all-apis",
    }


REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    ("wrong issuer", {"iss": "https://vstoken.dev.azure.com/00000000-0000-0000-0000-000000000000"}, "issuer"),
    ("wrong subject", {"sub": "p://example/example/another-pipeline"}, "subject (sub) 'p://example/example/another"),
    ("wrong audience", {"aud": "https://example.com"}, "audience ['https://example.com'] matches none"),
    ("expired", {"exp": 1_000_000_000, "iat": 999_999_000, "nbf": 999_999_000}, "the token expired"),
    ("not yet valid", {"nbf": 4_000_000_000, "exp": 4_000_000_600}, "not valid yet"),
]


@pytest.mark.parametrize(("claims", "reason"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_exchange_refuses_tokens_the_policy_does_not_trust(
    federated: Tenant, id_tokens: IdTokenService, claims: dict[str, Any], reason: str
) -> None:
    """Issuer, subject, audience and lifetime are each checked: 400 invalid_request (RFC 8693 2.2.2), saying which."""
    answer = exchange(federated, id_tokens.sign(id_tokens.claims(**claims)))
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
    assert reason in answer.json()["error_description"]


def test_exchange_refuses_a_forged_signature(federated: Tenant, id_tokens: IdTokenService) -> None:
    """Right claims signed by another key (or with a key id the issuer does not publish) are refused."""
    with IdTokenService(access_token="x", organization_id=id_tokens.organization_id) as forger:
        forged = forger.sign(id_tokens.claims(), key_id=id_tokens.key_id)
        unknown_key = forger.sign(id_tokens.claims())
    assert "signature does not verify" in exchange(federated, forged).json()["error_description"]
    assert "no RSA key with the token's key id" in exchange(federated, unknown_key).json()["error_description"]
    header, payload, _ = id_tokens.sign(id_tokens.claims()).split(".")
    unsigned = exchange(federated, f"{header}.{payload}.")
    assert unsigned.status_code == 400 and "signature does not verify" in unsigned.json()["error_description"]


def test_exchange_refuses_malformed_requests(federated: Tenant, id_tokens: IdTokenService) -> None:
    """Wrong token type, a non-JWT, no policy, an unknown client and no client id each get a precise answer."""
    token = id_tokens.sign(id_tokens.claims())
    wrong_type = exchange(federated, token, subject_token_type="urn:ietf:params:oauth:token-type:access_token")
    assert (wrong_type.status_code, wrong_type.json()["error"]) == (400, "invalid_request")
    assert "subject_token_type must be" in wrong_type.json()["error_description"]
    assert "not a JWT" in exchange(federated, "not-a-jwt").json()["error_description"]
    unknown = exchange(federated, token, client_id=str(uuid.uuid4()))
    assert (unknown.status_code, unknown.json()["error"]) == (401, "invalid_client")
    assert "client_id is required" in exchange(federated, token, client_id="").json()["error_description"]


def test_service_principal_without_policy_is_refused(isolated_workspace: Tenant, id_tokens: IdTokenService) -> None:
    """A service principal that trusts no issuer cannot be signed in to with an ID token."""
    answer = exchange(isolated_workspace, id_tokens.sign(id_tokens.claims()))
    assert answer.status_code == 400 and "has no federation policy" in answer.json()["error_description"]


def test_policy_with_inline_keys_and_default_audience(
    local_workspace: LocalWorkspaceServer, isolated_workspace: Tenant, id_tokens: IdTokenService
) -> None:
    """`jwks_json` replaces the issuer's published keys; without `audiences` the account id is the audience."""
    from dbcicd_localworkspace.services.compute import ACCOUNT_ID

    policy = FederationPolicy.parse(
        {
            "oidc_policy": {
                "issuer": "https://idp.example.com",
                "subject": "svc",
                "jwks_json": json.dumps(id_tokens.jwks()),
            }
        }
    )
    local_workspace.oidc.add_federation_policy(isolated_workspace.oauth, policy)
    claims = id_tokens.claims("svc", iss="https://idp.example.com", aud=ACCOUNT_ID)
    answer = exchange(isolated_workspace, id_tokens.sign(claims))
    assert answer.status_code == 200, answer.text
    other_audience = exchange(isolated_workspace, id_tokens.sign({**claims, "aud": AZURE_DEVOPS_AUDIENCE}))
    assert other_audience.status_code == 400


def test_refused_exchange_is_a_configuration_error_without_secrets(
    local_workspace: LocalWorkspaceServer, isolated_workspace: Tenant, id_tokens: IdTokenService
) -> None:
    """A pipeline the policy does not name fails at sign-in with the workspace's reason; no token is shown."""
    policy = FederationPolicy(id_tokens.issuer, "p://example/example/release", (AZURE_DEVOPS_AUDIENCE,))
    local_workspace.oidc.add_federation_policy(isolated_workspace.oauth, policy)
    environ, variables = job(id_tokens, isolated_workspace)
    with pytest.raises(ConfigurationError) as caught:
        workspace_client({"connectionType": "environment"}, {}, variables, environ=environ)
    message = caught.value.message
    assert "invalid_request" in message and "p://example/example/ci" in message
    # The product's own advice, whatever a workspace's wording: the values the policy must hold.
    assert f"issuer '{id_tokens.issuer}', subject 'p://example/example/ci', audience 'api://AzureADTokenExchange'" in (
        message
    )
    assert f"Service principal {isolated_workspace.oauth.client_id} needs a federation policy" in message
    assert id_tokens.access_token not in message and id_tokens.issued[0] not in message


def test_policy_json_is_checked() -> None:
    """The policy JSON (`local serve --federation-policy`) is refused with the field at fault."""
    with pytest.raises(ValueError, match="needs 'subject'"):
        FederationPolicy.parse({"issuer": "https://x"})
    with pytest.raises(ValueError, match="unknown federation policy field"):
        FederationPolicy.parse({"issuer": "https://x", "subject": "s", "audience": ["a"]})


def urlpath(url: str) -> str:
    return requests.utils.urlparse(url).path


def test_local_serve_takes_a_federation_policy(id_tokens: IdTokenService) -> None:
    """`dbcicd local serve --federation-policy` prints the service principal's client id, which signs in with an ID
    token the policy trusts; a policy that is not valid is a usage error naming the option."""
    policy = {"issuer": id_tokens.issuer, "subject": id_tokens.pipeline_subject, "audiences": [AZURE_DEVOPS_AUDIENCE]}
    command = [sys.executable, "-m", "dbcicd", "local", "serve", "--federation-policy", json.dumps(policy)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        printed = dict(process.stdout.readline().strip().split("=", 1) for _ in range(3))
        answer = requests.post(
            f"{printed['DATABRICKS_HOST']}/oidc/v1/token",
            data={
                "grant_type": TOKEN_EXCHANGE,
                "subject_token": id_tokens.sign(id_tokens.claims()),
                "subject_token_type": JWT,
                "client_id": printed["DATABRICKS_CLIENT_ID"],
            },
            timeout=10,
        )
        assert answer.json().get("access_token") == printed["DATABRICKS_TOKEN"], answer.text
    finally:
        process.terminate()
        process.communicate(timeout=30)
    bad = subprocess.run([*command[:-1], '{"issuer": "x"}'], capture_output=True, text=True, timeout=60)
    assert bad.returncode == EXIT_USAGE
    assert "--federation-policy" in bad.stderr and "needs 'subject'" in bad.stderr


def test_env_oidc_signs_in_with_a_token_from_the_environment(
    federated: Tenant, id_tokens: IdTokenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DATABRICKS_AUTH_TYPE=env-oidc (an ID token in DATABRICKS_OIDC_TOKEN, the alternative Databricks' docs give for
    Azure DevOps) goes through the same token exchange."""
    monkeypatch.setenv("DATABRICKS_OIDC_TOKEN", id_tokens.sign(id_tokens.claims()))
    environ = {"DATABRICKS_HOST": federated.host, "DATABRICKS_AUTH_TYPE": "env-oidc"}
    environ["DATABRICKS_CLIENT_ID"] = federated.oauth.client_id
    client = workspace_client({"connectionType": "environment"}, {}, {}, environ=environ)
    assert client.current_user.me().user_name == USER_NAME
    assert client.config.auth_type == "env-oidc"
