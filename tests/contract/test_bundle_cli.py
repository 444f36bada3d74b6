"""What `databricks bundle validate`, `deploy`, `summary` and `destroy` print and do, as dbcicd relies on them.

On the local workspace the CLI is the stand-in (tests/fakes/databricks_cli.py, modelling databricks/cli v1.13.0 and
citing the source of each behaviour): the real CLI is licensed for the Databricks Services only and never runs
against the local workspace. On a real workspace (DBCICD_CONTRACT_*, contract_target.py) the same tests run the real
CLI, DBCICD_CONTRACT_CLI or the `databricks` on PATH, so that the stand-in is checked against what it models; the two
tests that need the stand-in's own switches (a deploy made to hang, its call record) are the local workspace's alone.
Every deployment a test makes is under a root of its own and destroyed after it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from contract_target import Target
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service import jobs

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
          existing_cluster_id: CLUSTER
          notebook_task:
            notebook_path: ../src/main.py
            base_parameters:
              greeting: ${var.greeting}
              user: ${workspace.current_user.short_name}
"""
NOTEBOOK = "# Databricks notebook source\nprint('hi')\n"


@dataclass
class BundleCli:
    """The CLI under test and the workspace it deploys to: the test's own tenant of the local workspace, or the real
    target."""

    program: Path
    host: str
    token: str
    client: WorkspaceClient
    cluster_id: str

    def bundle(self, folder: Path) -> Path:
        (folder / "resources").mkdir(parents=True)
        (folder / "src").mkdir()
        (folder / "databricks.yml").write_text(BUNDLE)
        (folder / "resources" / "jobs.yml").write_text(self.jobs(JOBS))
        (folder / "src" / "main.py").write_text(NOTEBOOK)
        return folder

    def jobs(self, text: str) -> str:
        """resources/jobs.yml text with the target's cluster."""
        return text.replace("existing_cluster_id: CLUSTER", f"existing_cluster_id: {self.cluster_id}")

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "BUNDLE_VAR_", "DBCICD_FAKE"))}
        return {**env, "DATABRICKS_HOST": self.host, "DATABRICKS_TOKEN": self.token, **extra}

    def __call__(
        self, args: list[str], cwd: Path, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.program), *args],
            cwd=cwd,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )


@pytest.fixture
def cli(target: Target, cluster_id: str, request: pytest.FixtureRequest) -> BundleCli:
    """The stand-in on a tenant of the local workspace of this test alone; the real CLI on a real workspace."""
    if target.is_local:
        tenant = request.getfixturevalue("isolated_workspace")
        program = request.getfixturevalue("fake_databricks_cli") / "databricks"
        client = WorkspaceClient(host=tenant.host, token=tenant.token, auth_type="pat")
        return BundleCli(program, tenant.host, tenant.token, client, cluster_id)
    found = os.environ.get("DBCICD_CONTRACT_CLI") or shutil.which("databricks")
    if not found:
        pytest.skip("needs the Databricks CLI: set DBCICD_CONTRACT_CLI or put `databricks` on PATH")
    return BundleCli(Path(found), target.host, target.token, target.client(), cluster_id)


@pytest.fixture
def build(cli: BundleCli, tmp_path: Path) -> Iterator[str]:
    """The `build` variable of this test's deployments to the `ci` target (its root path is
    /Workspace/Shared/ci/demo/<build>): unique, and whatever was deployed under it is destroyed after the test."""
    value = uuid.uuid4().hex[:10]
    yield value
    leftover = tmp_path / "leftover"
    if not leftover.exists():
        cli.bundle(leftover)
    cli(["bundle", "destroy", "-t", "ci", "--var", f"build={value}", "--auto-approve", "--force-lock"], leftover)


def test_version_prints_the_cli_format(cli: BundleCli) -> None:
    for args in (["--version"], ["version"]):
        out = cli(args, Path.cwd())
        assert out.returncode == 0
        assert out.stdout.startswith("Databricks CLI v")


def test_validate_json_resolves_targets_variables_and_paths(cli: BundleCli, tmp_path: Path) -> None:
    root = cli.bundle(tmp_path / "bundle")
    user = cli.client.current_user.me().user_name
    short = (user or "").split("@")[0].lower()
    dev = cli(["bundle", "validate", "-o", "json"], root)
    assert dev.returncode == 0, dev.stderr
    config = json.loads(dev.stdout)
    assert config["bundle"]["name"] == "demo"
    assert config["bundle"]["target"] == "dev"
    assert config["bundle"]["mode"] == "development"
    assert config["bundle"]["deployment"]["lock"]["enabled"] is False
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

    ci = json.loads(cli(["bundle", "validate", "-t", "ci", "--var", "build=42", "-o", "json"], root).stdout)
    assert ci["workspace"]["root_path"] == "/Workspace/Shared/ci/demo/42"
    assert ci["resources"]["jobs"]["nightly"]["name"] == "[ci 42] nightly bonjour"


def test_validate_diagnostics_name_file_line_and_path(cli: BundleCli, tmp_path: Path) -> None:
    root = cli.bundle(tmp_path / "bundle")
    broken = JOBS.replace("      name: nightly", "      nmae: typo\n      name: nightly").replace(
        "          existing_cluster_id: CLUSTER\n          notebook_task:\n            notebook_path: ../src/main.py",
        "          spark_python_task:\n            python_file: ../src/main.py",
    )
    (root / "resources" / "jobs.yml").write_text(broken)
    out = cli(["bundle", "validate"], root)
    assert out.returncode == 1
    assert "Warning: unknown field: nmae\n  at resources.jobs.nightly\n  in resources/jobs.yml:8:7\n" in out.stderr
    assert (
        "Error: Missing required cluster or environment settings\n"
        "  at resources.jobs.nightly.tasks[0]\n"
        "  in resources/jobs.yml:11:11\n\n"
        'Task "main" requires a cluster or an environment to run.\n'
    ) in out.stderr
    assert out.stdout.endswith("Found 1 error and 1 warning\n")


def test_validate_refuses_an_unknown_target_and_a_missing_variable(cli: BundleCli, tmp_path: Path) -> None:
    root = cli.bundle(tmp_path / "bundle")
    out = cli(["bundle", "validate", "-t", "prod"], root)
    assert out.returncode == 1
    assert "Error: prod: no such target. Available targets: dev, ci" in out.stderr
    (root / "resources" / "jobs.yml").write_text(
        cli.jobs(JOBS.replace('    default: "0"\n', "    description: the build\n"))
    )
    out = cli(["bundle", "validate"], root)
    assert out.returncode == 1
    assert "Error: no value assigned to required variable build." in out.stderr
    out = cli(["bundle", "validate"], root, cli.env(BUNDLE_VAR_build="7"))
    assert out.returncode == 0, out.stderr


def test_deploy_creates_then_resets_summary_names_them_and_destroy_removes_everything(
    cli: BundleCli, build: str, tmp_path: Path
) -> None:
    root = cli.bundle(tmp_path / "bundle")
    ws = cli.client
    target = ["-t", "ci", "--var", f"build={build}"]
    base = f"/Workspace/Shared/ci/demo/{build}"

    first = cli(["bundle", "deploy", *target], root)
    assert first.returncode == 0, first.stderr
    assert f"Uploading bundle files to {base}/files...\n" in first.stderr
    assert "Created jobs.nightly\n" in first.stderr
    assert "Resources: 1 created, 0 changed, 0 deleted, 0 unchanged\n" in first.stderr
    summary = json.loads(cli(["bundle", "summary", *target, "-o", "json"], root).stdout)
    job_id = int(summary["resources"]["jobs"]["nightly"]["id"])
    assert summary["resources"]["jobs"]["nightly"]["url"].startswith(f"{cli.host}/jobs/{job_id}")
    settings = ws.jobs.get(job_id).settings
    assert settings is not None and settings.name == f"[ci {build}] nightly bonjour"
    assert settings.deployment == jobs.JobDeployment(
        kind=jobs.JobDeploymentKind.BUNDLE, metadata_file_path=f"{base}/state/metadata.json"
    )
    assert [j.job_id for j in ws.jobs.list(name=f"[ci {build}] nightly bonjour")] == [job_id]
    assert ws.workspace.get_status(f"{base}/files/src/main").object_type is not None
    assert settings.tasks and settings.tasks[0].notebook_task
    assert settings.tasks[0].notebook_task.notebook_path == f"{base}/files/src/main"

    again = cli(["bundle", "deploy", *target], root)
    assert "Resources: 0 created, 0 changed, 0 deleted, 1 unchanged\n" in again.stderr
    changed = cli(["bundle", "deploy", *target, "--var", "greeting=hallo"], root)
    assert changed.returncode == 0, changed.stderr
    assert "Updated jobs.nightly\n" in changed.stderr
    assert ws.jobs.get(job_id).settings.name == f"[ci {build}] nightly hallo"  # type: ignore[union-attr]

    refused = cli(["bundle", "destroy", *target], root)
    assert refused.returncode == 1
    assert "To proceed, use --auto-approve." in refused.stderr
    gone = cli(["bundle", "destroy", *target, "--auto-approve"], root)
    assert gone.returncode == 0, gone.stderr
    assert "  delete resources.jobs.nightly\n" in gone.stderr
    assert "Destroy: 1 deleted\n" in gone.stderr
    with pytest.raises(NotFound):
        ws.workspace.get_status(base)
    assert not list(ws.jobs.list(name=f"[ci {build}] nightly hallo"))
    nothing = cli(["bundle", "destroy", *target, "--auto-approve"], root)
    assert nothing.returncode == 0 and "No active deployment found to destroy!" in nothing.stderr


@pytest.mark.local_only("makes the stand-in's deploy hang (DBCICD_FAKE_CLI_HANG)")
def test_a_held_deploy_lock_names_its_holder_and_force_lock_takes_it(
    cli: BundleCli, build: str, tmp_path: Path
) -> None:
    root = cli.bundle(tmp_path / "bundle")
    ws = cli.client
    target = ["-t", "ci", "--var", f"build={build}"]
    hung = subprocess.Popen(
        [str(cli.program), "bundle", "deploy", *target],
        cwd=root,
        env=cli.env(DBCICD_FAKE_CLI_HANG="deploy"),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert hung.stderr is not None
        assert hung.stderr.readline().startswith("Uploading bundle files")
        lock = f"/Workspace/Shared/ci/demo/{build}/state/deploy.lock"
        _wait_for(lambda: _exists(ws, lock))
        blocked = cli(["bundle", "deploy", *target], root)
        assert blocked.returncode == 1
        user = ws.current_user.me().user_name
        assert f"Error: deploy lock acquired by {user} at 20" in blocked.stderr
        assert "Another deployment may be in progress. Use --force-lock to override" in blocked.stderr
    finally:
        hung.terminate()
        hung.wait(CLI_TIMEOUT)
    assert _exists(ws, lock), "a CLI ended by a signal leaves its lock, as Go's default signal handling does"
    forced = cli(["bundle", "deploy", *target, "--force-lock"], root)
    assert forced.returncode == 0, forced.stderr
    assert not _exists(ws, lock)


@pytest.mark.local_only("reads the stand-in's record of its calls (DBCICD_FAKE_CLI_RECORD)")
def test_each_invocation_is_recorded_without_secret_values(cli: BundleCli, tmp_path: Path) -> None:
    root = cli.bundle(tmp_path / "bundle")
    record = tmp_path / "calls.jsonl"
    assert cli(["bundle", "validate", "-t", "dev"], root, cli.env(DBCICD_FAKE_CLI_RECORD=str(record))).returncode == 0
    [call] = [json.loads(line) for line in record.read_text().splitlines()]
    assert call["argv"] == ["bundle", "validate", "-t", "dev"]
    assert call["cwd"] == str(root)
    assert "DATABRICKS_TOKEN" in call["env_names"]
    assert call["databricks_settings"] == {"DATABRICKS_HOST": cli.host}
    assert cli.token not in record.read_text()


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
    cli: BundleCli, build: str, tmp_path: Path
) -> None:
    root = cli.bundle(tmp_path / "bundle")
    ws = cli.client
    me = ws.current_user.me().user_name
    with_permissions = JOBS.replace(
        "      tasks:\n",
        f"      permissions:\n        - level: IS_OWNER\n          user_name: {me}\n"
        "        - level: ${var.viewers}\n          group_name: users\n      tasks:\n",
    ).replace('    default: "0"\n', '    default: "0"\n  viewers:\n    default: CAN_VIEW\n')
    (root / "resources" / "jobs.yml").write_text(cli.jobs(with_permissions))
    target = ["-t", "ci", "--var", f"build={build}"]

    def direct() -> dict[str, str]:
        answer = ws.jobs.get_permissions(str(job_id))
        return {
            (e.user_name or e.group_name or ""): p.permission_level.value  # type: ignore[union-attr]
            for e in answer.access_control_list or []
            for p in e.all_permissions or []
            if not p.inherited  # a real workspace adds the admins' inherited CAN_MANAGE
        }

    first = cli(["bundle", "deploy", *target], root)
    assert first.returncode == 0, first.stderr
    summary = json.loads(cli(["bundle", "summary", *target, "-o", "json"], root).stdout)
    job_id = int(summary["resources"]["jobs"]["nightly"]["id"])
    assert direct() == {me: "IS_OWNER", "users": "CAN_VIEW"}

    changed = cli(["bundle", "deploy", *target, "--var", "viewers=CAN_MANAGE_RUN"], root)
    assert changed.returncode == 0, changed.stderr
    assert direct() == {me: "IS_OWNER", "users": "CAN_MANAGE_RUN"}
    assert [j.job_id for j in ws.jobs.list(name=f"[ci {build}] nightly bonjour")] == [job_id], "permissions are no job"

    (root / "resources" / "jobs.yml").write_text(cli.jobs(JOBS))  # DoDelete of permissions does nothing remotely
    dropped = cli(["bundle", "deploy", *target], root)
    assert dropped.returncode == 0, dropped.stderr
    assert direct() == {me: "IS_OWNER", "users": "CAN_MANAGE_RUN"}, "left as the last deploy set them"
    gone = cli(["bundle", "destroy", *target, "--auto-approve"], root)
    assert gone.returncode == 0 and "Destroy: 1 deleted\n" in gone.stderr, gone.stderr
