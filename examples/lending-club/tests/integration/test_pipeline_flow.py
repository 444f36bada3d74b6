"""The pipeline end to end, each step a notebook run as a job runs it: run by the test_pipeline notebook, which
sets LENDING_CLUB_TEST_SETTINGS to a configuration of its own (data folder, Delta table, model name)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from lending_club.registry import open_registry
from lending_club.settings import Settings

SETTINGS_VARIABLE = "LENDING_CLUB_TEST_SETTINGS"
NOTEBOOKS = "../notebooks"  # relative to the test_pipeline notebook, which runs these tests
TIMEOUT_SECONDS = 1800

pytestmark = pytest.mark.skipif(
    SETTINGS_VARIABLE not in os.environ, reason="runs inside the test_pipeline notebook (needs dbutils.notebook.run)"
)


def given_settings() -> Settings:
    """The configuration the test_pipeline notebook made for these tests."""
    return Settings.parse(json.loads(os.environ[SETTINGS_VARIABLE]))


def run_notebook(name: str, **changes: str) -> dict[str, Any]:
    """Run a notebook of the project with the test settings (and `changes`); its exit value, parsed."""
    from databricks.sdk.runtime import dbutils

    arguments = {**json.loads(os.environ[SETTINGS_VARIABLE]), **changes}
    return json.loads(dbutils.notebook.run(f"{NOTEBOOKS}/{name}", TIMEOUT_SECONDS, arguments))


@pytest.fixture(scope="module")
def first() -> dict[str, Any]:
    """The first batch arrives; a gradient boosting model is trained and evaluated."""
    return run_notebook("train_and_evaluate", model="gradient_boosting", batch="1")


@pytest.fixture(scope="module")
def promoted(first: dict[str, Any]) -> dict[str, Any]:
    """The first candidate goes through promotion."""
    return run_notebook("promote", version=first["candidate_version"])


@pytest.fixture(scope="module")
def worse(promoted: dict[str, Any]) -> dict[str, Any]:
    """The second batch arrives; the deliberately weak baseline is trained and evaluated against production."""
    return run_notebook("train_and_evaluate", model="baseline", batch="2")


@pytest.fixture(scope="module")
def refused(worse: dict[str, Any]) -> dict[str, Any]:
    """The worse candidate goes through promotion all the same."""
    return run_notebook("promote", version=worse["candidate_version"])


def test_data_preparation_keeps_usable_applications(first: dict[str, Any]) -> None:
    """Every generated application has an income, so preparation, on the engine the test notebook chose, keeps them
    all; the curated set is made."""
    assert first["engine"] == json.loads(os.environ[SETTINGS_VARIABLE])["engine"]
    assert first["prepared_rows"] == first["raw_rows"] > 0
    assert first["curated_rows"] > 100 and first["prepare_seconds"] > 0


def test_first_model_is_promoted_when_nothing_is_in_production(first: dict[str, Any]) -> None:
    """With no production model yet, the first candidate is recommended for promotion."""
    assert first["promote"] is True
    assert first["production_rmse"] is None
    assert first["rmse"] > 0


def test_promotion_moves_the_production_alias(first: dict[str, Any], promoted: dict[str, Any]) -> None:
    """The promote notebook points the production alias at the recommended candidate."""
    assert promoted["promoted"] is True
    assert promoted["now_in_production"] == first["candidate_version"]


def test_a_worse_model_is_not_recommended(first: dict[str, Any], worse: dict[str, Any]) -> None:
    """The baseline scores worse than the production model on the curated set, so evaluation says keep production."""
    assert worse["promote"] is False
    assert worse["production_version"] == first["candidate_version"]
    assert worse["rmse"] > worse["production_rmse"] == first["rmse"]


def test_promotion_refuses_a_worse_model(first: dict[str, Any], refused: dict[str, Any]) -> None:
    """Run anyway, the promote notebook re-checks and leaves production where it was."""
    assert refused["promoted"] is False
    assert refused["now_in_production"] == first["candidate_version"]


def test_each_model_names_the_data_it_was_trained_on(first: dict[str, Any], worse: dict[str, Any]) -> None:
    """Each candidate's training run records what it read: with Spark the Delta table and the version the batch's
    MERGE made, a version that still reads as that batch's data after the next batch is merged; with pandas the
    files."""
    settings = given_settings()
    registry = open_registry(settings.registry, settings.model_name, settings.experiment, settings.registry_dir)
    params = [registry.training_params(run["candidate_version"]) for run in (first, worse)]
    if settings.engine == "pandas":
        assert [p["prepared_files"] for p in params] == ["batch-0001.csv", "batch-0001.csv,batch-0002.csv"]
        return
    from pyspark.sql import SparkSession

    from lending_club.spark_prepare import load_training

    versions = [run["table_version"] for run in (first, worse)]
    assert [(p["table"], p["table_version"]) for p in params] == [(settings.table, str(v)) for v in versions]
    assert versions[0] < versions[1]
    spark = SparkSession.getActiveSession()
    assert spark is not None, "the test_pipeline notebook's Spark session"
    then, _ = load_training(spark, settings.table, versions[0])
    assert len(then) == first["prepared_rows"]
    now, _ = load_training(spark, settings.table, versions[1])
    assert len(now) == first["prepared_rows"] + worse["prepared_rows"]
