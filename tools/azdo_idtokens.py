"""Azure DevOps' ID token service for pipeline jobs, on loopback: what a task reaches at System.OidcRequestUri.

A job asks `POST {collection}{project id}/_apis/distributedtask/hubs/{hub}/plans/{plan id}/jobs/{job id}/oidctoken
?api-version=...[&serviceConnectionId=<id>]` with `Authorization: Bearer <System.AccessToken>` and gets
`{"oidcToken": "<JWT>"}` (the URL databricks-sdk 0.162 builds in `oidc_token_supplier.AzureDevOpsOIDCTokenSupplier`
from SYSTEM_TEAMFOUNDATIONCOLLECTIONURI, SYSTEM_TEAMPROJECTID, SYSTEM_HOSTTYPE, SYSTEM_PLANID and SYSTEM_JOBID, with
an empty POST body). The token is signed with RS256 by the organisation's issuer
`https://vstoken.dev.azure.com/<org id>`, audience `api://AzureADTokenExchange` (the SDK: "Azure DevOps OIDC tokens
have a fixed audience"); its subject is the pipeline, `p://<org>/<project>/<pipeline>`, without a service
connection (Databricks docs, "Enable workload identity federation for Azure DevOps Pipelines"), and
`sc://<org>/<project>/<connection name>` with one (Microsoft Entra federated credentials for Azure DevOps).

Here the issuer is this server (`{url}/<org id>`), which publishes its keys as an OpenID provider does
(`/.well-known/openid-configuration` -> `jwks_uri`), so a relying party can check signatures the way Databricks
does. Not settled by a public source, and modelled simply: the token lifetime (`lifetime_seconds`), the claims
beyond iss/sub/aud/iat/nbf/exp, the jwks_uri path, and the body of a refusal (401 with a JSON `message`).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from json_reply import send_json

AZURE_DEVOPS_AUDIENCE = "api://AzureADTokenExchange"


@dataclass
class IdTokenRequest:
    """One ID token request as the service received it."""

    path: str
    query: dict[str, str]
    authorization: str


@dataclass
class IdTokenService:
    """The ID token endpoint of one Azure DevOps organisation, for the jobs of one pipeline."""

    access_token: str  # the System.AccessToken it accepts
    organization: str = "example"
    project: str = "example"
    pipeline: str = "ci"
    organization_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    connections: Mapping[str, str] = field(default_factory=dict)  # service connection id -> name
    lifetime_seconds: int = 600
    issued: list[str] = field(default_factory=list)
    requests: list[IdTokenRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa  # test tooling only; trustme brings it

        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_id = uuid.uuid4().hex
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread: threading.Thread | None = None

    @property
    def issuer(self) -> str:
        return f"{self.url}/{self.organization_id}"

    @property
    def pipeline_subject(self) -> str:
        return f"p://{self.organization}/{self.project}/{self.pipeline}"

    def request_uri(self, variables: Mapping[str, str]) -> str:
        """System.OidcRequestUri for the job these predefined variables describe (localagent.step_variables)."""
        return (
            f"{self.url}/{self.organization}/{variables['System.TeamProjectId']}/_apis/distributedtask/hubs/"
            f"{variables['System.HostType']}/plans/{variables['System.PlanId']}/jobs/{variables['System.JobId']}/"
            "oidctoken"
        )

    def job_variables(self, variables: Mapping[str, str]) -> dict[str, str]:
        """The job's predefined variables pointing at this service: System.OidcRequestUri, and the collection URI
        databricks-sdk builds the same URL from."""
        return {
            "System.OidcRequestUri": self.request_uri(variables),
            "System.TeamFoundationCollectionUri": f"{self.url}/{self.organization}/",
            "System.CollectionUri": f"{self.url}/{self.organization}/",
        }

    def claims(self, subject: str | None = None, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": subject or self.pipeline_subject,
            "aud": AZURE_DEVOPS_AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime_seconds,
        }
        claims.update(overrides)
        return claims

    def sign(self, claims: Mapping[str, Any], key_id: str | None = None) -> str:
        """A JWT with these claims, signed RS256 with the issuer's key."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        header = {"alg": "RS256", "typ": "JWT", "kid": key_id or self.key_id}
        signed = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(dict(claims)).encode())}"
        signature = self._key.sign(signed.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return f"{signed}.{_b64(signature)}"

    def jwks(self) -> dict[str, Any]:
        numbers = self._key.public_key().public_numbers()
        key = {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.key_id,
            "n": _b64(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": _b64(numbers.e.to_bytes(3, "big")),
        }
        return {"keys": [key]}

    def answer(self, method: str, path: str, query: Mapping[str, str], authorization: str) -> tuple[int, Any]:
        if method == "GET" and path == f"/{self.organization_id}/.well-known/openid-configuration":
            return 200, {"issuer": self.issuer, "jwks_uri": f"{self.issuer}/.well-known/jwks"}
        if method == "GET" and path == f"/{self.organization_id}/.well-known/jwks":
            return 200, self.jwks()
        if method == "POST" and path.startswith(f"/{self.organization}/") and path.endswith("/oidctoken"):
            self.requests.append(IdTokenRequest(path, dict(query), authorization))
            if authorization != f"Bearer {self.access_token}":
                return 401, {"message": "TF400813: The user is not authorized to access this resource."}
            connection = query.get("serviceConnectionId")
            if connection and connection not in self.connections:
                return 400, {"message": f"Service connection {connection} was not found."}
            subject = f"sc://{self.organization}/{self.project}/{self.connections[connection]}" if connection else None
            self.issued.append(self.sign(self.claims(subject)))
            return 200, {"oidcToken": self.issued[-1]}
        return 404, {"message": f"no such resource: {method} {path}"}

    def start(self) -> IdTokenService:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> IdTokenService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _handler(service: IdTokenService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            query = {name: values[-1] for name, values in parse_qs(url.query).items()}
            status, body = service.answer(self.command, url.path, query, self.headers.get("Authorization") or "")
            send_json(self, status, body)

        do_POST = do_GET

    return Handler
