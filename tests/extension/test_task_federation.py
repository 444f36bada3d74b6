"""The packaged task signing in with Databricks' own OIDC federation from Azure DevOps (`azure-devops-oidc`): the
pipeline's ID token from the emulated Azure DevOps ID token service, exchanged at the local workspace under a
service principal federation policy, as a pipeline with `connectionType: environment` and these variables does:

    env:
      DATABRICKS_HOST: $(DATABRICKS_HOST)
      DATABRICKS_AUTH_TYPE: azure-devops-oidc
      DATABRICKS_CLIENT_ID: $(DATABRICKS_CLIENT_ID)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from azdo_idtokens import AZURE_DEVOPS_AUDIENCE, IdTokenService
from dbcicd.localworkspace import LocalWorkspaceServer
from dbcicd.localworkspace.http.tenants import Tenant
from dbcicd.localworkspace.services.federation import FederationPolicy
from task_harness import Agent, TaskRun


@pytest.fixture
def id_tokens(agent: Agent) -> Iterator[IdTokenService]:
    with IdTokenService(access_token=agent.access_token, pipeline="lending-club-ci") as service:
        yield service


def run_cleanup(agent: Agent, tenant: Tenant, id_tokens: IdTokenService) -> TaskRun:
    job = {
        "System.TeamProjectId": str(uuid.uuid4()),
        "System.PlanId": str(uuid.uuid4()),
        "System.JobId": str(uuid.uuid4()),
        "System.HostType": "build",
    }
    variables = {
        **job,
        **id_tokens.job_variables(job),
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
