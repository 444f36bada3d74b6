"""The packaged task signing in with an ID token of the pipeline, from the emulated Azure DevOps ID token service:

- Databricks' own OIDC federation (`azure-devops-oidc`): the token exchanged at the local workspace under a service
  principal federation policy, as a pipeline with `connectionType: environment` and these variables does:

      env:
        DATABRICKS_HOST: $(DATABRICKS_HOST)
        DATABRICKS_AUTH_TYPE: azure-devops-oidc
        DATABRICKS_CLIENT_ID: $(DATABRICKS_CLIENT_ID)

- Workload identity federation of an Azure Resource Manager service connection: the service connection's token
  exchanged at (a loopback stand-in for) Microsoft Entra ID, which trusts it by a federated credential.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from azdo_idtokens import AZURE_DEVOPS_AUDIENCE, IdTokenService
from dbcicd_localworkspace import LocalWorkspaceServer
from dbcicd_localworkspace.http.tenants import Tenant
from dbcicd_localworkspace.services.federation import FederationPolicy, TokenRefused
from json_reply import send_json
from task_harness import Agent, ServiceConnection, TaskRun

ENTRA_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP_ID = "3f1c5a7e-0b9d-4e7a-9d2f-6c8e1b4a2d90"


@pytest.fixture
def id_tokens(agent: Agent) -> Iterator[IdTokenService]:
    with IdTokenService(access_token=agent.access_token, pipeline="lending-club-ci") as service:
        yield service


def job_variables(id_tokens: IdTokenService) -> dict[str, str]:
    """The job's ids and System.OidcRequestUri pointing at the ID token service."""
    job = {
        "System.TeamProjectId": str(uuid.uuid4()),
        "System.PlanId": str(uuid.uuid4()),
        "System.JobId": str(uuid.uuid4()),
        "System.HostType": "build",
    }
    return {**job, **id_tokens.job_variables(job)}


def run_cleanup(agent: Agent, tenant: Tenant, id_tokens: IdTokenService) -> TaskRun:
    variables = {
        **job_variables(id_tokens),
        # Non-secret pipeline variables reach the step's environment under these names, as env: mappings do.
        "DATABRICKS_HOST": tenant.host,
        "DATABRICKS_AUTH_TYPE": "azure-devops-oidc",
        "DATABRICKS_CLIENT_ID": tenant.oauth.client_id,
    }
    inputs = {"command": "cleanup", "connectionType": "environment", "tempFolder": f"/Repos/oidc-{time.time_ns()}"}
    return agent.run(inputs, variables)


def assert_no_token_shown(run: TaskRun, agent: Agent, id_tokens: IdTokenService, tenant: Tenant) -> None:
    shown = "\n".join(line for line in run.stdout.splitlines() if not line.startswith("##vso[task.setsecret]"))
    for secret in (agent.access_token, tenant.token, *id_tokens.issued):
        assert secret not in shown and secret not in run.stderr


def test_task_signs_in_with_azure_devops_oidc(
    agent: Agent, local_workspace: LocalWorkspaceServer, isolated_workspace: Tenant, id_tokens: IdTokenService
) -> None:
    """No secret configured anywhere: the step asks Azure DevOps for the pipeline's ID token with System.AccessToken
    and the workspace exchanges it under the service principal's federation policy."""
    policy = FederationPolicy(id_tokens.issuer, "p://example/example/lending-club-ci", (AZURE_DEVOPS_AUDIENCE,))
    local_workspace.oidc.add_federation_policy(isolated_workspace.oauth, policy)
    run = run_cleanup(agent, isolated_workspace, id_tokens)

    assert run.result == "Succeeded", run.stdout + run.stderr
    assert run.variables == {"deletedCount": "0"}
    assert [r.authorization for r in id_tokens.requests] == [f"Bearer {agent.access_token}"] * len(id_tokens.issued)
    assert id_tokens.issued, "the step asked for the pipeline's ID token"
    assert_no_token_shown(run, agent, id_tokens, isolated_workspace)


def test_task_fails_when_the_policy_names_another_pipeline(
    agent: Agent, local_workspace: LocalWorkspaceServer, isolated_workspace: Tenant, id_tokens: IdTokenService
) -> None:
    """A policy for another pipeline: the step fails at sign-in with the workspace's reason and the values the
    policy must hold (the ID token's issuer, subject and audience)."""
    policy = FederationPolicy(id_tokens.issuer, "p://example/example/release", (AZURE_DEVOPS_AUDIENCE,))
    local_workspace.oidc.add_federation_policy(isolated_workspace.oauth, policy)
    run = run_cleanup(agent, isolated_workspace, id_tokens)

    assert run.result == "Failed"
    [refusal] = [e for e in run.errors if "p://example/example/release" in e]
    assert "subject 'p://example/example/lending-club-ci', audience 'api://AzureADTokenExchange'" in refusal
    assert f"Service principal {isolated_workspace.oauth.client_id} needs a federation policy" in refusal
    assert_no_token_shown(run, agent, id_tokens, isolated_workspace)


class FakeEntra:
    """Microsoft Entra ID's token endpoint for one app registration with one federated credential (issuer, subject,
    audience), answering client_credentials grants whose client assertion it trusts with `access_token`. The
    refusal's wording is Entra's AADSTS700213 (as users report it: "No matching federated identity record found for
    presented assertion subject ...")."""

    def __init__(self, credential: FederationPolicy, access_token: str) -> None:
        self.credential = credential
        self.access_token = access_token
        self.forms: list[dict[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                status, answer = fake.answer(self.path, {k: v[-1] for k, v in parse_qs(body).items()})
                send_json(self, status, answer)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def answer(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.forms.append(form)
        if path != f"/{ENTRA_TENANT}/oauth2/v2.0/token" or form.get("client_id") != APP_ID:
            return 400, {"error": "unauthorized_client", "error_description": "AADSTS700016: Application not found."}
        try:
            self.credential.check(form.get("client_assertion", ""), account_id="")
        except TokenRefused as refused:
            description = (
                f"AADSTS700213: No matching federated identity record found for presented assertion ({refused})."
            )
            return 400, {"error": "invalid_client", "error_description": description}
        return 200, {"token_type": "Bearer", "expires_in": 3599, "access_token": self.access_token}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted", "other-connection"])
def test_task_signs_in_with_workload_identity_federation(
    agent: Agent, isolated_workspace: Tenant, trusted: bool
) -> None:
    """An Azure Resource Manager connection with scheme WorkloadIdentityFederation: the step asks Azure DevOps for
    the connection's ID token (subject sc://<org>/<project>/<connection name>) and Entra exchanges it; a federated
    credential naming another connection fails the step with Entra's reason."""
    connection_id = str(uuid.uuid4())
    with IdTokenService(access_token=agent.access_token, connections={connection_id: "prod-wif"}) as id_tokens:
        subject = "sc://example/example/prod-wif" if trusted else "sc://example/example/staging-wif"
        entra = FakeEntra(
            FederationPolicy(id_tokens.issuer, subject, (AZURE_DEVOPS_AUDIENCE,)), isolated_workspace.token
        )
        connection = ServiceConnection(
            connection_id,
            "https://management.azure.com/",
            "WorkloadIdentityFederation",
            {"serviceprincipalid": APP_ID, "tenantid": ENTRA_TENANT},
            {"environmentAuthorityUrl": entra.url + "/"},
        )
        inputs = {
            "command": "cleanup",
            "connectionType": "azureRM",
            "azureSubscription": "prod-wif",
            "workspaceUrl": isolated_workspace.host,
            "tempFolder": f"/Repos/wif-{time.time_ns()}",
        }
        try:
            run = agent.run(inputs, job_variables(id_tokens), connections={"azureSubscription": connection})
        finally:
            entra.close()

    assert id_tokens.requests, "the step asked for the service connection's ID token"
    assert [r.query.get("serviceConnectionId") for r in id_tokens.requests] == [connection.id] * len(id_tokens.requests)
    assert [f.get("client_assertion") for f in entra.forms] == id_tokens.issued
    assert_no_token_shown(run, agent, id_tokens, isolated_workspace)
    if trusted:
        assert run.result == "Succeeded", run.stdout + run.stderr
        assert run.variables == {"deletedCount": "0"}
    else:
        assert run.result == "Failed"
        assert any("AADSTS700213" in e and "sc://example/example/prod-wif" in e for e in run.errors), run.errors
