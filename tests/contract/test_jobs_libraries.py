"""What a notebook task finds around it on the local workspace: %pip environments kept under the workspace's state
folder and reused by later runs, and MLflow pointed at a store under the workspace root."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from jobs_helpers import by_key, folder, notebook, notebook_task, submit_and_wait, upload

from dbcicd_localworkspace import LocalWorkspaceServer
from wheels import make_wheel


def test_pip_environment_is_built_once_under_the_state_folder(
    client: WorkspaceClient, local_workspace: LocalWorkspaceServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs installing the same package from local wheels: one environment in state/libraries, used by both."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # notebook processes inherit the server's environment
    # A valid distribution name for any pip: letters and digits joined by single underscores.
    name = "dbcicd_probe_" + "_".join(re.findall(r"[a-z0-9]+", tmp_path.name[-8:].lower()))
    make_wheel(tmp_path / "wheels", name, "2.0", "VALUE = 2\n")
    path = upload(
        client,
        f"{folder(client)}/uses_probe",
        notebook(
            f"# MAGIC %pip install --find-links {(tmp_path / 'wheels').as_posix()} {name}==2.0",
            f"import {name}\ndbutils.notebook.exit({name}.__file__)",
        ),
    )
    files = []
    for _ in range(2):
        run = submit_and_wait(client, notebook_task("probe", path))
        task = by_key(run)["probe"]
        assert task.state.result_state.value == "SUCCESS", client.jobs.get_run_output(task.run_id).error
        files.append(client.jobs.get_run_output(task.run_id).notebook_output.result)
    libraries = local_workspace.root / "state" / "libraries"
    assert files[0] == files[1]
    assert Path(files[0]).resolve().is_relative_to(libraries.resolve())


def test_notebooks_find_mlflow_configured_under_the_workspace_root(
    client: WorkspaceClient, local_workspace: LocalWorkspaceServer
) -> None:
    """MLFLOW_TRACKING_URI and MLFLOW_REGISTRY_URI name one file store in <root>/mlflow, allowed and offline."""
    path = upload(
        client,
        f"{folder(client)}/mlflow_env",
        notebook(
            "import json, os\n"
            "names = [n for n in os.environ if n.startswith('MLFLOW_')]\n"
            "dbutils.notebook.exit(json.dumps({n: os.environ[n] for n in names}))"
        ),
    )
    run = submit_and_wait(client, notebook_task("env", path))
    seen = json.loads(client.jobs.get_run_output(by_key(run)["env"].run_id).notebook_output.result)
    store = (local_workspace.root / "mlflow").resolve().as_uri()
    expected = {
        "MLFLOW_TRACKING_URI": store,
        "MLFLOW_REGISTRY_URI": store,
        "MLFLOW_ALLOW_FILE_STORE": "true",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    assert {name: seen.get(name) for name in expected} == expected
