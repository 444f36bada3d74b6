"""Model versions and aliases: the MLflow model registry, or a folder with the same semantics where MLflow is absent.

Training registers each model as a new version and points the `challenger` alias at it; promotion points the
`production` alias at a version. Evaluation and serving ask which version an alias names. On Databricks (and on the
local workspace, which keeps an MLflow store under its root) this is MLflow's registry; `FileRegistry` gives the
same behaviour in a folder of pickles, so the promotion logic runs wherever the example runs.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from sklearn.pipeline import Pipeline

CHALLENGER = "challenger"
PRODUCTION = "production"
REGISTRY_KINDS = ("auto", "mlflow", "files")
SERVING_PACKAGES = ("scikit-learn", "numpy", "pandas", "cloudpickle")


class ModelRegistry(Protocol):
    def register(self, model: Pipeline, sample: pd.DataFrame, params: dict[str, Any], metrics: dict[str, float]) -> str:
        """Store `model` as a new version (with the training run's params and metrics); its version."""
        ...

    def load(self, version: str) -> Pipeline: ...

    def training_params(self, version: str) -> dict[str, str]:
        """The params `version` was registered with: how it was trained, and on which data."""
        ...

    def version_for(self, alias: str) -> str | None:
        """The version `alias` points at; None when the model or the alias does not exist yet."""
        ...

    def set_alias(self, alias: str, version: str) -> None: ...

    def delete_model(self) -> None:
        """Remove the model, its versions and aliases (test configurations clean up with it)."""
        ...


def open_registry(kind: str, model_name: str, experiment: str, folder: str) -> ModelRegistry:
    """`mlflow`, `files` (in `folder`), or `auto`: MLflow when it is installed, else files."""
    if kind not in REGISTRY_KINDS:
        raise ValueError(f"registry must be one of {', '.join(REGISTRY_KINDS)}, got {kind!r}")
    if kind == "auto":
        kind = "mlflow" if importlib.util.find_spec("mlflow") is not None else "files"
    if kind == "mlflow":
        return MlflowRegistry(model_name, experiment)
    return FileRegistry(Path(folder), model_name)


class MlflowRegistry:
    """Versions in MLflow's model registry; each registration is a tracked run of `experiment`."""

    NOT_FOUND = ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")

    def __init__(self, model_name: str, experiment: str) -> None:
        from mlflow import MlflowClient

        self.model_name = model_name
        self.experiment = experiment
        self._client = MlflowClient()

    def register(self, model: Pipeline, sample: pd.DataFrame, params: dict[str, Any], metrics: dict[str, float]) -> str:
        import mlflow
        from mlflow.models import infer_signature

        mlflow.set_experiment(self.experiment)
        # MLflow 3 names the logged model `name`; MLflow 2 called it `artifact_path`.
        where = {"name": "model"} if int(mlflow.__version__.split(".")[0]) >= 3 else {"artifact_path": "model"}
        with mlflow.start_run(run_name=f"{self.model_name} {params.get('model', '')}".strip()):
            mlflow.log_params(params)
            mlflow.log_metrics(metrics)
            info = mlflow.sklearn.log_model(
                model,
                registered_model_name=self.model_name,
                # Unity Catalog registers only models with a signature.
                signature=infer_signature(sample, model.predict(sample)),
                # Databricks' default; the local default (skops) needs a package the example does not require.
                serialization_format="cloudpickle",
                # What serving the model needs: the versions it was trained with. Given, MLflow need not infer them
                # (it would load the model in a subprocess for that, seconds per registration).
                pip_requirements=[f"{name}=={importlib.metadata.version(name)}" for name in SERVING_PACKAGES],
                **where,
            )
        return str(info.registered_model_version)

    def load(self, version: str) -> Pipeline:
        import mlflow

        return mlflow.sklearn.load_model(f"models:/{self.model_name}/{version}")

    def training_params(self, version: str) -> dict[str, str]:
        run_id = self._client.get_model_version(self.model_name, version).run_id
        return dict(self._client.get_run(run_id).data.params)

    def version_for(self, alias: str) -> str | None:
        registered = self._registered()
        version = (registered.aliases or {}).get(alias) if registered is not None else None
        return None if version is None else str(version)

    def set_alias(self, alias: str, version: str) -> None:
        self._client.set_registered_model_alias(self.model_name, alias, version)

    def delete_model(self) -> None:
        if self._registered() is not None:
            self._client.delete_registered_model(self.model_name)

    def _registered(self) -> Any:
        """The registered model (with its aliases), or None when nothing was registered under the name yet."""
        from mlflow.exceptions import MlflowException

        try:
            return self._client.get_registered_model(self.model_name)
        except MlflowException as err:
            if err.error_code in self.NOT_FOUND:
                return None
            raise


class FileRegistry:
    """Versions as folders of a model folder: `<folder>/<name>/versions/<n>/model.pkl` (with `run.json`: params and
    metrics), aliases in `<folder>/<name>/aliases.json`. Creating a version folder is atomic, so concurrent
    registrations get distinct versions; aliases are rewritten through a temporary file."""

    def __init__(self, folder: Path, model_name: str) -> None:
        self.model_name = model_name
        self.root = folder / model_name

    def register(self, model: Pipeline, sample: pd.DataFrame, params: dict[str, Any], metrics: dict[str, float]) -> str:
        versions = self.root / "versions"
        versions.mkdir(parents=True, exist_ok=True)
        number = max((int(p.name) for p in versions.iterdir() if p.name.isdigit()), default=0) + 1
        while True:
            try:
                (versions / str(number)).mkdir()
                break
            except FileExistsError:
                number += 1
        folder = versions / str(number)
        _write_atomically(folder / "run.json", json.dumps({"params": params, "metrics": metrics}, indent=1).encode())
        _write_atomically(folder / "model.pkl", pickle.dumps(model))
        return str(number)

    def load(self, version: str) -> Pipeline:
        path = self.root / "versions" / version / "model.pkl"
        if not path.exists():
            raise FileNotFoundError(f"model {self.model_name} has no version {version} in {self.root}")
        with path.open("rb") as fh:
            return pickle.load(fh)

    def training_params(self, version: str) -> dict[str, str]:
        """As text, as MLflow keeps params."""
        run = json.loads((self.root / "versions" / version / "run.json").read_text(encoding="utf-8"))
        return {name: str(value) for name, value in run["params"].items()}

    def version_for(self, alias: str) -> str | None:
        return self._aliases().get(alias)

    def set_alias(self, alias: str, version: str) -> None:
        if not (self.root / "versions" / version).is_dir():
            raise ValueError(f"model {self.model_name} has no version {version}")
        aliases = {**self._aliases(), alias: version}
        _write_atomically(self.root / "aliases.json", json.dumps(aliases, indent=1).encode())

    def delete_model(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def _aliases(self) -> dict[str, str]:
        path = self.root / "aliases.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)
