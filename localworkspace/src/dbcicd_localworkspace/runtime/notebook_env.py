"""What a notebook process finds in its environment besides the server's: MLflow kept under the workspace root.

On Databricks a notebook logs runs and registers models in its workspace without configuring anything. Here the
tracking store and the model registry are one MLflow file store in `<root>/mlflow`, named by the variables MLflow
reads, so notebooks that use MLflow run unchanged, offline, and their runs and models outlive a restart when the
root is kept. They are set whether or not MLflow is installed, so that a notebook that brings it with %pip finds
them too.
"""

from __future__ import annotations

from pathlib import Path

MLFLOW_FOLDER = "mlflow"


def notebook_environment(root: Path) -> dict[str, str]:
    """The variables to add to a notebook process's environment."""
    store = (root / MLFLOW_FOLDER).resolve().as_uri()
    return {
        "MLFLOW_TRACKING_URI": store,
        "MLFLOW_REGISTRY_URI": store,
        # MLflow 3 refuses its file store unless allowed. Its database store is no alternative: it needs SQLAlchemy,
        # which mlflow-skinny lacks, and keeps artifacts in ./mlruns of whichever folder the notebook runs in.
        "MLFLOW_ALLOW_FILE_STORE": "true",
        # The local workspace works offline: MLflow must not try to send usage reports.
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
