"""The agent's proxy and CA certificate as the core applies them (dbcicd.connect.network): the bypass list read as
task-lib reads it (regular expressions, ignoring case, tested on the URL), NO_PROXY and the proxy URL as requests
reads them."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from dbcicd.connect.network import NetworkSettings
from dbcicd.errors import ConfigurationError
from dbcicd.secrets import redact

WORKSPACE = "https://adb-1234567890123456.7.azuredatabricks.net"


def test_the_bypass_list_holds_regular_expressions_tested_on_the_url_ignoring_case() -> None:
    settings = NetworkSettings("http://proxy.example:8888", proxy_bypass=(r"ADB-\d+\.7\.azuredatabricks\.net",))
    env = settings.environment([WORKSPACE, "https://login.microsoftonline.com", "https://dev.azure.com/org/"])
    assert env["NO_PROXY"] == env["no_proxy"] == "adb-1234567890123456.7.azuredatabricks.net"
    assert env["HTTPS_PROXY"] == env["http_proxy"] == "http://proxy.example:8888"
    assert requests.utils.should_bypass_proxies(WORKSPACE + "/api/2.0/jobs/list", env["NO_PROXY"])
    assert not requests.utils.should_bypass_proxies("https://login.microsoftonline.com/t/oauth2", env["NO_PROXY"])


def test_an_entry_python_cannot_compile_is_skipped() -> None:
    settings = NetworkSettings("http://proxy.example:8888", proxy_bypass=("(unclosed", "example"))
    assert settings.bypassed("https://example.com/") and not settings.bypassed("https://other.org/")


def test_the_proxy_credentials_go_into_the_url_percent_encoded_and_masked() -> None:
    settings = NetworkSettings.from_document(
        {"proxyUrl": "http://proxy.example:8888", "proxyUsername": "dom\\user", "proxyPassword": "p@ss:w/rd-1"}
    )
    address = settings.environment([])["HTTPS_PROXY"]
    assert address == "http://dom%5Cuser:p%40ss%3Aw%2Frd-1@proxy.example:8888"
    assert requests.utils.get_auth_from_url(address) == ("dom\\user", "p@ss:w/rd-1")
    assert "p%40ss" not in redact(address) and "p@ss:w/rd-1" not in redact("p@ss:w/rd-1")


def test_the_ca_bundle_adds_the_agents_certificate_to_the_public_ones(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nprivate\n-----END CERTIFICATE-----\n")
    bundle = Path(NetworkSettings(ca_info=str(ca)).environment([], tmp_path)["REQUESTS_CA_BUNDLE"])
    assert bundle.parent == tmp_path and bundle.read_text().endswith(ca.read_text())
    assert bundle.read_text().count("BEGIN CERTIFICATE") > 10


def test_nothing_is_set_without_a_proxy_or_certificate() -> None:
    assert NetworkSettings.from_document({}).environment([WORKSPACE]) == {}


@pytest.mark.parametrize(
    ("part", "says"),
    [
        ({"proxyUrl": "proxy.example:8888"}, "Agent.ProxyUrl"),
        ({"caInfo": "/no/such/ca.pem"}, "Agent.CAInfo"),
        ({"proxyBypass": "example"}, "network.proxyBypass"),
    ],
)
def test_a_setting_that_cannot_work_is_a_configuration_error(part: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigurationError, match=says.replace(".", r"\.")):
        NetworkSettings.from_document(part)
