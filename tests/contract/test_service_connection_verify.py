"""The service connection's *Verify*, as Azure DevOps performs it: the manifest's TestConnection data source
expanded for a connection (tools/endpoint_requests.py) and sent to the contract target (the local workspace, or a
real one)."""

from __future__ import annotations

import json
import secrets
import uuid
from pathlib import Path

import pytest
from contract_target import Target

from endpoint_requests import Endpoint, UnsupportedTemplate, data_source_request, endpoint_type, render

MANIFEST = json.loads((Path(__file__).parents[2] / "vss-extension.json").read_text(encoding="utf-8"))
DATABRICKS = endpoint_type(MANIFEST, "dbcicd-databricks")


def verify(endpoint: Endpoint) -> int:
    """The HTTP status Verify gets: 200 shows the connection as verified."""
    return data_source_request(DATABRICKS, "TestConnection", endpoint).send().status_code


def test_verify_accepts_the_right_personal_access_token(target: Target) -> None:
    """PAT scheme: SCIM Me with `Authorization: Bearer <token>` passes with a token the workspace knows."""
    endpoint = Endpoint(target.host, "Token", {"apitoken": "t"})
    request = data_source_request(DATABRICKS, "TestConnection", endpoint)
    assert (request.method, request.url) == ("GET", f"{target.host.rstrip('/')}/api/2.0/preview/scim/v2/Me")
    assert request.headers == {"Authorization": "Bearer t"}
    assert verify(Endpoint(target.host, "Token", {"apitoken": target.token})) == 200
    assert verify(Endpoint(f"{target.host.rstrip('/')}/", "Token", {"apitoken": target.token})) == 200


@pytest.mark.parametrize("normalized", [True, False])
@pytest.mark.parametrize("slash", ["", "/"])
def test_verify_joins_the_url_with_or_without_a_trailing_slash(target: Target, slash: str, normalized: bool) -> None:
    """A server URL saved as `https://host` or `https://host/`, taken as saved or as .NET normalizes it: the same
    request (the manifest joins with `/`, and the service makes `//` one `/`)."""
    host = target.host.rstrip("/")
    endpoint = Endpoint(host + slash, "Token", {"apitoken": target.token})
    request = data_source_request(DATABRICKS, "TestConnection", endpoint, normalized)
    assert request.url == f"{host}/api/2.0/preview/scim/v2/Me"
    assert request.send().status_code == 200


def test_verify_refuses_a_wrong_personal_access_token(target: Target) -> None:
    """A token the workspace does not know: 403 "Invalid access token." (databricks-sdk-go#873), so Verify fails."""
    assert verify(Endpoint(target.host, "Token", {"apitoken": "dapi" + secrets.token_hex(16)})) == 403


def test_verify_cannot_check_an_oauth_secret(target: Target) -> None:
    """OAuth scheme (None with client id and secret): Azure DevOps sends TestConnection without credentials, so
    Verify fails whatever the secret. It asks for the one TestConnection data source of the type for every scheme
    (the web UI's verifyConnection; the server's GetDataSourceByName), with a fixed verb, and a secret can only be
    checked by a POST to the token endpoint, which a token cannot pass; the README says to save an OAuth connection
    without verifying it. This pins what the manifest does, so a change to it is deliberate."""
    credentials = {"clientId": str(uuid.uuid4()), "clientSecret": "dose" + secrets.token_hex(16)}
    endpoint = Endpoint(target.host, "None", credentials)
    request = data_source_request(DATABRICKS, "TestConnection", endpoint)
    assert "Authorization" not in request.headers  # so no secret, right or wrong, can change the answer
    assert verify(endpoint) == 401


def test_templates_expand_as_azure_devops_documents() -> None:
    """Variables (case-insensitive, double or triple braces), #if sections and the #base64 helper of Microsoft's
    basic scheme header; unknown syntax is refused rather than guessed."""
    context = {"endpoint": {"url": "https://h/", "username": "u", "password": "p", "empty": ""}}
    assert render("{{endpoint.URL}}api/{{{endpoint.url}}}", context) == "https://h/api/https://h/"
    assert render('Basic {{ #base64 endpoint.username \\":\\" endpoint.password }}', context) == "Basic dTpw"
    assert render("a{{#if endpoint.username}}b{{/if}}{{#if endpoint.empty}}c{{/if}}", context) == "ab"
    with pytest.raises(UnsupportedTemplate):
        render("{{#equals endpoint.url 'x'}}y{{/equals}}", context)


def test_requests_follow_the_service_rules() -> None:
    """The URL must start with {{endpoint.url}}, `//` collapses, authorization parameters stay out of URL and body,
    and a data source's own Authorization header replaces the scheme's."""
    kind = {
        "authenticationSchemes": [{"type": "ms.vss-endpoint.endpoint-auth-scheme-none"}],
        "dataSources": [
            {
                "name": "Probe",
                "endpointUrl": "{{endpoint.url}}/oidc/v1/token?s={{endpoint.secret}}",
                "requestVerb": "Post",
                "requestContent": "grant_type=client_credentials&x={{endpoint.secret}}",
                "headers": [{"name": "Authorization", "value": 'Basic {{#base64 endpoint.id ":" endpoint.secret}}'}],
            },
            {"name": "Elsewhere", "endpointUrl": "https://other.example/"},
        ],
    }
    endpoint = Endpoint("https://h", "None", {"id": "i", "secret": "s"})
    request = data_source_request(kind, "probe", endpoint)
    assert (request.method, request.url, request.body) == (
        "POST",
        "https://h/oidc/v1/token?s=",
        "grant_type=client_credentials&x=",
    )
    assert request.headers == {"Authorization": "Basic aTpz"}
    with pytest.raises(ValueError, match="must start with"):
        data_source_request(kind, "Elsewhere", endpoint)
