"""OAuth machine-to-machine sign-in: the workspace's OIDC discovery documents and its token endpoint.

databricks-sdk's `oauth-m2m` reads `oidc_endpoint` from `/.well-known/databricks-config`, fetches
`{oidc_endpoint}/.well-known/oauth-authorization-server`, then posts a `client_credentials` grant to the
`token_endpoint` with the client id and secret as HTTP Basic credentials (or as form fields). The local workspace
has one service principal (`client_id`, `client_secret`); the access token it issues is the workspace's bearer
token, so every other endpoint accepts it unchanged.

Token endpoint answers follow RFC 6749 (`{"error", "error_description"}`), not Databricks' `error_code` shape.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import uuid
from typing import Any
from urllib.parse import parse_qs

from ..http.request import Request, Response

TOKEN_LIFETIME_SECONDS = 3600
DISCOVERY_PATH = "/oidc/.well-known/oauth-authorization-server"
TOKEN_PATH = "/oidc/v1/token"


class OAuth:
    """The local workspace's OIDC provider for its single service principal."""

    def __init__(self, host: str, access_token: str) -> None:
        self.host = host
        self.client_id = str(uuid.uuid4())
        self.client_secret = "dose" + secrets.token_hex(32)
        self._access_token = access_token

    def host_metadata(self, req: Request) -> dict[str, Any]:
        """`/.well-known/databricks-config`: where the workspace's OIDC endpoints live."""
        return {"oidc_endpoint": f"{self.host}/oidc"}

    def authorization_server(self, req: Request) -> dict[str, Any]:
        """RFC 8414 metadata, as `{host}/oidc/.well-known/oauth-authorization-server` serves it."""
        return {
            "issuer": f"{self.host}/oidc",
            "authorization_endpoint": f"{self.host}/oidc/v1/authorize",
            "token_endpoint": f"{self.host}{TOKEN_PATH}",
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["all-apis"],
        }

    def token(self, req: Request) -> Response:
        """`POST /oidc/v1/token` with `grant_type=client_credentials`: the workspace token for the right client."""
        form = {name: values[-1] for name, values in parse_qs(req.body.decode("utf-8", "replace")).items()}
        grant_type = form.get("grant_type")
        if not grant_type:
            return _oauth_error(400, "invalid_request", "Missing required parameter: grant_type")
        if grant_type != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", f"Grant type '{grant_type}' is not supported")
        client_id, client_secret = _client_credentials(req.headers.get("Authorization"), form)
        if not (
            hmac.compare_digest(client_id.encode(), self.client_id.encode())
            and hmac.compare_digest(client_secret.encode(), self.client_secret.encode())
        ):
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        body = {
            "access_token": self._access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "scope": form.get("scope") or "all-apis",
        }
        return _json(200, body)


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
