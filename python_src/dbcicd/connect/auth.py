"""Authentication in one place: from the task's connection inputs to an authenticated databricks-sdk client.

Input `connectionType` picks one of three ways (absent means `environment`):

- `databricks`: input `databricksConnection` names a service connection of type `databricks`. Its Server URL is
  the workspace URL. Scheme `Token` carries a personal access token in parameter `apitoken`; any other scheme must
  carry an OAuth machine-to-machine secret of a Databricks service principal in parameters `clientId` and
  `clientSecret`.
- `azureRM`: input `azureSubscription` names an Azure Resource Manager service connection and input `workspaceUrl`
  gives the workspace. Scheme `WorkloadIdentityFederation` (parameters `serviceprincipalid`, `tenantid`, no secret)
  asks Azure DevOps for an ID token and exchanges it at Microsoft Entra ID. Scheme `ServicePrincipal` adds
  `serviceprincipalkey` and uses databricks-sdk's `azure-client-secret`; optional input `workspaceResourceId`
  lets the SDK add a service principal that is not yet a workspace user.
- `environment`: whatever databricks-sdk's unified authentication reads from DATABRICKS_* and ARM_* variables
  (e.g. DATABRICKS_HOST + DATABRICKS_TOKEN mapped from a variable group). Pipeline variables such as
  `System.AccessToken` count as SYSTEM_ACCESSTOKEN, so DATABRICKS_AUTH_TYPE=azure-devops-oidc works too.

An endpoint entry is `{"id", "url", "scheme", "parameters", "data"}`: `id` is the service connection's GUID (the
ID token request names it), `data` its data parameters. An Azure Resource Manager connection's
`environmentAuthorityUrl` names the Entra authority of its cloud for workload identity federation (for
ServicePrincipal, databricks-sdk derives the cloud from the workspace host).

Every credential read here is registered with `dbcicd.secrets` at once, and so is every token databricks-sdk puts
on a request later. Failures are `ConfigurationError`s with secrets masked.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from databricks.sdk.credentials_provider import (
    CredentialsProvider,
    CredentialsStrategy,
    DefaultCredentials,
    OAuthCredentialsProvider,
)

from .. import __version__
from ..errors import ConfigurationError, DbcicdError
from ..secrets import install_log_redaction, redact, register_secret
from .apicalls import RETRY_SETTING, Watch, name_calls
from .reach import FIRST_ANSWER_SECONDS, Reach
from .workload_identity import (
    DEFAULT_ENTRA_AUTHORITY,
    WORKLOAD_IDENTITY_AUTH_TYPE,
    AzurePipelinesIdTokenSource,
    azure_devops_oidc_strategy,
    entra_federation_strategy,
)

PRODUCT = "dbcicd"
SDK_CONFIG_LOGGER = "databricks.sdk"  # databricks/sdk/config.py: logging.getLogger("databricks.sdk")
HOST_METADATA_WARNING = "Failed to automatically resolve config from host metadata"

# An unreachable host must not stall client creation: databricks-sdk probes /.well-known/databricks-config while
# building its Config, with the same retry budget as API calls (300 s by default; databricks-sdk `config.py`,
# `Config._resolve_host_metadata`). The client is therefore built with short timeouts, then given the real ones:
# each request of the probe may take PROBE_TIMEOUT_SECONDS, and its retries last reach.FIRST_ANSWER_SECONDS, so a
# host the probe never reached is given up on at the first API call.
PROBE_TIMEOUT_SECONDS = 5
# API calls retry 429, 503 and dropped connections for this long: enough to ride out a throttling burst or a short
# outage of the workspace. A host never reached is given up on much sooner (see `reach`).
DEFAULT_RETRY_TIMEOUT_SECONDS = 120
HTTP_TIMEOUT_SECONDS = 60  # per request; databricks-sdk's own default

WORKSPACE_URL_EXAMPLE = "https://adb-1234567890123456.7.azuredatabricks.net"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
_DNS_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")

CONNECTION_HELP = """\
Connect to a Databricks workspace in one of three ways:
  1. A Databricks service connection (workspace URL + personal access token, or OAuth client id and secret):
         inputs:
           connectionType: databricks
           databricksConnection: my-databricks-connection
  2. An Azure Resource Manager service connection (workload identity federation or service principal)
     plus the workspace URL:
         inputs:
           connectionType: azureRM
           azureSubscription: my-azure-connection
           workspaceUrl: https://adb-1234567890123456.7.azuredatabricks.net
  3. DATABRICKS_HOST and DATABRICKS_TOKEN from a variable group, mapped into the step's environment:
         inputs:
           connectionType: environment
         env:
           DATABRICKS_HOST: $(DATABRICKS_HOST)
           DATABRICKS_TOKEN: $(DATABRICKS_TOKEN)
     (on the command line: export DATABRICKS_HOST and DATABRICKS_TOKEN)"""


@dataclass(frozen=True)
class Connection:
    """How to reach and sign in to one workspace, decided before anything touches the network."""

    description: str  # for messages: "the personal access token of service connection 'databricksConnection'"
    settings: Mapping[str, Any]  # databricks-sdk Config keyword arguments: host, auth_type, credentials
    strategy: CredentialsStrategy | None = None  # one of ours; None means databricks-sdk's default chain
    hint: str = ""  # appended to errors raised while signing in
    host_source: str = ""  # where the workspace URL came from, for "Cannot connect" errors: "Input 'workspaceUrl'"
    typed_host: str = ""  # the URL as given when it had no scheme and https:// was assumed


def workspace_client(
    inputs: Mapping[str, str],
    endpoints: Mapping[str, Mapping[str, Any]],
    variables: Mapping[str, str],
    environ: Mapping[str, str] = os.environ,
    retry_timeout: int = DEFAULT_RETRY_TIMEOUT_SECONDS,
) -> WorkspaceClient:
    """An authenticated client for the workspace the task's inputs name (see the module docstring): resolve, then
    connect. Raises ConfigurationError when nothing usable is configured or signing in fails.
    """
    install_log_redaction()
    return connect(resolve_connection(inputs, endpoints, variables, environ), retry_timeout)


def resolve_connection(
    inputs: Mapping[str, str],
    endpoints: Mapping[str, Mapping[str, Any]],
    variables: Mapping[str, str],
    environ: Mapping[str, str] = os.environ,
) -> Connection:
    """Choose the way to connect from the inputs; registers every credential it reads. No network access."""
    register_secret(variables.get("System.AccessToken"))  # every way may need it; never print it
    kind = (inputs.get("connectionType") or "").strip() or "environment"
    if kind.lower() == "databricks":
        return _databricks_connection(_endpoint(endpoints, "databricksConnection", kind))
    if kind.lower() == "azurerm":
        return _azure_connection(_endpoint(endpoints, "azureSubscription", kind), inputs, variables)
    if kind.lower() == "environment":
        return _environment_connection(pipeline_environment(environ, variables))
    raise ConfigurationError(f"Input 'connectionType' is '{kind}'; it must be databricks, azureRM or environment.")


def connect(
    connection: Connection, retry_timeout: int = DEFAULT_RETRY_TIMEOUT_SECONDS, retry_setting: str = RETRY_SETTING
) -> WorkspaceClient:
    """Build the client and sign in: product user agent, headers never logged, a short host probe (see
    PROBE_TIMEOUT_SECONDS), then API calls retrying for `retry_timeout` seconds — but a host that never answers is
    given up on after FIRST_ANSWER_SECONDS (see `reach`). `retry_setting` names the budget in advice ("input
    retryTimeoutSeconds", or the CLI's flag)."""
    started = time.monotonic()
    strategy = RegisteringCredentials(connection.strategy or DefaultCredentials())
    try:
        with host_metadata_quiet():
            config = Config(
                credentials_strategy=strategy,
                product=PRODUCT,
                product_version=__version__,
                debug_headers=False,  # even if DATABRICKS_DEBUG_HEADERS=true: headers carry the credentials
                retry_timeout_seconds=FIRST_ANSWER_SECONDS,
                http_timeout_seconds=PROBE_TIMEOUT_SECONDS,
                **connection.settings,
            )
        config.authenticate()  # OAuth flows mint their first token here: a refusal is a configuration error
    except DbcicdError:
        raise
    except Exception as err:  # ValueError from Config, but strategies also raise requests and attribute errors
        message = f"Cannot sign in to Databricks with {connection.description}: {err}"
        raise ConfigurationError(redact("\n".join(filter(None, (message, connection.hint))))) from None
    config.retry_timeout_seconds = retry_timeout
    config.http_timeout_seconds = HTTP_TIMEOUT_SECONDS
    source = connection.host_source or "the workspace URL of the Databricks configuration profile"
    reach = Reach(config.host or "", source, connection.typed_host, started + FIRST_ANSWER_SECONDS)
    return name_calls(WorkspaceClient(config=config), Watch(reach, retry_setting))


class _HostMetadataToDebug(logging.Filter):
    """databricks-sdk's Config asks the host for /.well-known/databricks-config first and, when that fails, logs a
    WARNING "Failed to automatically resolve config from host metadata ... Falling back to explicit user provided
    configuration" (databricks/sdk/config.py, Config._resolve_host_metadata) — which Python's last-resort handler
    prints to stderr, above dbcicd's own error about the same host. The probe is best effort by the SDK's own
    account; the host is checked by `Reach`, which names what to fix. The record is kept at DEBUG, for the debug log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and record.getMessage().startswith(HOST_METADATA_WARNING):
            record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return True


@contextmanager
def host_metadata_quiet() -> Iterator[None]:
    """While active, the SDK's host-metadata warning is a DEBUG record (see _HostMetadataToDebug)."""
    logger, quiet = logging.getLogger(SDK_CONFIG_LOGGER), _HostMetadataToDebug()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def normalize_host(value: str | None, source: str, example: str = WORKSPACE_URL_EXAMPLE) -> str:
    """`https://host[:port]` from what a user typed: whitespace trimmed, `https://` added, path/query dropped.

    Plain `http://` is accepted only for 127.0.0.1 and localhost (the local workspace). `source` names where the
    value came from (e.g. "Input 'workspaceUrl'") so the error tells the user what to fix.
    """
    text = (value or "").strip()
    if not text:
        raise ConfigurationError(f"{source} is empty; give the workspace URL, e.g. {example}")
    try:
        parts = urlsplit(text if "://" in text else f"https://{text}")
        port = parts.port
        hostname = parts.hostname or ""
    except ValueError:
        raise _bad_url(source, text, "it cannot be parsed", example) from None
    if "@" in parts.netloc:
        # Never echo the value: the part before '@' is a credential.
        raise ConfigurationError(
            f"{source} must not contain user credentials ('user:secret@'); give the token in the service "
            f"connection or DATABRICKS_TOKEN instead. Expected e.g. {example}"
        )
    if parts.scheme not in ("https", "http"):
        raise _bad_url(source, text, f"the scheme must be https://, not {parts.scheme}://", example)
    if not hostname or not _is_host_name(hostname):
        raise _bad_url(source, text, "it has no valid host name", example)
    if port == 0:
        raise _bad_url(source, text, "the port must be a number from 1 to 65535", example)
    if parts.scheme == "http" and hostname not in LOOPBACK_HOSTS:
        reason = "plain http:// is only accepted for a local workspace on 127.0.0.1 or localhost; use https://"
        raise _bad_url(source, text, reason, example)
    netloc = f"[{hostname}]" if ":" in hostname else hostname
    if port is not None and not (parts.scheme == "https" and port == 443):
        netloc += f":{port}"
    return f"{parts.scheme}://{netloc}"


def without_scheme(value: str | None) -> str:
    """`value` trimmed if it has no scheme (normalize_host then assumes https://), else ''."""
    text = (value or "").strip()
    return "" if "://" in text else text


def pipeline_environment(environ: Mapping[str, str], variables: Mapping[str, str]) -> dict[str, str]:
    """`environ` plus the pipeline variables under their environment names (`System.AccessToken` ->
    SYSTEM_ACCESSTOKEN), as the agent would expose them; a variable set in `environ` wins."""
    mapped = {name.upper().replace(".", "_").replace(" ", "_"): value for name, value in variables.items()}
    return {**mapped, **environ}


# --- the three ways ---------------------------------------------------------------------------------------


def _databricks_connection(endpoint: Mapping[str, Any]) -> Connection:
    where = "service connection 'databricksConnection'"
    token = register_secret(_parameter(endpoint, "apitoken"))
    client_id = _parameter(endpoint, "clientId")
    client_secret = register_secret(_parameter(endpoint, "clientSecret"))
    host = normalize_host(endpoint.get("url"), f"The Server URL of {where}")
    origin = {"host_source": f"the Server URL of {where}", "typed_host": without_scheme(endpoint.get("url"))}
    scheme = str(endpoint.get("scheme") or "")
    if scheme.lower() == "token" or token:
        if not token:
            raise ConfigurationError(f"The {where} has scheme Token but no personal access token (parameter apitoken)")
        settings = {"host": host, "token": token, "auth_type": "pat"}
        return Connection(f"the personal access token of {where}", settings, **origin)
    if client_id and client_secret:
        settings = {"host": host, "client_id": client_id, "client_secret": client_secret, "auth_type": "oauth-m2m"}
        hint = (
            f"Check the client id and secret in the {where}: the secret must be a current OAuth secret of that "
            "service principal (workspace settings > Identity and access > Service principals > Secrets)."
        )
        # The agent masks every endpoint auth parameter but a fixed few, clientId among them (MaskingUtil.cs), so the
        # id stands last, where a *** still leaves the sentence whole.
        return Connection(f"the OAuth client of {where} (client id {client_id})", settings, hint=hint, **origin)
    raise ConfigurationError(
        f"The {where} (scheme '{scheme}') has no usable credentials: expected scheme Token with parameter "
        "apitoken (a personal access token), or parameters clientId and clientSecret (a service principal's "
        "OAuth secret)."
    )


def _azure_connection(
    endpoint: Mapping[str, Any], inputs: Mapping[str, str], variables: Mapping[str, str]
) -> Connection:
    where = "Azure Resource Manager service connection 'azureSubscription'"
    secret = register_secret(_parameter(endpoint, "serviceprincipalkey"))
    if not (inputs.get("workspaceUrl") or "").strip():
        raise ConfigurationError(
            f"Input 'workspaceUrl' is required with connectionType azureRM: the URL of the Azure Databricks "
            f"workspace, e.g. {WORKSPACE_URL_EXAMPLE}"
        )
    host = normalize_host(inputs["workspaceUrl"], "Input 'workspaceUrl'")
    scheme = str(endpoint.get("scheme") or "")
    client_id = _required_parameter(endpoint, "serviceprincipalid", where)
    tenant_id = _required_parameter(endpoint, "tenantid", where)
    if not _TENANT.match(tenant_id):
        raise ConfigurationError(f"The {where} has an invalid tenant id '{tenant_id}'")
    origin = {"host_source": "input 'workspaceUrl'", "typed_host": without_scheme(inputs["workspaceUrl"])}
    if scheme.lower() == "workloadidentityfederation":
        connection = _workload_identity_connection(endpoint, host, client_id, tenant_id, variables, where)
        return replace(connection, **origin)
    if scheme.lower() == "serviceprincipal":
        if not secret:
            raise ConfigurationError(
                f"The {where} has no service principal key (certificate-based service principals are not "
                "supported): use workload identity federation or a client secret."
            )
        settings = {
            "host": host,
            "azure_client_id": client_id,
            "azure_client_secret": secret,
            "azure_tenant_id": tenant_id,
            "auth_type": "azure-client-secret",
        }
        resource_id = (inputs.get("workspaceResourceId") or "").strip()
        if resource_id:
            settings["azure_workspace_resource_id"] = resource_id
        return Connection(f"the service principal {client_id} of {where}", settings, **origin)
    raise ConfigurationError(
        f"The {where} uses scheme '{scheme}'; supported are WorkloadIdentityFederation and ServicePrincipal."
    )


def _workload_identity_connection(
    endpoint: Mapping[str, Any],
    host: str,
    client_id: str,
    tenant_id: str,
    variables: Mapping[str, str],
    where: str,
) -> Connection:
    connection_id = str(endpoint.get("id") or "").strip()
    if not connection_id:
        raise ConfigurationError(f"The {where} has no id: the task must pass the service connection's GUID")
    id_tokens = _azure_pipelines_id_tokens(pipeline_environment({}, variables), connection_id, "workload identity")
    data = endpoint.get("data") or {}
    authority = DEFAULT_ENTRA_AUTHORITY
    if data.get("environmentAuthorityUrl"):
        source = f"The data parameter environmentAuthorityUrl of {where}"
        authority = normalize_host(data["environmentAuthorityUrl"], source, DEFAULT_ENTRA_AUTHORITY)
    token_url = f"{authority}/{tenant_id}/oauth2/v2.0/token"
    return Connection(
        f"workload identity federation of {where} (service principal {client_id})",
        {"host": host, "auth_type": WORKLOAD_IDENTITY_AUTH_TYPE},
        entra_federation_strategy(token_url, client_id, id_tokens),
        hint=(
            f"Check that the app registration {client_id} has a federated credential for this service connection "
            "and that the service principal has been added to the Databricks workspace."
        ),
    )


def _environment_connection(env: Mapping[str, str]) -> Connection:
    settings: dict[str, Any] = {}
    for attr in Config.attributes():
        names = [name for name in (attr.env, *attr.env_aliases) if name]
        value = next((env[name] for name in names if env.get(name)), None)
        if value is None or attr.name == "debug_headers":
            continue
        settings[attr.name] = register_secret(value) if attr.sensitive else value
    register_secret(env.get("SYSTEM_ACCESSTOKEN"))
    if not any(settings.get(name) for name in ("host", "profile", "azure_workspace_resource_id")):
        raise ConfigurationError(
            f"No Databricks workspace is configured (DATABRICKS_HOST is not set).\n{CONNECTION_HELP}"
        )
    origin = {}
    if "host" in settings:
        origin = {"host_source": "environment variable DATABRICKS_HOST", "typed_host": without_scheme(settings["host"])}
        settings["host"] = normalize_host(settings["host"], "Environment variable DATABRICKS_HOST")
    if settings.get("auth_type") == "azure-devops-oidc":
        # databricks-sdk's own strategy reads SYSTEM_* from os.environ only; this one reads the mapped variables.
        # Its refusals say what the federation policy must hold, so the general help would only distract.
        strategy = azure_devops_oidc_strategy(_azure_pipelines_id_tokens(env, None, "azure-devops-oidc"))
        description = "the pipeline's ID token (DATABRICKS_AUTH_TYPE=azure-devops-oidc)"
        return Connection(description, settings, strategy, **origin)
    return Connection("the DATABRICKS_* environment variables", settings, None, hint=CONNECTION_HELP, **origin)


class RegisteringCredentials(CredentialsStrategy):
    """Wraps a strategy so that every credential it puts on a request is registered as a secret.

    Tokens minted inside databricks-sdk (OAuth M2M, Entra client secret, token exchange) are then masked like
    those read from the inputs.
    """

    def __init__(self, inner: CredentialsStrategy | DefaultCredentials) -> None:
        self._inner = inner

    def auth_type(self) -> str:
        return self._inner.auth_type()

    def __call__(self, cfg: Config) -> CredentialsProvider:
        provider = self._inner(cfg)
        if not provider:
            return provider

        def headers() -> dict[str, str]:
            values = provider()
            for name, value in values.items():
                if name.lower() == "authorization" or name.lower().endswith("-token"):
                    register_secret(value.partition(" ")[2] or value)
            return values

        if isinstance(provider, OAuthCredentialsProvider):
            return OAuthCredentialsProvider(headers, provider.oauth_token)
        return headers


# --- helpers ------------------------------------------------------------------------------------------------


def _azure_pipelines_id_tokens(
    env: Mapping[str, str], service_connection_id: str | None, purpose: str
) -> AzurePipelinesIdTokenSource:
    """The ID token source for this job, from SYSTEM_OIDCREQUESTURI and SYSTEM_ACCESSTOKEN."""
    access_token = (env.get("SYSTEM_ACCESSTOKEN") or "").strip()
    request_uri = (env.get("SYSTEM_OIDCREQUESTURI") or "").strip()
    if not access_token or not request_uri:
        missing = [
            name
            for name, value in (("System.AccessToken", access_token), ("System.OidcRequestUri", request_uri))
            if not value
        ]
        raise ConfigurationError(
            f"Signing in with {purpose} needs the pipeline variables {' and '.join(missing)}, which exist only in "
            "an Azure Pipelines job (the task passes them on)."
        )
    return AzurePipelinesIdTokenSource(request_uri, access_token, service_connection_id)


def _endpoint(endpoints: Mapping[str, Mapping[str, Any]], input_name: str, kind: str) -> Mapping[str, Any]:
    endpoint = endpoints.get(input_name)
    if not isinstance(endpoint, Mapping) or not endpoint:
        raise ConfigurationError(
            f"Input 'connectionType' is '{kind}' but input '{input_name}' names no service connection.\n"
            f"{CONNECTION_HELP}"
        )
    return endpoint


def _parameter(endpoint: Mapping[str, Any], name: str) -> str:
    """An authorization parameter, matched case-insensitively (the agent upper-cases keys in some channels)."""
    parameters = endpoint.get("parameters") or {}
    for key, value in parameters.items():
        if key.lower() == name.lower() and value:
            return str(value).strip()
    return ""


def _required_parameter(endpoint: Mapping[str, Any], name: str, where: str) -> str:
    value = _parameter(endpoint, name)
    if not value:
        raise ConfigurationError(f"The {where} has no authorization parameter '{name}'")
    return value


def _is_host_name(hostname: str) -> bool:
    try:
        ipaddress.ip_address(hostname)
        return True
    except ValueError:
        return bool(_DNS_NAME.match(hostname))


def _bad_url(source: str, text: str, reason: str, example: str) -> ConfigurationError:
    return ConfigurationError(redact(f"{source} is not a valid URL ('{text}'): {reason}. Expected e.g. {example}"))
