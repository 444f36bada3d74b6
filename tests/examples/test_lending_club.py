"""The lending-club example, unchanged, on the local workspace: the staging flow through `dbcicd run` (train and
evaluate, promote only a better model) and its integration-test notebook through `dbcicd test`, whose pytest cases
(the example's unit tests and its pipeline tests) come back as test results."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient

from dbcicd.cli import main
from dbcicd.localworkspace import LocalWorkspaceServer
from junit_reader import read

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

    Uses the file registry (the fallback without MLflow) in the workspace's DBFS; the next test uses MLflow, and the
    integration notebook it runs also checks that the promote notebook refuses a worse model.
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


def test_integration_notebook_through_dbcicd_test(
    cli_env: Path,
    make_remote: Callable[[dict[str, str]], Any],
    local_workspace: LocalWorkspaceServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`dbcicd test -n 'tests/test_*'` runs the integration notebook: unit and pipeline tests become test cases,
    MLflow tracks under the workspace root, and the test model is gone afterwards."""
    remote = make_remote(example_files())
    parent = f"/Repos/{unique('ci')}"
    args = ["test", "--git-url", remote.url, "--git-provider", "gitHub", "--branch", "main", "--temp-folder", parent]
    assert main([*args, "-n", "tests/test_*", "--report-dir", "out"]) == 0

    cases = [case for file in (cli_env / "out").rglob("*.xml") for case in read(file)]
    titles = {case.title: case.outcome for case in cases}
    assert titles["tests_test_pipeline"] == "Passed"
    assert len(cases) > 40 and {case.outcome for case in cases} == {"Passed"}
    for name in (
        "test_first_model_is_promoted_when_nothing_is_in_production",
        "test_a_worse_model_is_not_recommended",
        "test_promotion_refuses_a_worse_model",
        "test_gradient_boosting_beats_the_baseline_on_curated_data",
    ):
        assert titles.get(name) == "Passed", sorted(titles)

    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    store = (local_workspace.root / "mlflow").as_uri()
    mlflow = MlflowClient(tracking_uri=store, registry_uri=store)
    experiment = mlflow.get_experiment_by_name("/Shared/lending-club-tests")
    assert experiment is not None and mlflow.search_runs([experiment.experiment_id])
    assert not [m.name for m in mlflow.search_registered_models() if "_test_" in m.name]
