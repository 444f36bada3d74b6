"""Workload identity from Azure Pipelines: ID tokens from Azure DevOps and what they are exchanged for.

Both are databricks-sdk credentials strategies, so every token request goes through the SDK's own OAuth helpers
(`oauth.retrieve_token`, `oauth.Refreshable`, `oidc_credentials_provider`) and tokens are refreshed before they
expire:

- `entra_federation_strategy`: an Azure Resource Manager service connection with scheme
  WorkloadIdentityFederation. The ID token (subject `sc://org/project/connection`) is the client assertion of a
  client_credentials grant at Microsoft Entra ID, for the Azure Databricks resource.
- `azure_devops_oidc_strategy`: databricks-sdk's `azure-devops-oidc` (the pipeline's ID token exchanged at the
  workspace under a Databricks federation policy), fed from the variables the task passes instead of os.environ.

Every ID token and access token is registered with `dbcicd.secrets` as soon as it arrives.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import requests
from databricks.sdk import oauth, oidc
from databricks.sdk.config import Config
from databricks.sdk.credentials_provider import (
    CredentialsStrategy,
    OAuthCredentialsProvider,
    oauth_credentials_strategy,
    oidc_credentials_provider,
)
from databricks.sdk.retries import retried

from ..secrets import redact, register_secret

_T = TypeVar("_T")

# Microsoft Entra ID: the Azure Databricks resource's application id (the same in every Azure cloud).
AZURE_DATABRICKS_SCOPE = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"
DEFAULT_ENTRA_AUTHORITY = "https://login.microsoftonline.com"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
WORKLOAD_IDENTITY_AUTH_TYPE = "azure-devops-wif"
OIDC_TOKEN_API_VERSION = "7.1"
# Asking Azure DevOps for an ID token: per request, and for all retries (429, 5xx, connection failures).
ID_TOKEN_HTTP_TIMEOUT_SECONDS = 30
ID_TOKEN_RETRY_SECONDS = 30


class AzurePipelinesIdTokenSource(oidc.IdTokenSource):
    """ID tokens for the running pipeline job from Azure DevOps (`POST {System.OidcRequestUri}`).

    With a service connection id the token's subject is that connection (`sc://org/project/connection`), which
    Entra federated credentials trust; without, it is the pipeline, which Databricks federation policies trust.
    Each call asks anew: the tokens live about ten minutes.
    """

    def __init__(
        self,
        request_uri: str,
        access_token: str,
        service_connection_id: str | None = None,
    ) -> None:
        self._request_uri = request_uri
        self._access_token = register_secret(access_token) or ""
        self._query = {"api-version": OIDC_TOKEN_API_VERSION}
        if service_connection_id:
            self._query["serviceConnectionId"] = service_connection_id

    def id_token(self) -> oidc.IdToken:
        response = retried(is_retryable=_transient, timeout=timedelta(seconds=ID_TOKEN_RETRY_SECONDS))(self._post)()
        what = (
            f"service connection {self._query['serviceConnectionId']}"
            if "serviceConnectionId" in self._query
            else "this pipeline"
        )
        if not response.ok:
            raise ValueError(
                redact(
                    f"Azure DevOps refused an ID token for {what} (HTTP {response.status_code}: "
                    f"{_error_text(response)}). Is the pipeline allowed to use the service connection, and is "
                    "System.AccessToken passed to the task?"
                )
            )
        try:
            token = response.json()["oidcToken"]
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"Azure DevOps answered the ID token request for {what} without an oidcToken") from None
        return oidc.IdToken(jwt=register_secret(token) or "")

    def _post(self) -> requests.Response:
        response = requests.post(
            self._request_uri,
            params=self._query,
            headers={"Authorization": f"Bearer {self._access_token}", "Content-Type": "application/json"},
            timeout=ID_TOKEN_HTTP_TIMEOUT_SECONDS,
        )
        if response.status_code == 429 or response.status_code >= 500:
            raise _TransientResponse(response)
        return response


class EntraFederatedTokenSource(oauth.Refreshable):
    """Microsoft Entra ID access tokens for a service principal that trusts Azure DevOps (workload identity).

    Each refresh fetches a fresh ID token and exchanges it with the client_credentials grant, the ID token being
    the client assertion; `oauth.Refreshable` refreshes before expiry (in the background once a token is stale).
    """

    def __init__(self, token_url: str, client_id: str, id_tokens: oidc.IdTokenSource, disable_async: bool) -> None:
        super().__init__(disable_async=disable_async)
        self._token_url = token_url
        self._client_id = client_id
        self._id_tokens = id_tokens

    def refresh(self) -> oauth.Token:
        params = {
            "grant_type": "client_credentials",
            "scope": AZURE_DATABRICKS_SCOPE,
            "client_assertion_type": JWT_BEARER,
            "client_assertion": self._id_tokens.id_token().jwt,
        }
        try:
            token = oauth.retrieve_token(self._client_id, "", self._token_url, params, use_params=True)
        except (ValueError, NotImplementedError, requests.RequestException) as err:
            raise ValueError(
                redact(f"Microsoft Entra ID refused the token exchange at {self._token_url}: {err}")
            ) from None
        register_secret(token.access_token)
        return token


def entra_federation_strategy(token_url: str, client_id: str, id_tokens: oidc.IdTokenSource) -> CredentialsStrategy:
    """A databricks-sdk credentials strategy signing requests with Entra tokens got by workload identity."""

    @oauth_credentials_strategy(WORKLOAD_IDENTITY_AUTH_TYPE, ["host"], supports_group=False)
    def workload_identity(cfg: Config) -> OAuthCredentialsProvider:
        tokens = EntraFederatedTokenSource(token_url, client_id, id_tokens, bool(cfg.disable_async_token_refresh))

        def headers() -> dict[str, str]:
            token = tokens.token()
            return {"Authorization": f"{token.token_type or 'Bearer'} {token.access_token}"}

        return OAuthCredentialsProvider(headers, tokens.token)

    return workload_identity


def azure_devops_oidc_strategy(id_tokens: oidc.IdTokenSource) -> CredentialsStrategy:
    """databricks-sdk's `azure-devops-oidc` (pipeline ID token exchanged at the workspace), with our token source.

    A refused exchange names what the workspace was shown: the ID token's issuer, subject and audience, which are
    exactly the values the service principal's federation policy must hold (whatever words the workspace uses)."""

    @oauth_credentials_strategy("azure-devops-oidc", ["host", "client_id"], supports_group=True)
    def azure_devops_oidc(cfg: Config) -> OAuthCredentialsProvider | None:
        shown = _LastIdToken(id_tokens)
        shown.id_token()  # the SDK's helper only logs why a token is missing; this raises with the reason
        provider = oidc_credentials_provider(cfg, shown)
        if not isinstance(provider, OAuthCredentialsProvider):
            return None

        def explained(call: Callable[[], _T]) -> Callable[[], _T]:
            def wrapper() -> _T:
                try:
                    return call()
                except ValueError as err:
                    raise ValueError(redact(f"{err}. {federation_advice(shown.last, cfg.client_id)}")) from None

            return wrapper

        return OAuthCredentialsProvider(explained(provider), explained(provider.oauth_token))

    return azure_devops_oidc


def federation_advice(token: str, client_id: str | None) -> str:
    """What a federation policy of `client_id` must say to accept `token`: its issuer, subject and audience."""
    claims = unverified_claims(token)
    audience = claims.get("aud")
    audiences = ", ".join(audience) if isinstance(audience, list) else audience
    return (
        f"The workspace was shown this pipeline's ID token: issuer '{claims.get('iss')}', subject "
        f"'{claims.get('sub')}', audience '{audiences}'. Service principal {client_id} needs a federation policy "
        "with exactly these values (e.g. `databricks account service-principal-federation-policy create "
        "<its numeric id> --json ...`)"
    )


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, not verified: only to say what it claims. Empty when it is not a JWT."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


class _LastIdToken(oidc.IdTokenSource):
    """An ID token source that remembers the last token it handed out (to explain a refusal of it)."""

    def __init__(self, inner: oidc.IdTokenSource) -> None:
        self._inner = inner
        self.last = ""

    def id_token(self) -> oidc.IdToken:
        token = self._inner.id_token()
        self.last = token.jwt
        return token


# --- helpers -------------------------------------------------------------------------------------------------


class _TransientResponse(Exception):
    """A 429 or 5xx answer: worth retrying (after Retry-After when the server gives one)."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        retry_after = response.headers.get("Retry-After", "")
        if retry_after.isdigit():
            self.retry_after_secs = int(retry_after)  # read by databricks.sdk.retries.retried


def _transient(err: BaseException) -> str | None:
    if isinstance(err, (_TransientResponse, requests.ConnectionError, requests.Timeout)):
        return str(err) or type(err).__name__
    return None


def _error_text(response: requests.Response) -> str:
    """The message of an error answer, shortened: JSON `message` when there is one, else the start of the body."""
    try:
        body = response.json()
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])[:300]
    except ValueError:
        pass
    return response.text[:300].strip() or response.reason or "no details"
