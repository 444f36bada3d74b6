"""The packaged task on an agent configured with a proxy or a private CA certificate: every call of the step goes
through the agent's proxy (Agent.ProxyUrl, with its credentials), none for a host of its bypass list
(Agent.ProxyBypassList), and a workspace served with a certificate from a private authority is trusted through the
agent's CA certificate (Agent.CAInfo) — and refused, saying what to set, without it. The variables are those the
agent sets (tools/localagent.py AgentNetwork); the proxy is a real one on loopback (tests/forward_proxy.py).
"""

from __future__ import annotations

import ssl
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from dbcicd_localworkspace import LocalWorkspaceServer
from forward_proxy import ForwardProxy
from task_harness import Agent, AgentNetwork, PackagedTask, TaskRun

NOTEBOOK = """# Databricks notebook source
print("reached")
"""
PROXY_USER = "builder"
PROXY_PASSWORD = "proxy-secret-" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA(organization_name="dbcicd tests private CA")


@pytest.fixture
def plain_workspace(tmp_path: Path) -> Iterator[LocalWorkspaceServer]:
    """A workspace of this test alone, so that every call it counts is this step's."""
    with LocalWorkspaceServer(root=tmp_path / "workspace") as server:
        yield server


@pytest.fixture
def tls_workspace(tmp_path: Path, authority: trustme.CA) -> Iterator[LocalWorkspaceServer]:
    """The same over HTTPS, with a certificate for 127.0.0.1 issued by the private authority."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    with LocalWorkspaceServer(root=tmp_path / "workspace", ssl_context=context) as server:
        yield server


def run_test_step(
    server: LocalWorkspaceServer,
    network: AgentNetwork,
    packaged_task: PackagedTask,
    node: str,
    tools_directory: Path,
    work: Path,
    make_remote: Callable[[dict[str, str]], Any],
) -> TaskRun:
    remote = make_remote({"tests/test_reached.py": NOTEBOOK})
    agent = Agent(packaged_task, node, server, tools_directory, work, network=network)
    step = {
        "Build.Repository.Uri": remote.url,
        "Build.SourceBranch": "refs/heads/main",
        "Build.SourceVersion": remote.commit({}, "build"),
    }
    inputs = {"command": "test", "gitProvider": "gitHub", "notebooks": "tests/test_reached"}
    return agent.run(inputs, step)


def workspace_calls(server: LocalWorkspaceServer) -> Counter[str]:
    return Counter(server.calls)


@pytest.mark.slow
def test_every_call_of_a_step_goes_through_the_agents_proxy(
    plain_workspace: LocalWorkspaceServer,
    packaged_task: PackagedTask,
    node: str,
    tools_directory: Path,
    tmp_path: Path,
    make_remote: Callable[[dict[str, str]], Any],
) -> None:
    with ForwardProxy(PROXY_USER, PROXY_PASSWORD) as proxy:
        network = AgentNetwork(proxy.url, PROXY_USER, PROXY_PASSWORD)
        run = run_test_step(plain_workspace, network, packaged_task, node, tools_directory, tmp_path, make_remote)
        passed = proxy.passed()
    assert run.result == "Succeeded", run.stdout + run.stderr
    assert passed and all(p.authenticated for p in passed), passed
    origin = plain_workspace.host
    through_proxy = Counter(f"{p.method} {p.target.removeprefix(origin)}" for p in passed)
    assert through_proxy == workspace_calls(plain_workspace)
    # The proxy password is a secret variable: the agent masks it in the log, where only task-lib's debug line of
    # its own reads (on import, _exposeProxySettings) name it, and the task registers it (task.setsecret).
    assert PROXY_PASSWORD not in "\n".join(run.record.log) + run.stderr
    allowed = {f"##vso[task.debug]Agent.ProxyPassword={PROXY_PASSWORD}", f"##vso[task.setsecret]{PROXY_PASSWORD}"}
    leaks = [line for line in run.stdout.splitlines() if PROXY_PASSWORD in line]
    assert set(leaks) == allowed, leaks


@pytest.mark.slow
def test_a_host_of_the_bypass_list_is_called_directly(
    plain_workspace: LocalWorkspaceServer,
    packaged_task: PackagedTask,
    node: str,
    tools_directory: Path,
    tmp_path: Path,
    make_remote: Callable[[dict[str, str]], Any],
) -> None:
    port = plain_workspace.port
    with ForwardProxy(PROXY_USER, PROXY_PASSWORD) as proxy:
        # A .proxybypass line as the agent keeps it: a regular expression, tested on the request's URL.
        network = AgentNetwork(proxy.url, PROXY_USER, PROXY_PASSWORD, (rf"^http://127\.0\.0\.1:{port}",))
        run = run_test_step(plain_workspace, network, packaged_task, node, tools_directory, tmp_path, make_remote)
        passed = proxy.passed()
    assert run.result == "Succeeded", run.stdout + run.stderr
    assert sum(workspace_calls(plain_workspace).values()) > 0
    assert passed == []


@pytest.mark.slow
def test_a_private_certificate_authority_is_trusted_through_the_agents_ca_certificate(
    tls_workspace: LocalWorkspaceServer,
    authority: trustme.CA,
    packaged_task: PackagedTask,
    node: str,
    tools_directory: Path,
    tmp_path: Path,
    make_remote: Callable[[dict[str, str]], Any],
) -> None:
    ca_file = tmp_path / "private-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    with ForwardProxy() as proxy:  # a proxy that tunnels HTTPS, as a TLS-inspecting one is reached
        network = AgentNetwork(proxy.url, ca_info=str(ca_file))
        run = run_test_step(tls_workspace, network, packaged_task, node, tools_directory, tmp_path, make_remote)
        passed = proxy.passed()
    assert run.result == "Succeeded", run.stdout + run.stderr
    assert passed and {p.target for p in passed} == {f"127.0.0.1:{tls_workspace.port}"}
    assert {p.method for p in passed} == {"CONNECT"}


@pytest.mark.slow
def test_a_private_certificate_authority_not_given_to_the_agent_is_refused_saying_what_to_set(
    tls_workspace: LocalWorkspaceServer,
    packaged_task: PackagedTask,
    node: str,
    tools_directory: Path,
    tmp_path: Path,
    make_remote: Callable[[dict[str, str]], Any],
) -> None:
    run = run_test_step(tls_workspace, AgentNetwork(), packaged_task, node, tools_directory, tmp_path, make_remote)
    assert run.result == "Failed"
    message = "\n".join(run.errors)
    assert "TLS certificate is not trusted" in message, message
    assert "--sslcacert" in message and "Agent.CAInfo" in message, message
