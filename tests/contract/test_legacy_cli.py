"""The legacy `databricks-cli` 0.18 client (what the Databricks blog's deploy script uses) on the local workspace.

It speaks Jobs API 2.0 with `Content-Type: text/json` bodies and GET parameters in the query string.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from databricks_cli.sdk.api_client import ApiClient
from databricks_cli.sdk.service import JobsService, ReposService
from requests.exceptions import HTTPError

from dbcicd_localworkspace import LocalWorkspaceServer

TEST_NOTEBOOK = """# Databricks notebook source
dbutils.widgets.text("environment", "dev")

# COMMAND ----------

assert dbutils.widgets.get("environment") == "staging"
dbutils.notebook.exit("integration tests passed")
"""


@pytest.fixture
def legacy_client(local_workspace: LocalWorkspaceServer) -> ApiClient:
    client = ApiClient(host=local_workspace.host, token=local_workspace.token)
    # databricks-cli builds its base URL from the host name alone (real workspaces listen on 443), dropping the port.
    client.url = f"{local_workspace.host}/api/"
    return client


def test_blog_deploy_sequence(
    legacy_client: ApiClient, make_remote: Callable[[dict[str, str]], Any], local_workspace: LocalWorkspaceServer
) -> None:
    """Create a Git folder, switch it to the branch, submit the test notebook, poll, check SUCCESS, delete it."""
    remote = make_remote({"README.md": "demo\n"})
    remote.commit({"tests/integration.py": TEST_NOTEBOOK}, "add tests", branch="feature/x")
    repos, runs = ReposService(legacy_client), JobsService(legacy_client)
    user = legacy_client.perform_query("GET", "/preview/scim/v2/Me")["userName"]
    path = f"/Repos/{user}/demo_feature_{time.time_ns() // 1000}"

    repo = repos.create_repo(remote.url, "gitHub", path=path)
    try:
        updated = repos.update_repo(repo["id"], branch="feature/x")
        assert updated["branch"] == "feature/x"
        run_id = runs.submit_run(
            run_name="integration",
            existing_cluster_id="local",
            notebook_task={"notebook_path": f"{path}/tests/integration", "base_parameters": {"environment": "staging"}},
        )["run_id"]
        deadline = time.monotonic() + 60
        while True:
            run = runs.get_run(run_id)
            if run["state"]["life_cycle_state"] in ("TERMINATED", "SKIPPED", "INTERNAL_ERROR"):
                break
            assert time.monotonic() < deadline, run["state"]
            time.sleep(0.1)
        assert run["state"]["result_state"] == "SUCCESS", run["state"]
        assert "tasks" not in run  # the 2.0 shape has no task array
        output = runs.get_run_output(run_id)
        assert output["notebook_output"]["result"] == "integration tests passed"
    finally:
        repos.delete_repo(repo["id"])
    with pytest.raises(HTTPError, match="404"):
        repos.get_repo(repo["id"])
