"""The contract suite's two targets: DBCICD_CONTRACT_* read as documented, and the suite run against a separately
served workspace through those variables, exactly as against a real one (local-only tests skipped, saying why,
and nothing left behind)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from contract_target import from_environment

REPO = Path(__file__).resolve().parents[2]
HOST = "https://adb-1234567890123456.7.azuredatabricks.net"


def test_no_host_means_the_local_workspace() -> None:
    assert from_environment({}) is None
    assert from_environment({"DBCICD_CONTRACT_HOST": "  ", "DBCICD_CONTRACT_TOKEN": "x"}) is None


def test_a_token_or_an_oauth_client_signs_in() -> None:
    pat = from_environment({"DBCICD_CONTRACT_HOST": HOST + "/", "DBCICD_CONTRACT_TOKEN": "dapi-1"})
    assert pat is not None and pat.host == HOST and pat.credentials == {"token": "dapi-1"}
    assert pat.environment() == {"DATABRICKS_HOST": HOST, "DATABRICKS_TOKEN": "dapi-1"}
    assert pat.compute() == {} and pat.cluster_id is None  # serverless
    oauth = from_environment(
        {
            "DBCICD_CONTRACT_HOST": HOST,
            "DBCICD_CONTRACT_CLIENT_ID": "sp-id",
            "DBCICD_CONTRACT_CLIENT_SECRET": "dose-1",
            "DBCICD_CONTRACT_CLUSTER_ID": "0123-456789-abcdefgh",
        }
    )
    assert oauth is not None and oauth.credentials == {"client_id": "sp-id", "client_secret": "dose-1"}
    assert oauth.environment()["DATABRICKS_CLIENT_SECRET"] == "dose-1"
    assert oauth.compute() == {"existing_cluster_id": "0123-456789-abcdefgh"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "also set DBCICD_CONTRACT_TOKEN"),
        ({"DBCICD_CONTRACT_CLIENT_ID": "sp-id"}, "also set DBCICD_CONTRACT_TOKEN"),
        ({"DBCICD_CONTRACT_TOKEN": "t", "DBCICD_CONTRACT_CLIENT_ID": "sp-id"}, "not both"),
    ],
    ids=["no credentials", "client id without secret", "token and client"],
)
def test_incomplete_descriptions_are_refused(extra: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        from_environment({"DBCICD_CONTRACT_HOST": HOST, **extra})


def test_a_variable_the_group_lacks_is_unset() -> None:
    """Azure Pipelines leaves `$(NAME)` as it is for a variable the group does not define."""
    found = from_environment(
        {
            "DBCICD_CONTRACT_HOST": HOST,
            "DBCICD_CONTRACT_TOKEN": "dapi-1",
            "DBCICD_CONTRACT_CLIENT_ID": "$(DBCICD_CONTRACT_CLIENT_ID)",
            "DBCICD_CONTRACT_CLIENT_SECRET": "$(DBCICD_CONTRACT_CLIENT_SECRET)",
            "DBCICD_CONTRACT_CLUSTER_ID": "$(DBCICD_CONTRACT_CLUSTER_ID)",
        }
    )
    assert found is not None and found.credentials == {"token": "dapi-1"} and found.cluster_id is None


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`dbcicd local serve` in a process of its own: to the suite, a workspace as remote as a real one."""
    log = tmp_path / "serve.log"
    with log.open("w") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "dbcicd", "local", "serve", "--root", str(tmp_path / "served")],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(2)]
        assert all("=" in line for line in lines), f"dbcicd local serve did not start: {log.read_text()}"
        yield dict(line.split("=", 1) for line in lines)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_the_suite_runs_against_a_served_workspace_and_leaves_nothing(served: dict[str, str]) -> None:
    """Pointed at the served workspace through DBCICD_CONTRACT_*, the suite's Jobs and server tests pass, the
    local-only ones skip with their reason, and the workspace holds no job and no folder of theirs afterwards."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DBCICD_CONTRACT_")}
    environ |= {"DBCICD_CONTRACT_HOST": served["DATABRICKS_HOST"], "DBCICD_CONTRACT_TOKEN": served["DATABRICKS_TOKEN"]}
    files = ["tests/contract/test_jobs_jobs.py", "tests/contract/test_server.py"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-ra", "-p", "no:cacheprovider", *files],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "local workspace only: injects faults into the local workspace" in done.stdout
    assert "local workspace only: the local workspace's one cluster, always running" in done.stdout

    def get(path: str) -> dict:
        request = urllib.request.Request(served["DATABRICKS_HOST"] + path)
        request.add_header("Authorization", f"Bearer {served['DATABRICKS_TOKEN']}")
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read() or b"{}")

    assert get("/api/2.2/jobs/list").get("jobs", []) == []
    assert get("/api/2.0/workspace/list?path=/Shared").get("objects", []) == []
