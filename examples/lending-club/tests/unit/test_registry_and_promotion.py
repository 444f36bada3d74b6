"""Registering versions, aliases, and the promotion rule: only a better model takes the production alias.

The file registry runs everywhere; the same flow runs against MLflow's registry (a file store in a temporary folder)
when MLflow is installed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

from lending_club.evaluation import compare, promote_if_better
from lending_club.features import FEATURES
from lending_club.model import Trained, predict
from lending_club.registry import CHALLENGER, PRODUCTION, FileRegistry, ModelRegistry, open_registry


def register(registry: ModelRegistry, trained: Trained, clean: pd.DataFrame, kind: str) -> str:
    version = registry.register(trained.model, clean[list(FEATURES)].head(5), {"model": kind}, trained.metrics)
    registry.set_alias(CHALLENGER, version)
    return version


@pytest.fixture
def files(tmp_path: Path) -> FileRegistry:
    return FileRegistry(tmp_path / "registry", "income")


@pytest.fixture(params=["files", "mlflow"])
def any_registry(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelRegistry:
    """Each kind of registry, empty."""
    if request.param == "mlflow":
        if importlib.util.find_spec("mlflow") is None:
            pytest.skip("MLflow is not installed")
        store = (tmp_path / "mlflow").as_uri()
        monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
        monkeypatch.setenv("MLFLOW_REGISTRY_URI", store)
        monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
        monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    return open_registry(request.param, "income", "/Shared/income-tests", str(tmp_path / "registry"))


def test_only_a_better_model_is_promoted(
    any_registry: ModelRegistry, good: Trained, baseline: Trained, clean: pd.DataFrame, curated: pd.DataFrame
) -> None:
    """First model: promoted. A worse one: evaluated as worse, refused, production unchanged."""
    first = register(any_registry, good, clean, "gradient_boosting")
    decision = promote_if_better(any_registry, curated)
    assert (decision.promote, decision.production_rmse) == (True, None)
    assert any_registry.version_for(PRODUCTION) == first

    worse = register(any_registry, baseline, clean, "baseline")
    assert worse != first and any_registry.version_for(CHALLENGER) == worse
    decision = promote_if_better(any_registry, curated)
    assert decision.promote is False
    assert decision.rmse > decision.production_rmse
    assert (decision.candidate_version, decision.production_version) == (worse, first)
    assert any_registry.version_for(PRODUCTION) == first

    loaded = any_registry.load(first)
    assert (predict(loaded, curated.head(5)) == predict(good.model, curated.head(5))).all()
    any_registry.delete_model()
    assert any_registry.version_for(PRODUCTION) is None


def test_a_version_names_the_data_it_was_trained_on(
    any_registry: ModelRegistry, good: Trained, clean: pd.DataFrame
) -> None:
    """The params a version is registered with come back as text from its training run: the table version among them."""
    params = {"model": "gradient_boosting", "table": "main.default.loans", "table_version": 3}
    version = any_registry.register(good.model, clean[list(FEATURES)].head(5), params, good.metrics)
    assert any_registry.training_params(version) == {**params, "table_version": "3"}
    any_registry.delete_model()


def test_a_better_model_replaces_production(
    files: FileRegistry, good: Trained, baseline: Trained, clean: pd.DataFrame, curated: pd.DataFrame
) -> None:
    """With the baseline in production, the real model is promoted: the decision names both scores."""
    weak = register(files, baseline, clean, "baseline")
    files.set_alias(PRODUCTION, weak)
    strong = register(files, good, clean, "gradient_boosting")
    decision = promote_if_better(files, curated)
    assert decision.promote and decision.rmse < decision.production_rmse
    assert f"production version {weak}" in decision.reason
    assert files.version_for(PRODUCTION) == strong


def test_the_production_version_is_not_promoted_again(
    files: FileRegistry, good: Trained, clean: pd.DataFrame, curated: pd.DataFrame
) -> None:
    """Evaluating the version already in production recommends nothing."""
    version = register(files, good, clean, "gradient_boosting")
    files.set_alias(PRODUCTION, version)
    decision = compare(files, curated, candidate_version=version)
    assert decision.promote is False and decision.rmse == decision.production_rmse
    assert "already in production" in decision.reason


def test_a_required_improvement_holds_back_a_model_that_is_only_as_good(
    files: FileRegistry, good: Trained, clean: pd.DataFrame, curated: pd.DataFrame
) -> None:
    """With min_improvement, an equally good model (a retrain of the same) is not promoted."""
    files.set_alias(PRODUCTION, register(files, good, clean, "gradient_boosting"))
    register(files, good, clean, "gradient_boosting")
    assert compare(files, curated).promote is False
    with pytest.raises(ValueError, match="min_improvement"):
        compare(files, curated, min_improvement=1.5)


def test_without_a_candidate_evaluation_says_to_train_first(files: FileRegistry, curated: pd.DataFrame) -> None:
    """Nothing registered yet: the error says a model must be trained."""
    with pytest.raises(LookupError, match="train a model first"):
        compare(files, curated)


def test_file_registry_numbers_versions_and_checks_aliases(
    files: FileRegistry, good: Trained, clean: pd.DataFrame
) -> None:
    """Versions count up from 1; an alias cannot name a version that does not exist; the decision serializes."""
    assert [register(files, good, clean, "gradient_boosting") for _ in range(3)] == ["1", "2", "3"]
    with pytest.raises(ValueError, match="no version 9"):
        files.set_alias(PRODUCTION, "9")
    with pytest.raises(FileNotFoundError, match="no version 9"):
        files.load("9")


def test_unknown_registry_kind_names_the_choices(tmp_path: Path) -> None:
    """A misspelt registry widget fails with the kinds there are."""
    with pytest.raises(ValueError, match="auto, mlflow, files"):
        open_registry("s3", "income", "/Shared/x", str(tmp_path))
