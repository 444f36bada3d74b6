"""Service principal federation policies: which outside ID tokens the token endpoint exchanges, and for whom.

A policy belongs to one service principal and names the issuer, the subject and the audiences of the tokens it
trusts, as Databricks' `OidcFederationPolicy` does (databricks-sdk 0.162 `service/oauth2.py`; Databricks docs
"Configure a federation policy": `issuer`, `audiences` — "if unspecified, defaults to your Databricks account id" —,
`subject`, `subject_claim` default `sub`, and `jwks_json` / `jwks_uri`). For Azure DevOps pipelines the docs give
issuer `https://vstoken.dev.azure.com/<org_id>`, audience `api://AzureADTokenExchange` and subject
`p://<org-name>/<project-name>/<pipeline-name>` ("Enable workload identity federation for Azure DevOps Pipelines").

Signatures are checked as the real service checks them: with the policy's `jwks_json`, else the keys at its
`jwks_uri`, else the keys the issuer publishes (`{issuer}/.well-known/openid-configuration` -> `jwks_uri`), which
is what the docs recommend. The local workspace fetches them the same way, so it can only reach issuers on this
machine or the network it has (tests run an emulated Azure DevOps issuer on loopback). Tokens "must be valid JWTs
that are signed using the RS256 or ES256 algorithms" (docs "Use an identity provider token to authenticate");
the local workspace verifies RS256 only and refuses ES256 saying so. The RSA check (RFC 8017 RSASSA-PKCS1-v1_5
with SHA-256) is done here so the local workspace needs no cryptography package.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"
JWKS_FETCH_TIMEOUT_SECONDS = 10
# Clock difference tolerated on `exp` and `nbf`. No Databricks source gives theirs; a minute is common practice.
CLOCK_SKEW_SECONDS = 60
# DER prefix of DigestInfo for SHA-256 (RFC 8017 section 9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")

Fetch = Callable[[str], Mapping[str, Any]]


class TokenRefused(Exception):
    """The subject token does not satisfy the policy; the message says why, naming the claim and both values."""


@dataclass(frozen=True)
class FederationPolicy:
    """One service principal federation policy (the `oidc_policy` of a Databricks FederationPolicy)."""

    issuer: str
    subject: str
    audiences: tuple[str, ...] = ()
    subject_claim: str = "sub"
    jwks_json: str | None = None
    jwks_uri: str | None = None

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> FederationPolicy:
        """From the JSON Databricks takes (`{"issuer", "subject", "audiences": [...], ...}`, or the same inside
        `{"oidc_policy": ...}`); raises ValueError naming the missing or mistyped field."""
        body = spec.get("oidc_policy", spec) if isinstance(spec, Mapping) else None
        if not isinstance(body, Mapping):
            raise ValueError("a federation policy is a JSON object with issuer, subject and audiences")
        for name in ("issuer", "subject"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise ValueError(f"a service principal federation policy needs '{name}' (a non-empty string)")
        audiences = body.get("audiences") or []
        if not isinstance(audiences, list) or not all(isinstance(a, str) and a for a in audiences):
            raise ValueError("'audiences' must be a list of non-empty strings")
        unknown = set(body) - {"issuer", "subject", "audiences", "subject_claim", "jwks_json", "jwks_uri"}
        if unknown:
            raise ValueError(f"unknown federation policy field(s): {', '.join(sorted(unknown))}")
        return cls(
            body["issuer"],
            body["subject"],
            tuple(audiences),
            body.get("subject_claim") or "sub",
            body.get("jwks_json"),
            body.get("jwks_uri"),
        )

    def check(self, token: str, account_id: str, fetch: Fetch | None = None, now: float | None = None) -> None:
        """Raises TokenRefused unless `token` is a JWT this policy trusts: signature, issuer, subject, audience
        (the account id when the policy names none), expiry and not-before."""
        header, claims, signed, signature = _split(token)
        if claims.get("iss") != self.issuer:
            raise TokenRefused(f"the token's issuer '{claims.get('iss')}' is not the policy's '{self.issuer}'")
        self._check_signature(header, signed, signature, fetch or _fetch_json)
        subject = claims.get(self.subject_claim)
        if subject != self.subject:
            raise TokenRefused(
                f"the token's subject ({self.subject_claim}) '{subject}' is not the policy's '{self.subject}'"
            )
        audiences = claims.get("aud")
        presented = [audiences] if isinstance(audiences, str) else list(audiences or [])
        trusted = self.audiences or (account_id,)
        if not set(presented) & set(trusted):
            raise TokenRefused(
                f"the token's audience {presented} matches none of the policy's audiences {list(trusted)}"
            )
        moment = time.time() if now is None else now
        if not isinstance(claims.get("exp"), (int, float)):
            raise TokenRefused("the token has no expiry ('exp' claim)")
        if claims["exp"] + CLOCK_SKEW_SECONDS <= moment:
            raise TokenRefused(f"the token expired {int(moment - claims['exp'])} s ago")
        if isinstance(claims.get("nbf"), (int, float)) and claims["nbf"] - CLOCK_SKEW_SECONDS > moment:
            raise TokenRefused("the token is not valid yet ('nbf' claim)")

    def _check_signature(self, header: Mapping[str, Any], signed: bytes, signature: bytes, fetch: Fetch) -> None:
        algorithm = header.get("alg")
        if algorithm == "ES256":
            raise TokenRefused("ES256 signatures are accepted by Databricks but not checked by the local workspace")
        if algorithm != "RS256":
            raise TokenRefused(f"the token is signed with '{algorithm}'; RS256 or ES256 are required")
        keys = [key for key in self._keys(fetch) if key.get("kty") == "RSA" and key.get("n") and key.get("e")]
        if header.get("kid"):
            keys = [key for key in keys if key.get("kid") == header["kid"]]
        if not keys:
            raise TokenRefused(f"the issuer publishes no RSA key with the token's key id '{header.get('kid')}'")
        if not any(_rs256_valid(key, signed, signature) for key in keys):
            raise TokenRefused("the token's signature does not verify with the issuer's keys")

    def _keys(self, fetch: Fetch) -> list[Mapping[str, Any]]:
        try:
            if self.jwks_json:
                document: Mapping[str, Any] = json.loads(self.jwks_json)
            else:
                uri = self.jwks_uri
                if not uri:
                    uri = fetch(f"{self.issuer.rstrip('/')}/.well-known/openid-configuration").get("jwks_uri")
                if not isinstance(uri, str):
                    raise ValueError("its OpenID configuration has no jwks_uri")
                document = fetch(uri)
        except (OSError, ValueError) as err:
            raise TokenRefused(f"the issuer's signing keys could not be read: {err}") from None
        keys = document.get("keys") if isinstance(document, Mapping) else None
        return [key for key in keys if isinstance(key, Mapping)] if isinstance(keys, list) else []


def _split(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenRefused("the subject token is not a JWT (header.payload.signature)")
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
        signature = _b64url(parts[2])
    except ValueError:
        raise TokenRefused("the subject token is not a JWT: its parts are not base64url-encoded JSON") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenRefused("the subject token is not a JWT: header and payload must be JSON objects")
    return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _rs256_valid(key: Mapping[str, Any], signed: bytes, signature: bytes) -> bool:
    """RSASSA-PKCS1-v1_5 verification with SHA-256 (RFC 8017 sections 8.2.2 and 9.2)."""
    try:
        n = int.from_bytes(_b64url(str(key["n"])), "big")
        e = int.from_bytes(_b64url(str(key["e"])), "big")
    except ValueError:
        return False
    size = (n.bit_length() + 7) // 8
    if len(signature) != size or size < 64:
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:
        return False
    encoded = pow(s, e, n).to_bytes(size, "big")
    digest_info = _SHA256_DIGEST_INFO + hashlib.sha256(signed).digest()
    expected = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
    return hmac.compare_digest(encoded, expected)


def _fetch_json(url: str) -> Mapping[str, Any]:
    """GET a JSON object; an issuer on this machine is reached directly, whatever proxy the environment names."""
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"'{url}' is not an http(s) URL")
    direct = urllib.parse.urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")
    opener = urllib.request.build_opener(*([urllib.request.ProxyHandler({})] if direct else []))
    with opener.open(url, timeout=JWKS_FETCH_TIMEOUT_SECONDS) as response:
        document = json.loads(response.read().decode("utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{url} did not answer a JSON object")
    return document
