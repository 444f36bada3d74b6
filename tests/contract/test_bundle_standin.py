"""The Databricks CLI stand-in (tests/fakes/databricks_cli.py) against the local workspace: what `bundle validate`,
`deploy`, `summary` and `destroy` print and do there, as databricks/cli v1.13.0 does (the stand-in cites the source
of each behaviour). The real CLI runs itself on a real workspace, so these tests are the local workspace's alone."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service import jobs

from dbcicd_localworkspace import Tenant

pytestmark = pytest.mark.local_only("models the Databricks CLI; on a real workspace the real CLI runs")

# A one-shot CLI call takes about a second here; a loaded 2-core machine may take many times that.
CLI_TIMEOUT = 120

BUNDLE = """\
bundle:
  name: demo

include:
  - resources/*.yml

variables:
  greeting:
    description: what the notebook says
    default: hello

targets:
  dev:
    mode: development
    default: true
  ci:
    presets:
      name_prefix: "[ci ${var.build}] "
    workspace:
      root_path: /Workspace/Shared/ci/${bundle.name}/${var.build}
    variables:
      greeting: bonjour
"""
JOBS = """\
variables:
  build:
    default: "0"

resources:
  jobs:
    nightly:
      name: nightly ${var.greeting}
      tasks:
        - task_key: main
          existing_cluster_id: local
          notebook_task:
            notebook_path: ../src/main.py
            base_parameters:
              greeting: ${var.greeting}
              user: ${workspace.current_user.short_name}
"""
NOTEBOOK = "# Databricks notebook source\nprint('hi')\n"


def _bundle(folder: Path) -> Path:
    (folder / "resources").mkdir(parents=True)
    (folder / "src").mkdir()
    (folder / "databricks.yml").write_text(BUNDLE)
    (folder / "resources" / "jobs.yml").write_text(JOBS)
    (folder / "src" / "main.py").write_text(NOTEBOOK)
    return folder


def _env(tenant: Tenant, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "BUNDLE_VAR_", "DBCICD_FAKE"))}
    return {**env, "DATABRICKS_HOST": tenant.host, "DATABRICKS_TOKEN": tenant.token, **extra}


def _cli(cli: Path, args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(cli / "databricks"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def ws(isolated_workspace: Tenant) -> WorkspaceClient:
    return WorkspaceClient(host=isolated_workspace.host, token=isolated_workspace.token, auth_type="pat")


def test_version_prints_the_cli_format(fake_databricks_cli: Path, tmp_path: Path) -> None:
    for args in (["--version"], ["version"]):
        out = subprocess.run([str(fake_databricks_cli / "databricks"), *args], capture_output=True, text=True)
        assert out.returncode == 0
        assert out.stdout.startswith("Databricks CLI v1.")


def test_validate_json_resolves_targets_variables_and_paths(
    fake_databricks_cli: Path, isolated_workspace: Tenant, ws: WorkspaceClient, tmp_path: Path
) -> None:
    root = _bundle(tmp_path / "bundle")
    user = ws.current_user.me().user_name
    short = (user or "").split("@")[0].lower()
    dev = _cli(fake_databricks_cli, ["bundle", "validate", "-o", "json"], root, _env(isolated_workspace))
    assert dev.returncode == 0, dev.stderr
    config = json.loads(dev.stdout)
    assert config["bundle"] == {
        "name": "demo",
        "target": "dev",
        "mode": "development",
        "deployment": {"lock": {"enabled": False}},
    }
    assert config["workspace"]["root_path"] == f"/Workspace/Users/{user}/.bundle/demo/dev"
    assert config["workspace"]["file_path"] == f"/Workspace/Users/{user}/.bundle/demo/dev/files"
    job = config["resources"]["jobs"]["nightly"]
    assert job["name"].startswith("[dev ") and job["name"].endswith("] nightly hello")
    task = job["tasks"][0]["notebook_task"]
    assert task["notebook_path"] == f"/Workspace/Users/{user}/.bundle/demo/dev/files/src/main"
    assert task["base_parameters"]["greeting"] == "hello"
    assert task["base_parameters"]["user"] == config["workspace"]["current_user"]["short_name"]
    assert short.startswith(config["workspace"]["current_user"]["short_name"][:3])
    assert "targets" not in config

    args = ["bundle", "validate", "-t", "ci", "--var", "build=42", "-o", "json"]
    ci = json.loads(_cli(fake_databricks_cli, args, root, _env(isolated_workspace)).stdout)
    assert ci["workspace"]["root_path"] == "/Workspace/Shared/ci/demo/42"
    assert ci["resources"]["jobs"]["nightly"]["name"] == "[ci 42] nightly bonjour"


def test_validate_diagnostics_name_file_line_and_path(
    fake_databricks_cli: Path, isolated_workspace: Tenant, tmp_path: Path
) -> None:
    root = _bundle(tmp_path / "bundle")
    broken = JOBS.replace("      name: nightly", "      nmae: typo\n      name: nightly").replace(
        "          existing_cluster_id: local\n          notebook_task:\n            notebook_path: ../src/main.py",
        "          spark_python_task:\n            python_file: ../src/main.py",
    )
    (root / "resources" / "jobs.yml").write_text(broken)
    out = _cli(fake_databricks_cli, ["bundle", "validate"], root, _env(isolated_workspace))
    assert out.returncode == 1
    assert "Warning: unknown field: nmae\n  at resources.jobs.nightly\n  in resources/jobs.yml:8:7\n" in out.stderr
    assert (
        "Error: Missing required cluster or environment settings\n"
        "  at resources.jobs.nightly.tasks[0]\n"
        "  in resources/jobs.yml:11:11\n\n"
        'Task "main" requires a cluster or an environment to run.\n'
    ) in out.stderr
    assert out.stdout.endswith("Found 1 error and 1 warning\n")


def test_validate_refuses_an_unknown_target_and_a_missing_variable(
    fake_databricks_cli: Path, isolated_workspace: Tenant, tmp_path: Path
) -> None:
    root = _bundle(tmp_path / "bundle")
    out = _cli(fake_databricks_cli, ["bundle", "validate", "-t", "prod"], root, _env(isolated_workspace))
    assert out.returncode == 1
    assert "Error: prod: no such target. Available targets: dev, ci" in out.stderr
    (root / "resources" / "jobs.yml").write_text(JOBS.replace('    default: "0"\n', "    description: the build\n"))
    out = _cli(fake_databricks_cli, ["bundle", "validate"], root, _env(isolated_workspace))
    assert out.returncode == 1
    assert "Error: no value assigned to required variable build." in out.stderr
    out = _cli(fake_databricks_cli, ["bundle", "validate"], root, _env(isolated_workspace, BUNDLE_VAR_build="7"))
    assert out.returncode == 0, out.stderr


def test_deploy_creates_then_resets_summary_names_them_and_destroy_removes_everything(
    fake_databricks_cli: Path, isolated_workspace: Tenant, ws: WorkspaceClient, tmp_path: Path
) -> None:
    root = _bundle(tmp_path / "bundle")
    env = _env(isolated_workspace)
    target = ["-t", "ci", "--var", "build=1"]

    first = _cli(fake_databricks_cli, ["bundle", "deploy", *target], root, env)
    assert first.returncode == 0, first.stderr
    assert "Uploading bundle files to /Workspace/Shared/ci/demo/1/files...\n" in first.stderr
    assert "Created jobs.nightly\n" in first.stderr
    assert "Resources: 1 created, 0 changed, 0 deleted, 0 unchanged\n" in first.stderr
    summary = json.loads(_cli(fake_databricks_cli, ["bundle", "summary", *target, "-o", "json"], root, env).stdout)
    job_id = int(summary["resources"]["jobs"]["nightly"]["id"])
    assert summary["resources"]["jobs"]["nightly"]["url"].startswith(f"{isolated_workspace.host}/jobs/{job_id}")
    settings = ws.jobs.get(job_id).settings
    assert settings is not None and settings.name == "[ci 1] nightly bonjour"
    assert settings.deployment == jobs.JobDeployment(
        kind=jobs.JobDeploymentKind.BUNDLE, metadata_file_path="/Workspace/Shared/ci/demo/1/state/metadata.json"
    )
    assert [j.job_id for j in ws.jobs.list(name="[ci 1] nightly bonjour")] == [job_id]
    assert ws.workspace.get_status("/Workspace/Shared/ci/demo/1/files/src/main").object_type is not None
    assert settings.tasks and settings.tasks[0].notebook_task
    assert settings.tasks[0].notebook_task.notebook_path == "/Workspace/Shared/ci/demo/1/files/src/main"

    again = _cli(fake_databricks_cli, ["bundle", "deploy", *target], root, env)
    assert "Resources: 0 created, 0 changed, 0 deleted, 1 unchanged\n" in again.stderr
    changed = _cli(fake_databricks_cli, ["bundle", "deploy", *target, "--var", "greeting=hallo"], root, env)
    assert changed.returncode == 0, changed.stderr
    assert "Updated jobs.nightly\n" in changed.stderr
    assert ws.jobs.get(job_id).settings.name == "[ci 1] nightly hallo"  # type: ignore[union-attr]

    refused = _cli(fake_databricks_cli, ["bundle", "destroy", *target], root, env)
    assert refused.returncode == 1
    assert "To proceed, use --auto-approve." in refused.stderr
    gone = _cli(fake_databricks_cli, ["bundle", "destroy", *target, "--auto-approve"], root, env)
    assert gone.returncode == 0, gone.stderr
    assert "  delete resources.jobs.nightly\n" in gone.stderr
    assert "Destroy: 1 deleted\n" in gone.stderr
    with pytest.raises(NotFound):
        ws.workspace.get_status("/Workspace/Shared/ci/demo/1")
    assert not list(ws.jobs.list())
    nothing = _cli(fake_databricks_cli, ["bundle", "destroy", *target, "--auto-approve"], root, env)
    assert nothing.returncode == 0 and "No active deployment found to destroy!" in nothing.stderr


def test_a_held_deploy_lock_names_its_holder_and_force_lock_takes_it(
    fake_databricks_cli: Path, isolated_workspace: Tenant, ws: WorkspaceClient, tmp_path: Path
) -> None:
    root = _bundle(tmp_path / "bundle")
    env = _env(isolated_workspace)
    target = ["-t", "ci"]
    hung = subprocess.Popen(
        [str(fake_databricks_cli / "databricks"), "bundle", "deploy", *target],
        cwd=root,
        env={**env, "DBCICD_FAKE_CLI_HANG": "deploy"},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert hung.stderr is not None
        assert hung.stderr.readline().startswith("Uploading bundle files")
        lock = "/Workspace/Shared/ci/demo/0/state/deploy.lock"
        _wait_for(lambda: _exists(ws, lock))
        blocked = _cli(fake_databricks_cli, ["bundle", "deploy", *target], root, env)
        assert blocked.returncode == 1
        user = ws.current_user.me().user_name
        assert f"Error: deploy lock acquired by {user} at 20" in blocked.stderr
        assert "Another deployment may be in progress. Use --force-lock to override" in blocked.stderr
    finally:
        hung.terminate()
        hung.wait(CLI_TIMEOUT)
    assert _exists(ws, lock), "a CLI ended by a signal leaves its lock, as Go's default signal handling does"
    forced = _cli(fake_databricks_cli, ["bundle", "deploy", *target, "--force-lock"], root, env)
    assert forced.returncode == 0, forced.stderr
    assert not _exists(ws, lock)


def test_each_invocation_is_recorded_without_secret_values(
    fake_databricks_cli: Path, isolated_workspace: Tenant, tmp_path: Path
) -> None:
    root = _bundle(tmp_path / "bundle")
    record = tmp_path / "calls.jsonl"
    env = _env(isolated_workspace, DBCICD_FAKE_CLI_RECORD=str(record))
    assert _cli(fake_databricks_cli, ["bundle", "validate", "-t", "dev"], root, env).returncode == 0
    [call] = [json.loads(line) for line in record.read_text().splitlines()]
    assert call["argv"] == ["bundle", "validate", "-t", "dev"]
    assert call["cwd"] == str(root)
    assert "DATABRICKS_TOKEN" in call["env_names"]
    assert call["databricks_settings"] == {"DATABRICKS_HOST": isolated_workspace.host}
    assert isolated_workspace.token not in record.read_text()


def _exists(ws: WorkspaceClient, path: str) -> bool:
    try:
        ws.workspace.get_status(path)
        return True
    except NotFound:
        return False


def _wait_for(condition: object, seconds: float = CLI_TIMEOUT) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_jobs_permissions_are_set_through_the_permissions_api_and_follow_the_bundle(
    fake_databricks_cli: Path, isolated_workspace: Tenant, ws: WorkspaceClient, tmp_path: Path
) -> None:
    root = _bundle(tmp_path / "bundle")
    me = ws.current_user.me().user_name
    with_permissions = JOBS.replace(
        "      tasks:\n",
        f"      permissions:\n        - level: IS_OWNER\n          user_name: {me}\n"
        "        - level: ${var.viewers}\n          group_name: users\n      tasks:\n",
    ).replace('    default: "0"\n', '    default: "0"\n  viewers:\n    default: CAN_VIEW\n')
    (root / "resources" / "jobs.yml").write_text(with_permissions)
    env = _env(isolated_workspace)
    target = ["-t", "ci"]

    def direct() -> dict[str, str]:
        answer = ws.jobs.get_permissions(str(job_id))
        return {
            (e.user_name or e.group_name or ""): p.permission_level.value  # type: ignore[union-attr]
            for e in answer.access_control_list or []
            for p in e.all_permissions or []
        }

    first = _cli(fake_databricks_cli, ["bundle", "deploy", *target], root, env)
    assert first.returncode == 0, first.stderr
    summary = json.loads(_cli(fake_databricks_cli, ["bundle", "summary", *target, "-o", "json"], root, env).stdout)
    job_id = int(summary["resources"]["jobs"]["nightly"]["id"])
    assert direct() == {me: "IS_OWNER", "users": "CAN_VIEW"}

    changed = _cli(fake_databricks_cli, ["bundle", "deploy", *target, "--var", "viewers=CAN_MANAGE_RUN"], root, env)
    assert changed.returncode == 0, changed.stderr
    assert direct() == {me: "IS_OWNER", "users": "CAN_MANAGE_RUN"}
    assert [j.job_id for j in ws.jobs.list()] == [job_id], "permissions are no job of their own"

    (root / "resources" / "jobs.yml").write_text(JOBS)  # DoDelete of permissions does nothing remotely
    dropped = _cli(fake_databricks_cli, ["bundle", "deploy", *target], root, env)
    assert dropped.returncode == 0, dropped.stderr
    assert direct() == {me: "IS_OWNER", "users": "CAN_MANAGE_RUN"}, "left as the last deploy set them"
    gone = _cli(fake_databricks_cli, ["bundle", "destroy", *target, "--auto-approve"], root, env)
    assert gone.returncode == 0 and "Destroy: 1 deleted\n" in gone.stderr, gone.stderr
