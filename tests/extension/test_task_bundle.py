"""Bundles through the packaged task: deploy (the Databricks CLI installed from a loopback release server, its
checksum verified), run the deployed job by its resource key, destroy — with the CLI's arguments and environment
checked (credentials in its environment, never its arguments); a validation diagnostic as an issue with its file and
line; a held deploy lock named with the way out. The CLI is the stand-in (tests/fakes/databricks_cli.py): the real one
never runs against the local workspace."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound

from dbcicd_localworkspace.http.tenants import Tenant
from release_server import release_files, serving
from task_harness import Agent, cancel, finish

pytestmark = pytest.mark.local_only("runs the CLI stand-in against the local workspace")

CLI_TIMEOUT = 120  # a one-shot CLI call takes about a second; a loaded 2-core machine many times that
BUNDLE = """\
bundle:
  name: demo

variables:
  build:
    default: "0"

targets:
  ci:
    default: true
    presets:
      name_prefix: "[ci ${var.build}] "
    workspace:
      root_path: /Workspace/Shared/ci/${bundle.name}/${var.build}

resources:
  jobs:
    nightly:
      name: nightly
      tasks:
        - task_key: main
          existing_cluster_id: local
          notebook_task:
            notebook_path: ./src/main.py
"""
NOTEBOOK = "# Databricks notebook source\nprint('hi')\n"


@pytest.fixture
def bundle_agent(tenant_agent: Agent) -> Agent:
    """An agent with a tool cache of its own, signed in to the test's tenant, with the bundle in its checkout."""
    agent = tenant_agent
    folder = agent.sources / "bundle"
    (folder / "src").mkdir(parents=True)
    (folder / "databricks.yml").write_text(BUNDLE)
    (folder / "src" / "main.py").write_text(NOTEBOOK)
    return agent


def test_deploy_then_run_by_resource_key_then_destroy(
    bundle_agent: Agent, isolated_workspace: Tenant, isolated_client: WorkspaceClient, tmp_path: Path
) -> None:
    record = tmp_path / "calls.jsonl"
    inputs = {"bundleDir": "bundle", "bundleTarget": "ci", "bundleVariables": "build=41"}
    with serving(release_files("1.13.0")) as (url, asked):
        variables = {"DBCICD_CLI_RELEASES_URL": url, "DBCICD_FAKE_CLI_RECORD": str(record)}
        deployed = bundle_agent.run({"command": "deploy", **inputs}, variables)
        assert deployed.result == "Succeeded", deployed.stdout + deployed.stderr
        assert len(asked) == 2, "the release and its checksums"
        ran = bundle_agent.run({"command": "run", "bundleJob": "nightly", **inputs}, variables)
        destroyed = bundle_agent.run({"command": "destroy", **inputs}, variables)
        assert len(asked) == 2, "later steps take the CLI from the tool cache"

    job_id = int(deployed.variables["jobId_nightly"])
    assert deployed.variables["bundleTarget"] == "ci"
    assert "SHA256" in deployed.stdout and "verified" in deployed.stdout
    [summary] = [c.data for c in deployed.commands("task.uploadsummary")]
    page = Path(summary).read_text()
    assert f"/jobs/{job_id})" in page and "[ci 41] nightly" in page

    assert ran.result == "Succeeded", ran.stdout + ran.stderr
    assert ran.variables["resultState"] == "SUCCESS"
    assert isolated_client.jobs.get_run(int(ran.variables["runId"])).job_id == job_id

    assert destroyed.result == "Succeeded", destroyed.stdout + destroyed.stderr
    assert not list(isolated_client.jobs.list())
    with pytest.raises(NotFound):
        isolated_client.workspace.get_status("/Workspace/Shared/ci/demo/41")

    calls = [json.loads(line) for line in record.read_text().splitlines()]
    verbs = [c["argv"][:2] for c in calls if c["argv"][:1] == ["bundle"]]
    assert verbs == [
        ["bundle", "validate"],
        ["bundle", "deploy"],
        ["bundle", "summary"],
        ["bundle", "summary"],
        ["bundle", "destroy"],
    ]
    for call in calls:
        if call["argv"][:1] == ["bundle"]:
            assert call["argv"][2:4] == ["--target=ci", "--var=build=41"]
            assert call["cwd"] == str(bundle_agent.sources / "bundle")
            assert call["databricks_settings"]["DATABRICKS_HOST"] == isolated_workspace.host
            assert call["databricks_settings"]["DATABRICKS_AUTH_TYPE"] == "pat"
            assert "DATABRICKS_TOKEN" in call["env_names"]
    assert isolated_workspace.token not in record.read_text(), "no secret in the CLI's arguments"


def test_a_validation_diagnostic_is_an_issue_at_its_file_and_line(
    bundle_agent: Agent, fake_databricks_cli: Path, isolated_client: WorkspaceClient
) -> None:
    broken = BUNDLE.replace(
        "      name: nightly\n", "      name: nightly\n      '##vso[task.setvariable variable=pwned]yes': 1\n"
    ).replace(
        "          existing_cluster_id: local\n          notebook_task:\n            notebook_path: ./src/main.py",
        "          spark_python_task:\n            python_file: ./src/main.py",
    )
    (bundle_agent.sources / "bundle" / "databricks.yml").write_text(broken)
    task_line = broken.splitlines().index("        - task_key: main") + 1
    cli = str(fake_databricks_cli / "databricks")
    run = bundle_agent.run({"command": "deploy", "bundleDir": "bundle", "cliPath": cli})

    assert run.result == "Failed"
    issues = {c.properties.get("type"): c for c in run.commands("task.logissue") if c.properties.get("sourcepath")}
    error, warning = issues["error"], issues["warning"]
    assert error.properties["sourcepath"] == str(bundle_agent.sources / "bundle" / "databricks.yml")
    assert error.properties["linenumber"] == str(task_line)
    assert "Missing required cluster or environment settings" in error.data
    assert "unknown field" in warning.data and "# #vso[" in warning.data
    assert "pwned" not in run.variables and not run.failed_commands
    assert any("The bundle did not validate" in message for message in run.errors), run.errors
    closing = "The Databricks CLI's bundle command (validate, deploy, summary or destroy) failed; see the errors above."
    assert run.errors[-1] == closing, "the step's closing line names what failed: the CLI, not a run"
    assert not list(isolated_client.jobs.list()), "nothing deployed"


def test_a_held_deploy_lock_names_its_holder_and_the_input_that_takes_it_over(
    bundle_agent: Agent, fake_databricks_cli: Path, isolated_workspace: Tenant, isolated_client: WorkspaceClient
) -> None:
    cli = str(fake_databricks_cli / "databricks")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(bundle_agent.work),
        "DATABRICKS_HOST": isolated_workspace.host,
        "DATABRICKS_TOKEN": isolated_workspace.token,
        "DBCICD_FAKE_CLI_HANG": "deploy",
    }
    other = subprocess.Popen(
        [cli, "bundle", "deploy"], cwd=bundle_agent.sources / "bundle", env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        assert other.stderr is not None and other.stderr.readline().startswith("Uploading bundle files")
        _wait_for_lock(isolated_client, "/Workspace/Shared/ci/demo/0/state/deploy.lock")
        inputs = {"command": "deploy", "bundleDir": "bundle", "cliPath": cli}
        blocked = bundle_agent.run(inputs)
    finally:
        other.terminate()
        other.wait(CLI_TIMEOUT)
    user = isolated_client.current_user.me().user_name
    assert blocked.result == "Failed"
    [message] = [m for m in blocked.errors if "deploy lock" in m]
    assert f"The deploy lock of target the default target is held by {user} since 20" in message
    assert "bundleForceLock" in message

    forced = bundle_agent.run({**inputs, "bundleForceLock": "true"})
    assert forced.result == "Succeeded", forced.stdout + forced.stderr
    assert "jobId_nightly" in forced.variables


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="finds the CLI's process in /proc")
def test_cancelling_a_deploy_stops_the_cli(
    bundle_agent: Agent, fake_databricks_cli: Path, isolated_client: WorkspaceClient
) -> None:
    import time

    cli = str(fake_databricks_cli / "databricks")
    inputs = {"command": "deploy", "bundleDir": "bundle", "cliPath": cli}
    started = time.monotonic()
    process = bundle_agent.start(inputs, {"DBCICD_FAKE_CLI_HANG": "deploy"})
    _wait_for_lock(isolated_client, "/Workspace/Shared/ci/demo/0/state/deploy.lock")
    assert _cli_processes(bundle_agent.sources / "bundle"), "the deploy is under way"
    cancel(process)
    run = finish(process, started)

    assert run.result == "Canceled"
    assert "the Databricks CLI (bundle deploy) was stopped" in run.stdout + run.stderr
    assert not _cli_processes(bundle_agent.sources / "bundle"), "no CLI left running"


def _cli_processes(folder: Path) -> list[int]:
    """The CLI stand-in's processes working in `folder`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes()
            if b"databricks_cli.py" in command and (entry / "cwd").resolve() == folder.resolve():
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


def _wait_for_lock(client: WorkspaceClient, path: str) -> None:
    import time

    deadline = time.monotonic() + CLI_TIMEOUT
    while True:
        try:
            client.workspace.get_status(path)
            return
        except NotFound:
            assert time.monotonic() < deadline, "the other deploy never took the lock"
            time.sleep(0.1)
