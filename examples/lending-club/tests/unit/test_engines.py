"""Choosing the engine: pandas when asked or when no Spark session can be made (auto says why), Spark refused loudly
when asked for and unavailable. Runs without pyspark; test_spark_prepare.py tests the Spark engine itself."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from lending_club.datasets import load_training
from lending_club.engines import PandasEngine, SparkUnavailable, open_engine
from lending_club.settings import Settings


def no_spark() -> object:
    """A notebook without Spark: outside Databricks `spark` is not defined."""
    raise NameError("name 'spark' is not defined")


def test_pandas_is_taken_when_asked_without_touching_spark() -> None:
    """engine=pandas never asks for a session."""
    engine = open_engine("pandas", lambda: pytest.fail("engine=pandas asked for a Spark session"))
    assert (engine.name, engine.note) == ("pandas", "engine=pandas")


def test_auto_falls_back_to_pandas_saying_why() -> None:
    """Without a Spark session, auto prepares with pandas and its note gives the reason."""
    engine = open_engine("auto", no_spark)
    assert isinstance(engine, PandasEngine)
    assert engine.note.startswith("engine=auto, and Spark is unavailable, so pandas: ")
    assert "NameError" in engine.note or "pyspark is not installed" in engine.note


def test_spark_asked_for_and_unavailable_fails() -> None:
    """engine=spark does not quietly become pandas."""
    with pytest.raises(SparkUnavailable, match="engine=spark, but "):
        open_engine("spark", no_spark)


def test_unknown_engine_names_the_choices() -> None:
    """A misspelt engine widget fails with the engines there are."""
    with pytest.raises(ValueError, match="auto, spark, pandas"):
        open_engine("dask", no_spark)


def test_the_pandas_engine_prepares_and_serves_the_data_folder(tmp_path: Path) -> None:
    """The pandas engine is datasets.py: CSV in the data folder, named as the source of the training data, nothing to
    remove besides it; CSV files have no versions to read."""
    engine = open_engine("pandas", no_spark)
    settings = Settings.parse({"data_dir": str(tmp_path), "rows": "120", "batch": "2"})
    assert engine.prepare_batch(settings)["prepared_rows"] == 120
    data = engine.load_training(settings)
    pd.testing.assert_frame_equal(data.applications, load_training(str(tmp_path)))
    assert data.source == {"data_dir": str(tmp_path), "prepared_files": "batch-0002.csv"}
    with pytest.raises(ValueError, match="table_version=1 needs engine=spark"):
        engine.load_training(dataclasses.replace(settings, table_version="1"))
    engine.remove_prepared(settings)
    assert (tmp_path / "prepared" / "batch-0002.csv").exists()
