"""The agent's proxy and CA certificate, applied to every HTTP call of the core.

A self-hosted agent configured with `--proxyurl`, `--proxyusername`, `--proxypassword` (and a `.proxybypass` file) or
`--sslcacert` gives each task the variables Agent.ProxyUrl, Agent.ProxyUsername, Agent.ProxyPassword (a secret),
Agent.ProxyBypassList (a JSON array of regular expressions) and Agent.CAInfo (azure-pipelines-agent
src/Agent.Worker/ExecutionContext.cs, "Proxy variables" and "Certificate variables"); it does not export HTTPS_PROXY.
The Node entry point reads them with task-lib's getHttpProxyConfiguration and getHttpCertConfiguration and passes
them as the request document's `network` part.

Every HTTP call of the core is made with `requests`: databricks-sdk's client (its own Session, which has no proxy or
CA setting: `Config` has no proxy field and `skip_verify` is unused), its OAuth helpers (module-level
`requests.get`/`requests.post` in oauth.py, config.py, credentials_provider.py), our Entra ID and ID token calls
(workload_identity.py) and the Azure DevOps client (msrest, a requests Session). All of them honour the environment:
requests takes the proxy from HTTP_PROXY / HTTPS_PROXY unless NO_PROXY names the host, and the CA bundle from
REQUESTS_CA_BUNDLE (requests docs, "Proxies" and "SSL Cert Verification"; `Session.merge_environment_settings`).
So the settings become those variables of this process, once, before the first call — the one place every call
reads. On the CLI nothing is set here: the same variables, set by the user, apply.

The bypass list: task-lib skips the proxy for a request when any entry, as a case-insensitive JavaScript regular
expression, matches the request's URL (`new RegExp(bypassHost, 'i').test(requestUrl)` in getHttpProxyConfiguration,
and typed-rest-client's `_isMatchInBypassProxyList` tests `parsedUrl.href` alike). NO_PROXY names hosts, so each
entry is tried (`re.search`, ignoring case) on the URLs of the hosts the step calls — the workspace, the Entra ID
authority, Azure DevOps — and the hosts it matches go into NO_PROXY. An entry Python cannot compile is skipped (the
agent likewise ignores entries its own Regex rejects, src/Agent.Sdk/AgentWebProxy.cs). Unlike the agent's own calls,
task-lib does not bypass loopback addresses, and neither does this.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from ..errors import ConfigurationError
from ..secrets import register_secret

PROXY_VARIABLES = ("http_proxy", "https_proxy")
NO_PROXY = "no_proxy"
CA_BUNDLE = "REQUESTS_CA_BUNDLE"
CA_SETTING = "the agent's CA certificate (Agent.CAInfo, set by the agent's --sslcacert)"


@dataclass(frozen=True)
class NetworkSettings:
    """The request document's `network` part: the agent's proxy and CA certificate; empty when it set neither."""

    proxy_url: str = ""
    proxy_username: str = ""
    proxy_password: str = ""
    proxy_bypass: tuple[str, ...] = ()
    ca_info: str = ""

    @classmethod
    def from_document(cls, part: Mapping[str, Any]) -> NetworkSettings:
        """Parse and check the part (a ConfigurationError names what is wrong); registers the proxy password."""

        def text(name: str) -> str:
            value = part.get(name)
            if value is None:
                return ""
            if not isinstance(value, str):
                raise ConfigurationError(f"The request document's 'network.{name}' must be a string")
            return value.strip()

        password = part.get("proxyPassword")
        register_secret(password if isinstance(password, str) else None)
        bypass = part.get("proxyBypass") or []
        if not isinstance(bypass, list) or not all(isinstance(entry, str) for entry in bypass):
            raise ConfigurationError("The request document's 'network.proxyBypass' must be a list of strings")
        settings = cls(
            text("proxyUrl"),
            text("proxyUsername"),
            password if isinstance(password, str) else text("proxyPassword"),
            tuple(entry.strip() for entry in bypass if entry.strip()),
            text("caInfo"),
        )
        if settings.proxy_url:
            parts = urlsplit(settings.proxy_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigurationError(
                    f"The agent's proxy (Agent.ProxyUrl) is '{settings.proxy_url}': it must be a URL such as "
                    "http://proxy.example.com:8888"
                )
        if settings.ca_info and not Path(settings.ca_info).is_file():
            raise ConfigurationError(f"{CA_SETTING[0].upper()}{CA_SETTING[1:]} is '{settings.ca_info}': no such file")
        return settings

    @property
    def proxy_address(self) -> str:
        """The proxy URL with the credentials in it, as requests reads them (percent-encoded; task-lib's
        getProxyFormattedUrl builds `protocol//user:password@host` alike, unencoded). The password is a secret."""
        parts = urlsplit(self.proxy_url)
        if not self.proxy_username:
            return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        user = quote(self.proxy_username, safe="")
        password = quote(self.proxy_password, safe="")
        register_secret(password)
        return f"{parts.scheme}://{user}:{password}@{parts.netloc.rpartition('@')[2]}"

    def bypassed(self, url: str) -> bool:
        """Whether task-lib would call `url` without the proxy: an entry of the bypass list matches it."""
        for entry in self.proxy_bypass:
            try:
                if re.search(entry, url, re.IGNORECASE):
                    return True
            except re.error:
                continue
        return False

    def environment(self, urls: Iterable[str], directory: Path | None = None) -> dict[str, str]:
        """The variables that make requests use these settings for calls to `urls` (every host the step calls).
        With a CA certificate, REQUESTS_CA_BUNDLE names a bundle written in `directory` (default: the system's
        temporary folder): requests' own CAs (certifi's) and the agent's, so public hosts stay trusted."""
        env: dict[str, str] = {}
        if self.proxy_url:
            address = self.proxy_address
            for name in PROXY_VARIABLES:
                env[name] = env[name.upper()] = address
            hosts = {host for host in map(_host, urls) if host}
            bypassed = sorted({_no_proxy_entry(host) for host in hosts if self.bypassed(host + "/")})
            env[NO_PROXY] = env[NO_PROXY.upper()] = ",".join(bypassed)
        if self.ca_info:
            env[CA_BUNDLE] = str(_bundle(Path(self.ca_info), directory))
        return env


def apply(
    settings: NetworkSettings, urls: Iterable[str], temp: str = "", environ: MutableMapping[str, str] = os.environ
) -> None:
    """Set the settings for every later HTTP call of this process (see the module docstring); a CA bundle goes to
    `temp` (Agent.TempDirectory) when it is a folder."""
    environ.update(settings.environment(urls, Path(temp) if temp and Path(temp).is_dir() else None))


def _host(url: str) -> str:
    """`scheme://host[:port]` of a URL, '' if it has none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")


def _no_proxy_entry(host: str) -> str:
    """A NO_PROXY entry for `scheme://host[:port]`: the name with its port, or an IP address alone."""
    parts = urlsplit(host)
    hostname = parts.hostname or ""
    # requests compares an IP address whole, without a port (`should_bypass_proxies` in requests/utils.py)
    if not parts.port or _is_address(hostname):
        return hostname
    return f"{hostname}:{parts.port}"


def _is_address(hostname: str) -> bool:
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return False
    return True


def _bundle(ca: Path, directory: Path | None) -> Path:
    import certifi

    handle, name = tempfile.mkstemp(prefix="dbcicd-ca-", suffix=".pem", dir=directory)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(Path(certifi.where()).read_text(encoding="utf-8"))
        out.write("\n")
        out.write(ca.read_text(encoding="utf-8"))
    return Path(name)
