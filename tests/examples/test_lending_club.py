"""The lending-club example, unchanged, on the local workspace: the staging flow through `dbcicd run` (train and
evaluate, promote only a better model) with the file registry. The integration-test notebook runs through the
packaged task in test_demo.py."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from databricks.sdk import WorkspaceClient

from dbcicd.cli import main
from dbcicd.localworkspace import LocalWorkspaceServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lending-club"
SKIPPED_FOLDERS = {"__pycache__", ".pytest_cache", ".ruff_cache"}


def example_files() -> dict[str, str]:
    """The example's files as a user would commit them (relative path -> text)."""
    files = {}
    for path in EXAMPLE.rglob("*"):
        relative = path.relative_to(EXAMPLE)
        if path.is_file() and not SKIPPED_FOLDERS & set(relative.parts):
            files[relative.as_posix()] = path.read_text(encoding="utf-8")
    return files


def unique(name: str) -> str:
    return f"{name}-{time.time_ns() % 10**9}"


def run_notebook(repo_path: str, notebook: str, outputs: Path, **parameters: str) -> dict[str, str]:
    """`dbcicd run` of one notebook of the Git folder; its output variables (exit code 0 asserted)."""
    args = ["run", "--repo-path", repo_path, "-n", notebook, "--outputs-json", str(outputs)]
    for key, value in parameters.items():
        args += ["-p", f"{key}={value}"]
    assert main(args) == 0
    return json.loads(outputs.read_text(encoding="utf-8"))


def test_staging_flow_promotes_only_a_better_model(
    cli_env: Path,
    make_remote: Callable[[dict[str, str]], Any],
    client: WorkspaceClient,
    local_workspace: LocalWorkspaceServer,
) -> None:
    """Train and evaluate, as a staging pipeline runs it: the first model is promoted; after the next batch, a
    deliberately worse model gets `promote` false (the gate a later stage reads) and production stays.

    Uses the file registry (the fallback without MLflow) in the workspace's DBFS; test_demo.py runs the same flow
    with MLflow through the packaged task.
    """
    remote = make_remote(example_files())
    parent = f"/Repos/{unique('staging')}"
    client.workspace.mkdirs(parent)
    repo_path = client.repos.create(url=remote.url, provider="gitHub", path=f"{parent}/lending-club").path
    assert repo_path is not None
    data = unique("lending-club")
    settings = {"data_dir": f"/dbfs/{data}", "registry": "files", "rows": "1500"}

    first = run_notebook(
        repo_path, "notebooks/train_and_evaluate", cli_env / "1.json", model="gradient_boosting", **settings
    )
    assert (first["notebookOutput_promote"], first["notebookOutput_production_rmse"]) == ("true", "")
    promoted = run_notebook(repo_path, "notebooks/promote", cli_env / "2.json", **settings)
    assert promoted["notebookOutput_promoted"] == "true"
    version = promoted["notebookOutput_now_in_production"]

    worse = run_notebook(
        repo_path, "notebooks/train_and_evaluate", cli_env / "3.json", model="baseline", batch="2", **settings
    )
    assert worse["notebookOutput_promote"] == "false"
    assert float(worse["notebookOutput_rmse"]) > float(worse["notebookOutput_production_rmse"])

    registry = local_workspace.workspace.dbfs_root / data / "registry" / "lending_club_income"
    assert json.loads((registry / "aliases.json").read_text()) == {"challenger": "2", "production": version}
    assert worse["notebookOutput_production_version"] == version
