"""The pipeline end to end, each step a notebook run as a job runs it: run by the test_pipeline notebook, which
sets LENDING_CLUB_TEST_SETTINGS to a configuration of its own (data folder, model name)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

SETTINGS_VARIABLE = "LENDING_CLUB_TEST_SETTINGS"
NOTEBOOKS = "../notebooks"  # relative to the test_pipeline notebook, which runs these tests
TIMEOUT_SECONDS = 1800

pytestmark = pytest.mark.skipif(
    SETTINGS_VARIABLE not in os.environ, reason="runs inside the test_pipeline notebook (needs dbutils.notebook.run)"
)


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
