"""The HTTP request Azure DevOps makes for a data source of a service endpoint type (what *Verify* sends for the
`TestConnection` data source), expanded from the extension manifest as the service does, for the tests.

It follows the service-side code of Azure DevOps Server 2022 (decompiled assemblies
Microsoft.Azure.DevOps.ServiceEndpoints.Server `PlatformServiceEndpointProxyService`, .Sdk.Server
`EndpointAuthorizerFactory`, .Common `EndpointMustacheHelper` and `TokenBasedEndpointAuthorizer`):

- The data source is found by name, case-insensitively, among the endpoint type's `dataSources`; there is one list
  per endpoint type, shared by all its authentication schemes (`GetDataSourceByName`).
- Its `endpointUrl` must start with `{{endpoint.url}}` or `{{{endpoint.url}}}` (`ApplySecurityChecks`); it and
  `requestContent` are mustache templates whose `endpoint` holds the endpoint's URL and its data parameters, but not
  its authorization parameters (`CreateReplacementContext`); `//` not after a `:` becomes `/`.
- `requestVerb` is taken as written, GET when absent; only Get and Post are implemented (REST docs of
  DataSourceDetails).
- Authorization: headers of the data source that include `Authorization` replace the scheme's; otherwise the Token
  (and UsernamePassword, OAuth2, ...) schemes send their scheme's `headers`, and scheme None sends none
  (`GetAuthorizer`). Header values are templates whose `endpoint` holds data and authorization parameters
  (`TokenBasedEndpointAuthorizer.AuthorizeRequest`).

The mustache subset here is what the manifest uses and what Microsoft's docs show: `{{name.path}}` (looked up
case-insensitively, as the service's dictionaries are), `{{{...}}}`, `{{#if path}}...{{/if}}` and
`{{#base64 a ":" b}}` (docs/extend/develop/auth-schemes.md: the basic scheme's header
`Basic {{ #base64 endpoint.username \\":\\" endpoint.password }}`). Not settled by a source: whether `{{...}}`
HTML-escapes in the service's engine (values here never contain such characters; they are left as they are), and
the exact truthiness of `#if` (here: a non-empty value). Anything else raises, so a manifest using more fails its
test instead of being expanded wrongly.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

# Scheme contribution id -> the scheme name an endpoint's authorization carries.
SCHEME_NAMES = {
    "ms.vss-endpoint.endpoint-auth-scheme-token": "Token",
    "ms.vss-endpoint.endpoint-auth-scheme-basic": "UsernamePassword",
    "ms.vss-endpoint.endpoint-auth-scheme-none": "None",
}
_TAG = re.compile(r"\{\{\{\s*(.*?)\s*\}\}\}|\{\{\s*(.*?)\s*\}\}")


class UnsupportedTemplate(Exception):
    """The manifest uses template syntax this model does not know."""


@dataclass(frozen=True)
class Endpoint:
    """A service connection as Azure DevOps holds it: URL, scheme name, authorization and data parameters."""

    url: str
    scheme: str
    parameters: Mapping[str, str]
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DataSourceRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: str | None

    def send(self, timeout: float = 20) -> requests.Response:
        """Sends it (20 s: the service's default endpoint proxy timeout, `_timeoutInSeconds`)."""
        return requests.request(self.method, self.url, headers=self.headers, data=self.body, timeout=timeout)


def endpoint_type(manifest: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """The `properties` of the manifest's service endpoint type contribution called `name`."""
    for contribution in manifest.get("contributions", []):
        properties = contribution.get("properties") or {}
        if contribution.get("type") == "ms.vss-endpoint.service-endpoint-type" and properties.get("name") == name:
            return properties
    raise KeyError(f"no service endpoint type '{name}' in the manifest")


def data_source_request(
    kind: Mapping[str, Any], data_source: str, endpoint: Endpoint, normalized: bool = True
) -> DataSourceRequest:
    """The request Azure DevOps sends for `data_source` of endpoint type `kind` with `endpoint`'s values.
    `normalized=False` takes the endpoint URL exactly as saved instead of as Uri.AbsoluteUri gives it: no public
    source says which of the two the service puts into `{{endpoint.url}}`, so a manifest must work with both."""
    found = [s for s in kind.get("dataSources", []) if str(s.get("name", "")).lower() == data_source.lower()]
    if not found:
        raise KeyError(f"the endpoint type has no data source '{data_source}'")
    source = found[0]
    url_template = source["endpointUrl"]
    if not url_template.startswith(("{{endpoint.url}}", "{{{endpoint.url}}}")):
        raise ValueError("a data source's endpointUrl must start with {{endpoint.url}} (ApplySecurityChecks)")
    url = _endpoint_url(endpoint) if normalized else endpoint.url.strip()
    public = {"endpoint": {**endpoint.data, "url": url}}
    secret = {"endpoint": {**endpoint.data, **endpoint.parameters}}
    method = (source.get("requestVerb") or "GET").upper()
    if method not in ("GET", "POST"):
        raise ValueError(f"requestVerb '{method}': only Get and Post are implemented")
    resolved_url = re.sub(r"(?<!:)//", "/", render(url_template, public))
    body = render(source["requestContent"], public) if source.get("requestContent") else None
    source_headers = source.get("headers") or []
    headers = _headers(source_headers, secret)
    if not any(name.lower() == "authorization" for name in headers):
        # With the service's feature ServiceEndpoints.EnableCustomHeadersInExtensionDataSource on (modelled), other
        # data source headers go along and the scheme authorizes; with it off any data source header replaces it.
        headers.update(_headers(_scheme(kind, endpoint.scheme).get("headers") or [], secret))
    return DataSourceRequest(method, resolved_url, headers, body)


def render(template: str, context: Mapping[str, Any]) -> str:
    """Expands the mustache subset described in the module docstring."""
    out: list[str] = []
    position = 0
    stack: list[bool] = []  # enclosing #if sections: whether each is shown
    for match in _TAG.finditer(template):
        if all(stack):
            out.append(template[position : match.start()])
        position = match.end()
        tag = (match.group(1) if match.group(1) is not None else match.group(2)).strip()
        if tag.startswith("#if "):
            stack.append(bool(_lookup(context, tag[4:].strip())))
        elif tag == "/if":
            if not stack:
                raise UnsupportedTemplate("{{/if}} without {{#if}}")
            stack.pop()
        elif tag.startswith("#base64 "):
            if all(stack):
                out.append(base64.b64encode(_concat(context, tag[8:]).encode()).decode())
        elif tag.startswith(("#", "/", "^", "!", ">", "else")):
            raise UnsupportedTemplate(f"template tag '{{{{{tag}}}}}' is not modelled")
        elif all(stack):
            out.append(_lookup(context, tag))
    if stack:
        raise UnsupportedTemplate("{{#if}} without {{/if}}")
    out.append(template[position:])
    return "".join(out)


def _lookup(context: Mapping[str, Any], path: str) -> str:
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return ""
        value = next((v for k, v in value.items() if k.lower() == part.lower()), None)
    return "" if value is None or isinstance(value, Mapping) else str(value)


def _concat(context: Mapping[str, Any], arguments: str) -> str:
    """`a ":" b` -> value of a, the literal, value of b (quotes may come escaped from JSON: `\\":\\"`)."""
    parts = re.findall(r'\\?"(.*?)\\?"|(\S+)', arguments)
    return "".join(literal if path == "" else _lookup(context, path) for literal, path in parts)


def _headers(headers: list[Mapping[str, str]], context: Mapping[str, Any]) -> dict[str, str]:
    return {h["name"].strip(): render(h["value"].strip(), context) for h in headers}


def _scheme(kind: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    for scheme in kind.get("authenticationSchemes", []):
        if SCHEME_NAMES.get(scheme.get("type", "")) == name:
            return scheme
    raise KeyError(f"the endpoint type has no authentication scheme '{name}'")


def _endpoint_url(endpoint: Endpoint) -> str:
    """The endpoint URL as .NET's Uri.AbsoluteUri gives it: a bare host gets a trailing `/`."""
    url = endpoint.url.strip()
    return url if re.match(r"^[a-z]+://[^/]+/", url) else url + "/"
