"""OAuth sign-in: the workspace's OIDC discovery documents and its token endpoint (client secrets and federation).

databricks-sdk's `oauth-m2m` reads `oidc_endpoint` from `/.well-known/databricks-config`, fetches
`{oidc_endpoint}/.well-known/oauth-authorization-server`, then posts a `client_credentials` grant to the
`token_endpoint` with the client id and secret as HTTP Basic credentials (or as form fields). Each tenant of the
local workspace has one service principal (an `OAuthClient`); the access token issued to it is that tenant's bearer
token, so every other endpoint accepts it unchanged and it reaches the state of the tenant whose credentials minted it.

The token endpoint also grants RFC 8693 token exchange, Databricks' workload identity federation: databricks-sdk
0.162 (`oidc.DatabricksOidcTokenSource._exchange_id_token`, `credentials_provider._oidc_credentials_provider` for
`azure-devops-oidc`) posts `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`, `subject_token=<ID token>`,
`subject_token_type=urn:ietf:params:oauth:token-type:jwt`, `scope=all-apis` and, for a service principal
federation policy, `client_id=<its application id>` as form fields, with no secret. The ID token is checked
against the policies of that service principal (`federation.FederationPolicy`); one matching policy is enough.

Token endpoint answers follow RFC 6749 (`{"error", "error_description"}`), not Databricks' `error_code` shape. A
refused exchange is `400 invalid_request`, as RFC 8693 section 2.2.2 prescribes for a subject token that is
invalid or unacceptable by policy; the descriptions are the local workspace's own (no public source quotes
Databricks' wording for these refusals).
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from ..http.request import Request, Response
from .compute import ACCOUNT_ID, WORKSPACE_ID
from .federation import JWT_TOKEN_TYPE, FederationPolicy, TokenRefused

TOKEN_LIFETIME_SECONDS = 3600
HOST_METADATA_PATH = "/.well-known/databricks-config"
DISCOVERY_PATH = "/oidc/.well-known/oauth-authorization-server"
TOKEN_PATH = "/oidc/v1/token"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


@dataclass(frozen=True)
class OAuthClient:
    """A service principal's OAuth credentials and the bearer token they are exchanged for."""

    client_id: str
    client_secret: str = field(repr=False)
    access_token: str = field(repr=False)

    @classmethod
    def new(cls, access_token: str) -> OAuthClient:
        return cls(str(uuid.uuid4()), "dose" + secrets.token_hex(32), access_token)


class OAuth:
    """The local workspace's OIDC provider, shared by its tenants: one service principal each."""

    def __init__(self, host: str) -> None:
        self.host = host
        self._lock = threading.Lock()
        self._clients: dict[str, OAuthClient] = {}
        self._policies: dict[str, list[FederationPolicy]] = {}

    def register(self, access_token: str) -> OAuthClient:
        """New client credentials that the token endpoint exchanges for `access_token`."""
        client = OAuthClient.new(access_token)
        with self._lock:
            self._clients[client.client_id] = client
        return client

    def unregister(self, client: OAuthClient) -> None:
        with self._lock:
            self._clients.pop(client.client_id, None)
            self._policies.pop(client.client_id, None)

    def add_federation_policy(self, client: OAuthClient, policy: FederationPolicy) -> None:
        """Let `client`'s service principal sign in with ID tokens `policy` trusts (no secret needed)."""
        with self._lock:
            self._policies.setdefault(client.client_id, []).append(policy)

    def named_client(self, req: Request) -> OAuthClient | None:
        """The client a token request names, its secret not yet checked: the tenant it is counted against."""
        client_id = _client_credentials(req.headers.get("Authorization"), _form(req))[0]
        with self._lock:
            return self._clients.get(client_id)

    def host_metadata(self, req: Request) -> dict[str, Any]:
        """`/.well-known/databricks-config`: where the workspace's OIDC endpoints live, and which workspace and account
        this is — the fields databricks-sdk 0.162 reads into its Config (`HostMetadata` in oauth.py: `oidc_endpoint`,
        `account_id`, `workspace_id`; config.py fills `workspace_id` and `account_id` from them, and takes a host
        whose metadata has no `workspace_id` for an account host)."""
        return {"oidc_endpoint": f"{self.host}/oidc", "account_id": ACCOUNT_ID, "workspace_id": str(WORKSPACE_ID)}

    def authorization_server(self, req: Request) -> dict[str, Any]:
        """RFC 8414 metadata, as `{host}/oidc/.well-known/oauth-authorization-server` serves it."""
        return {
            "issuer": f"{self.host}/oidc",
            "authorization_endpoint": f"{self.host}/oidc/v1/authorize",
            "token_endpoint": f"{self.host}{TOKEN_PATH}",
            "grant_types_supported": ["client_credentials", TOKEN_EXCHANGE],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["all-apis"],
        }

    def token(self, req: Request) -> Response:
        """`POST /oidc/v1/token`: the workspace token for a client with the right secret (`client_credentials`) or
        for a service principal whose federation policy trusts the presented ID token (token exchange)."""
        form = _form(req)
        grant_type = form.get("grant_type")
        if not grant_type:
            return _oauth_error(400, "invalid_request", "Missing required parameter: grant_type")
        if grant_type == TOKEN_EXCHANGE:
            return self._exchange(form)
        if grant_type != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", f"Grant type '{grant_type}' is not supported")
        client_id, client_secret = _client_credentials(req.headers.get("Authorization"), form)
        with self._lock:
            client = self._clients.get(client_id)
        if client is None or not hmac.compare_digest(client_secret.encode(), client.client_secret.encode()):
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        return _issued(client, form)

    def _exchange(self, form: dict[str, str]) -> Response:
        """RFC 8693 token exchange under a service principal federation policy."""
        for name in ("subject_token", "subject_token_type"):
            if not form.get(name):
                return _oauth_error(400, "invalid_request", f"Missing required parameter: {name}")
        if form["subject_token_type"] != JWT_TOKEN_TYPE:
            return _oauth_error(
                400,
                "invalid_request",
                f"subject_token_type must be {JWT_TOKEN_TYPE}, not '{form['subject_token_type']}'",
            )
        client_id = form.get("client_id", "")
        if not client_id:
            # Without client_id Databricks applies the account federation policy (SDK: "Account-wide token
            # federation"); the local workspace models service principal policies only.
            return _oauth_error(
                400, "invalid_request", "client_id is required: the local workspace has no account federation policy"
            )
        with self._lock:
            client = self._clients.get(client_id)
            policies = list(self._policies.get(client_id, []))
        if client is None:
            return _oauth_error(401, "invalid_client", f"No service principal with application id '{client_id}'")
        if not policies:
            return _oauth_error(400, "invalid_request", f"Service principal '{client_id}' has no federation policy")
        reasons = []
        for policy in policies:
            try:
                policy.check(form["subject_token"], ACCOUNT_ID)
            except TokenRefused as refused:
                reasons.append(str(refused))
                continue
            return _issued(client, form)
        return _oauth_error(
            400,
            "invalid_request",
            f"The subject token matches no federation policy of service principal '{client_id}': " + "; ".join(reasons),
        )


def _issued(client: OAuthClient, form: dict[str, str]) -> Response:
    body = {
        "access_token": client.access_token,
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECONDS,
        "scope": form.get("scope") or "all-apis",
    }
    return _json(200, body)


def _form(req: Request) -> dict[str, str]:
    return {name: values[-1] for name, values in parse_qs(req.body.decode("utf-8", "replace")).items()}


def _client_credentials(authorization: str | None, form: dict[str, str]) -> tuple[str, str]:
    """The client id and secret from `Authorization: Basic` (client_secret_basic) or the form (client_secret_post)."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return "", ""
        return user, password
    return form.get("client_id", ""), form.get("client_secret", "")


def _oauth_error(status: int, error: str, description: str) -> Response:
    return _json(status, {"error": error, "error_description": description})


def _json(status: int, body: dict[str, Any]) -> Response:
    # Tokens must never be cached by intermediaries (RFC 6749 5.1).
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    return Response(json.dumps(body).encode(), status, "application/json", headers)
