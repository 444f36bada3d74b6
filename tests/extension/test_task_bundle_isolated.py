"""`test` with a bundle through the packaged task: the bundle deployed for this build alone (under a temporary folder
of tempFolder, named as temporary Git folders are), its job run by resource key, and everything it deployed
destroyed whether the job passed or failed; `cleanup` finds what a killed agent left — the folder and the jobs
deployed from it. The CLI is the stand-in (tests/fakes/databricks_cli.py)."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound

from dbcicd.steps.tempnames import temporary_name
from dbcicd_localworkspace.http.tenants import Tenant
from junit_reader import read
from task_harness import Agent, cancel, finish

pytestmark = pytest.mark.local_only("runs the CLI stand-in against the local workspace")

TEMP = "/Shared/dbcicd-bundles"
BUNDLE = """\
bundle:
  name: demo

variables:
  dbcicd_root:
    default: /Shared/demo
  dbcicd_prefix:
    default: ""

targets:
  pr:
    default: true
    presets:
      name_prefix: ${var.dbcicd_prefix}
    workspace:
      root_path: ${var.dbcicd_root}

resources:
  jobs:
    checks:
      name: checks
      tasks:
        - task_key: main
          existing_cluster_id: local
          notebook_task:
            notebook_path: ./src/main.py
"""


@pytest.fixture
def bundle_agent(tenant_agent: Agent) -> Agent:
    """An agent with a tool cache of its own, signed in to the test's tenant, with the bundle at its checkout's root."""
    agent = tenant_agent
    (agent.sources / "src").mkdir(parents=True)
    (agent.sources / "databricks.yml").write_text(BUNDLE)
    return agent


def _inputs(cli: Path) -> dict[str, str]:
    return {"command": "test", "bundleJob": "checks", "tempFolder": TEMP, "cliPath": str(cli / "databricks")}


@pytest.mark.parametrize("passes", [True, False])
def test_a_bundle_is_deployed_for_the_build_alone_run_and_always_destroyed(
    bundle_agent: Agent, fake_databricks_cli: Path, isolated_client: WorkspaceClient, tmp_path: Path, passes: bool
) -> None:
    body = "print('ok')\n" if passes else "raise AssertionError('the check failed')\n"
    (bundle_agent.sources / "src" / "main.py").write_text("# Databricks notebook source\n" + body)
    record = tmp_path / "calls.jsonl"
    run = bundle_agent.run(_inputs(fake_databricks_cli), {"DBCICD_FAKE_CLI_RECORD": str(record)})

    assert run.result == ("Succeeded" if passes else "Failed"), run.stdout + run.stderr
    root = run.variables["bundleRootPath"]
    assert root.startswith(f"{TEMP}/dbcicd-bundle-") and f"-b{bundle_agent.build_id}-a1-" in root
    assert run.variables["resultState"] == ("SUCCESS" if passes else "FAILED")
    calls = [json.loads(line)["argv"] for line in record.read_text().splitlines()]
    assert [c[1] for c in calls if c[:1] == ["bundle"]] == ["validate", "deploy", "summary", "destroy"]
    assert f"--var=dbcicd_root={root}" in calls[0]
    assert "--force-lock" in calls[-1]
    assert not list(isolated_client.jobs.list()), "the job deployed for the build is gone"
    with pytest.raises(NotFound):
        isolated_client.workspace.get_status(root)


def test_several_bundle_jobs_each_run_and_published_one_failing_fails_the_step_and_all_is_destroyed_once(
    bundle_agent: Agent, fake_databricks_cli: Path, isolated_client: WorkspaceClient, tmp_path: Path
) -> None:
    lint = BUNDLE + (
        "    lint:\n      name: lint\n      tasks:\n        - task_key: style\n          existing_cluster_id: local\n"
        "          notebook_task:\n            notebook_path: ./src/lint.py\n"
    )
    (bundle_agent.sources / "databricks.yml").write_text(lint)
    (bundle_agent.sources / "src" / "main.py").write_text("# Databricks notebook source\nprint('ok')\n")
    (bundle_agent.sources / "src" / "lint.py").write_text(
        "# Databricks notebook source\nraise AssertionError('line too long')\n"
    )
    record = tmp_path / "calls.jsonl"
    inputs = {**_inputs(fake_databricks_cli), "bundleJob": "checks\nlint"}
    run = bundle_agent.run(inputs, {"DBCICD_FAKE_CLI_RECORD": str(record)})

    assert run.result == "Failed", run.stdout + run.stderr
    variables = run.variables
    assert (variables["resultState_checks"], variables["resultState_lint"]) == ("SUCCESS", "FAILED")
    assert {"jobId_checks", "jobId_lint", "runId_checks", "runId_lint"} <= set(variables)
    assert "resultState" not in variables, "each run's variables carry its job's key"
    published = [
        (case.title, case.outcome)
        for publish in run.commands("results.publish")
        for path in publish.properties["resultfiles"].split(",")
        for case in read(Path(path))
    ]
    assert sorted(published) == [("main", "Passed"), ("style", "Failed")]
    assert len(run.commands("task.uploadsummary")) == 2
    assert any("line too long" in error for error in run.errors)
    calls = [json.loads(line)["argv"] for line in record.read_text().splitlines()]
    assert [c[1] for c in calls if c[:1] == ["bundle"]] == ["validate", "deploy", "summary", "destroy"]
    assert not list(isolated_client.jobs.list()), "both jobs deployed for the build are gone"
    with pytest.raises(NotFound):
        isolated_client.workspace.get_status(variables["bundleRootPath"])


def test_a_cancelled_step_destroys_what_it_deployed(
    bundle_agent: Agent, fake_databricks_cli: Path, isolated_client: WorkspaceClient, tmp_path: Path
) -> None:
    (bundle_agent.sources / "src" / "main.py").write_text(
        "# Databricks notebook source\nimport time\ntime.sleep(300)\n"
    )
    record = tmp_path / "calls.jsonl"
    started = time.monotonic()
    process = bundle_agent.start(_inputs(fake_databricks_cli), {"DBCICD_FAKE_CLI_RECORD": str(record)})
    deadline = started + 120
    while not list(isolated_client.jobs.list_runs(active_only=True)):
        assert time.monotonic() < deadline and process.poll() is None, "the job's run never started"
        time.sleep(0.2)
    cancel(process)
    run = finish(process, started)

    assert run.result == "Canceled"
    calls = [json.loads(line)["argv"] for line in record.read_text().splitlines()]
    assert calls[-1][:2] == ["bundle", "destroy"] and "--force-lock" in calls[-1]
    # The destroy runs in a process group of its own: one that the cancelled step's 4 s budget cut short on a loaded
    # machine still finishes after the step has ended (the step then warns that clean-up did not finish in time).
    deadline = time.monotonic() + 120
    while list(isolated_client.jobs.list()) or list(isolated_client.workspace.list(TEMP)):
        assert time.monotonic() < deadline, run.stdout
        time.sleep(0.2)


def test_a_target_that_ignores_the_root_is_refused_before_anything_is_deployed(
    bundle_agent: Agent, fake_databricks_cli: Path, isolated_client: WorkspaceClient
) -> None:
    shared = BUNDLE.replace("root_path: ${var.dbcicd_root}", "root_path: /Shared/demo/pr")
    (bundle_agent.sources / "databricks.yml").write_text(shared)
    (bundle_agent.sources / "src" / "main.py").write_text("# Databricks notebook source\nprint('ok')\n")
    run = bundle_agent.run(_inputs(fake_databricks_cli))

    assert run.result == "Failed"
    assert any(f"does not deploy under {TEMP}/dbcicd-bundle-" in e and "dbcicd_root" in e for e in run.errors)
    assert not list(isolated_client.jobs.list())
    with pytest.raises(NotFound):
        isolated_client.workspace.get_status("/Shared/demo/pr")


def test_cleanup_removes_what_a_killed_agent_left_its_folder_and_jobs(
    bundle_agent: Agent, fake_databricks_cli: Path, isolated_workspace: Tenant, isolated_client: WorkspaceClient
) -> None:
    (bundle_agent.sources / "src" / "main.py").write_text("# Databricks notebook source\nprint('ok')\n")
    old = datetime.now(timezone.utc) - timedelta(hours=30)
    root = f"{TEMP}/{temporary_name('bundle-sources', '77', '1', now=old)}"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(bundle_agent.work),
        "DATABRICKS_HOST": isolated_workspace.host,
        "DATABRICKS_TOKEN": isolated_workspace.token,
    }
    deploy = [str(fake_databricks_cli / "databricks"), "bundle", "deploy", f"--var=dbcicd_root={root}"]
    done = subprocess.run(deploy, cwd=bundle_agent.sources, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    isolated_client.workspace.mkdirs(f"{TEMP}/not-ours")
    assert len(list(isolated_client.jobs.list())) == 1

    run = bundle_agent.run({"command": "cleanup", "tempFolder": TEMP, "olderThanHours": "24"})

    assert run.result == "Succeeded", run.stdout + run.stderr
    assert not list(isolated_client.jobs.list())
    with pytest.raises(NotFound):
        isolated_client.workspace.get_status(root)
    assert isolated_client.workspace.get_status(f"{TEMP}/not-ours").path
