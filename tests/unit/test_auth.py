"""Choosing how to sign in, before any network access: host URLs, schemes, the environment, the error texts."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from databricks.sdk.config import Config

from dbcicd.connect.auth import (
    CONNECTION_HELP,
    Connection,
    normalize_host,
    pipeline_environment,
    resolve_connection,
)
from dbcicd.connect.workload_identity import WORKLOAD_IDENTITY_AUTH_TYPE
from dbcicd.errors import ConfigurationError
from dbcicd.secrets import MASK, redact

AZURE_HOST = "https://adb-1234567890123456.7.azuredatabricks.net"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SP = "3f1c5a7e-0b9d-4e7a-9d2f-6c8e1b4a2d90"
PIPELINE_VARIABLES = {
    "System.AccessToken": "ado-token-0123456789",
    "System.OidcRequestUri": "https://dev.azure.com/org/p/_apis/distributedtask/hubs/build/plans/x/jobs/y/oidctoken",
}


def credential(prefix: str = "dapi") -> str:
    return prefix + secrets.token_hex(16)


def databricks(parameters: dict[str, str], scheme: str = "Token", url: str = AZURE_HOST) -> Connection:
    endpoint = {"url": url, "scheme": scheme, "parameters": parameters}
    return resolve_connection({"connectionType": "databricks"}, {"databricksConnection": endpoint}, {}, {})


def azure_rm(scheme: str, parameters: dict[str, str], **extra: Any) -> Connection:
    inputs = {"connectionType": "azureRM", "workspaceUrl": extra.pop("workspace_url", AZURE_HOST)}
    inputs.update(extra.pop("inputs", {}))
    endpoint = {"id": "0d2a7c3e-5b1f-4a8e-9c6d-1e2f3a4b5c6d", "scheme": scheme, "parameters": parameters, **extra}
    return resolve_connection(inputs, {"azureSubscription": endpoint}, PIPELINE_VARIABLES, {})


# --- host normalisation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "host"),
    [
        ("adb-1234567890123456.7.azuredatabricks.net", AZURE_HOST),
        ("  https://adb-1234567890123456.7.azuredatabricks.net/  ", AZURE_HOST),
        ("https://ADB-1234567890123456.7.AzureDatabricks.net/?o=1234567890123456#job/1", AZURE_HOST),
        ("https://dbc-a1b2c3d4-e5f6.cloud.databricks.com/login.html", "https://dbc-a1b2c3d4-e5f6.cloud.databricks.com"),
        ("https://example.cloud.databricks.com:443/", "https://example.cloud.databricks.com"),
        ("https://example.cloud.databricks.com:8443", "https://example.cloud.databricks.com:8443"),
        ("http://127.0.0.1:8765/", "http://127.0.0.1:8765"),
        ("http://localhost:8765", "http://localhost:8765"),
        ("https://10.0.0.4", "https://10.0.0.4"),
    ],
)
def test_host_is_normalised(typed: str, host: str) -> None:
    """Scheme added, case folded, whitespace, trailing slash, path, query and default port removed."""
    assert normalize_host(typed, "Input 'workspaceUrl'") == host


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("http://adb-1.2.azuredatabricks.net", "plain http:// is only accepted for a local workspace"),
        ("ftp://adb-1.2.azuredatabricks.net", "the scheme must be https://"),
        ("https://", "no valid host name"),
        ("https://adb 1.azuredatabricks.net", "no valid host name"),
        ("https://adb_1.azuredatabricks.net", "no valid host name"),
        ("https://host.example.com:99999", "cannot be parsed"),
        ("https://host.example.com:0", "the port must be"),
        ("https://[::1", "cannot be parsed"),
    ],
)
def test_malformed_host_names_the_input(typed: str, reason: str) -> None:
    """A URL that is not a workspace URL is refused with the input's name, the reason and an example."""
    with pytest.raises(ConfigurationError) as caught:
        normalize_host(typed, "Input 'workspaceUrl'")
    assert caught.value.message.startswith("Input 'workspaceUrl'")
    assert reason in caught.value.message
    assert "https://adb-" in caught.value.message


def test_host_with_credentials_is_refused_without_echoing_them() -> None:
    """user:secret@host is refused, and the error does not repeat the secret."""
    secret = credential()
    with pytest.raises(ConfigurationError) as caught:
        normalize_host(f"https://token:{secret}@{AZURE_HOST[8:]}", "Input 'workspaceUrl'")
    assert "must not contain user credentials" in caught.value.message
    assert secret not in caught.value.message


# --- databricks service connection ---------------------------------------------------------------------------


def test_token_scheme_is_a_personal_access_token() -> None:
    """Scheme Token with apitoken becomes auth_type pat on the normalised host."""
    token = credential()
    connection = databricks({"apitoken": token}, url=AZURE_HOST + "/")
    assert connection.settings == {"host": AZURE_HOST, "token": token, "auth_type": "pat"}
    assert connection.strategy is None


def test_client_id_and_secret_are_oauth_machine_to_machine() -> None:
    """Parameters clientId/clientSecret (matched case-insensitively) become auth_type oauth-m2m."""
    secret = credential("dose")
    connection = databricks({"CLIENTID": SP, "clientsecret": secret}, scheme="None")
    assert connection.settings == {
        "host": AZURE_HOST,
        "client_id": SP,
        "client_secret": secret,
        "auth_type": "oauth-m2m",
    }


def test_token_scheme_without_token_is_refused() -> None:
    """Scheme Token with an empty apitoken says which parameter is missing."""
    with pytest.raises(ConfigurationError, match="no personal access token \\(parameter apitoken\\)"):
        databricks({"apitoken": ""})


def test_scheme_without_credentials_lists_what_is_expected() -> None:
    """A connection with neither a token nor a client id/secret names both accepted forms."""
    with pytest.raises(ConfigurationError) as caught:
        databricks({"username": "x"}, scheme="UsernamePassword")
    assert "scheme 'UsernamePassword'" in caught.value.message
    assert "apitoken" in caught.value.message and "clientId and clientSecret" in caught.value.message


def test_credentials_are_registered_the_moment_they_are_read() -> None:
    """The token is masked in any later output, even when the connection is then refused."""
    token = credential()
    with pytest.raises(ConfigurationError):
        databricks({"apitoken": token}, url="http://not-loopback.example.com")
    assert redact(f"token {token}") == f"token {MASK}"


# --- Azure Resource Manager service connection -------------------------------------------------------------


def test_service_principal_scheme_uses_azure_client_secret() -> None:
    """Scheme ServicePrincipal maps to databricks-sdk's azure-client-secret, with the optional resource id."""
    key = credential("spkey")
    resource = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Databricks/workspaces/w"
    connection = azure_rm(
        "ServicePrincipal",
        {"serviceprincipalid": SP, "serviceprincipalkey": key, "tenantid": TENANT},
        inputs={"workspaceResourceId": resource},
    )
    assert connection.settings == {
        "host": AZURE_HOST,
        "azure_client_id": SP,
        "azure_client_secret": key,
        "azure_tenant_id": TENANT,
        "auth_type": "azure-client-secret",
        "azure_workspace_resource_id": resource,
    }
    assert redact(key) == MASK


def test_certificate_service_principal_is_refused() -> None:
    """A service principal without a key (certificate-based) gets a message naming the alternatives."""
    with pytest.raises(ConfigurationError, match="certificate-based service principals are not supported"):
        azure_rm("ServicePrincipal", {"serviceprincipalid": SP, "tenantid": TENANT, "authenticationType": "spnCert"})


def test_workload_identity_scheme_uses_our_strategy() -> None:
    """Scheme WorkloadIdentityFederation signs in through the Entra federation strategy; System.AccessToken is
    registered as a secret."""
    connection = azure_rm("WorkloadIdentityFederation", {"serviceprincipalid": SP, "tenantid": TENANT})
    assert connection.settings == {"host": AZURE_HOST, "auth_type": WORKLOAD_IDENTITY_AUTH_TYPE}
    assert connection.strategy is not None and connection.strategy.auth_type() == WORKLOAD_IDENTITY_AUTH_TYPE
    assert redact(PIPELINE_VARIABLES["System.AccessToken"]) == MASK


def test_workload_identity_needs_the_pipeline_variables() -> None:
    """Without System.AccessToken/System.OidcRequestUri (outside a pipeline) the error names both."""
    endpoint = {
        "id": "c",
        "scheme": "WorkloadIdentityFederation",
        "parameters": {"serviceprincipalid": SP, "tenantid": TENANT},
    }
    inputs = {"connectionType": "azureRM", "workspaceUrl": AZURE_HOST}
    with pytest.raises(ConfigurationError, match=r"System\.AccessToken and System\.OidcRequestUri"):
        resolve_connection(inputs, {"azureSubscription": endpoint}, {}, {})


def test_workload_identity_needs_the_connection_id() -> None:
    """The ID token is requested for one service connection, so the endpoint must carry its id."""
    with pytest.raises(ConfigurationError, match="has no id"):
        azure_rm("WorkloadIdentityFederation", {"serviceprincipalid": SP, "tenantid": TENANT}, id="")


def test_workload_identity_authority_must_be_a_valid_url() -> None:
    """A malformed environmentAuthorityUrl is refused naming the data parameter."""
    with pytest.raises(ConfigurationError, match="data parameter environmentAuthorityUrl"):
        azure_rm(
            "WorkloadIdentityFederation",
            {"serviceprincipalid": SP, "tenantid": TENANT},
            data={"environmentAuthorityUrl": "http://login.example.com/"},
        )


@pytest.mark.parametrize(
    ("scheme", "parameters", "message"),
    [
        ("ManagedServiceIdentity", {"serviceprincipalid": SP, "tenantid": TENANT}, "supported are Workload"),
        ("ServicePrincipal", {"tenantid": TENANT}, "no authorization parameter 'serviceprincipalid'"),
        ("ServicePrincipal", {"serviceprincipalid": SP}, "no authorization parameter 'tenantid'"),
        ("ServicePrincipal", {"serviceprincipalid": SP, "tenantid": "x/../y"}, "invalid tenant id"),
    ],
)
def test_azure_connection_problems_are_named(scheme: str, parameters: dict[str, str], message: str) -> None:
    """Unsupported schemes and missing or malformed parameters each get their own message."""
    with pytest.raises(ConfigurationError, match=message):
        azure_rm(scheme, parameters)


def test_azure_connection_needs_the_workspace_url() -> None:
    """connectionType azureRM without workspaceUrl names the input and shows an example."""
    with pytest.raises(ConfigurationError, match=r"Input 'workspaceUrl' is required.*https://adb-"):
        azure_rm("ServicePrincipal", {"serviceprincipalid": SP, "tenantid": TENANT}, workspace_url=" ")


# --- the environment ------------------------------------------------------------------------------------------


def test_environment_is_the_default_and_reads_unified_auth_variables() -> None:
    """Without connectionType, DATABRICKS_* variables become SDK settings; secrets are registered, the host is
    normalised and DATABRICKS_DEBUG_HEADERS is ignored."""
    token = credential()
    environ = {"DATABRICKS_HOST": "adb-1234567890123456.7.azuredatabricks.net/", "DATABRICKS_TOKEN": token}
    environ |= {"DATABRICKS_DEBUG_HEADERS": "true", "DATABRICKS_CLUSTER_ID": "0123-456789-abc"}
    connection = resolve_connection({}, {}, {}, environ)
    assert connection.settings == {"host": AZURE_HOST, "token": token, "cluster_id": "0123-456789-abc"}
    assert connection.strategy is None
    assert redact(token) == MASK


def test_environment_passes_azure_and_oauth_variables_through() -> None:
    """ARM_* and DATABRICKS_CLIENT_* variables map to the SDK's own settings."""
    secret = credential("arm")
    environ = {"DATABRICKS_HOST": AZURE_HOST, "ARM_CLIENT_ID": SP, "ARM_CLIENT_SECRET": secret, "ARM_TENANT_ID": TENANT}
    connection = resolve_connection({"connectionType": "environment"}, {}, {}, environ)
    assert connection.settings == {
        "host": AZURE_HOST,
        "azure_client_id": SP,
        "azure_client_secret": secret,
        "azure_tenant_id": TENANT,
    }


def test_environment_azure_devops_oidc_reads_pipeline_variables() -> None:
    """DATABRICKS_AUTH_TYPE=azure-devops-oidc uses the System.* variables the task passes, not os.environ."""
    environ = {"DATABRICKS_HOST": AZURE_HOST, "DATABRICKS_CLIENT_ID": SP, "DATABRICKS_AUTH_TYPE": "azure-devops-oidc"}
    connection = resolve_connection({}, {}, PIPELINE_VARIABLES, environ)
    assert connection.strategy is not None and connection.strategy.auth_type() == "azure-devops-oidc"
    assert redact(PIPELINE_VARIABLES["System.AccessToken"]) == MASK


def test_pipeline_variables_get_environment_names_and_environ_wins() -> None:
    """System.AccessToken is SYSTEM_ACCESSTOKEN; a value mapped explicitly into the environment takes precedence."""
    merged = pipeline_environment({"SYSTEM_JOBID": "from-env"}, {"System.AccessToken": "t", "System.JobId": "var"})
    assert merged == {"SYSTEM_ACCESSTOKEN": "t", "SYSTEM_JOBID": "from-env"}


def test_every_sensitive_sdk_setting_is_registered() -> None:
    """Each databricks-sdk attribute marked sensitive is masked once read from the environment."""
    sensitive = [attr for attr in Config.attributes() if attr.sensitive and attr.env]
    environ = {"DATABRICKS_HOST": AZURE_HOST} | {attr.env: credential(attr.name) for attr in sensitive}
    resolve_connection({}, {}, {}, environ)
    assert sensitive and all(redact(environ[attr.env]) == MASK for attr in sensitive)


# --- nothing configured, and the other inputs -------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "endpoints", "first_line"),
    [
        ({}, {}, "No Databricks workspace is configured (DATABRICKS_HOST is not set)."),
        (
            {"connectionType": "databricks"},
            {},
            "Input 'connectionType' is 'databricks' but input 'databricksConnection' names no service connection.",
        ),
        (
            {"connectionType": "azureRM"},
            {"azureSubscription": {}},
            "Input 'connectionType' is 'azureRM' but input 'azureSubscription' names no service connection.",
        ),
    ],
)
def test_nothing_configured_lists_the_three_ways(inputs: dict[str, str], endpoints: dict, first_line: str) -> None:
    """One error: what is missing, then the three ways to connect, each with an example."""
    with pytest.raises(ConfigurationError) as caught:
        resolve_connection(inputs, endpoints, {}, {})
    assert caught.value.message == f"{first_line}\n{CONNECTION_HELP}"


def test_connection_help_shows_each_way_with_an_example() -> None:
    """The help names each input and variable a user must set, with sample values."""
    for text in (
        "connectionType: databricks",
        "databricksConnection: my-databricks-connection",
        "connectionType: azureRM",
        "azureSubscription: my-azure-connection",
        "workspaceUrl: https://adb-",
        "connectionType: environment",
        "DATABRICKS_HOST: $(DATABRICKS_HOST)",
        "DATABRICKS_TOKEN: $(DATABRICKS_TOKEN)",
    ):
        assert text in CONNECTION_HELP


def test_unknown_connection_type_is_refused() -> None:
    """connectionType must be one of the three."""
    with pytest.raises(ConfigurationError, match="'connectionType' is 'pat'; it must be databricks, azureRM"):
        resolve_connection({"connectionType": "pat"}, {}, {}, {})
