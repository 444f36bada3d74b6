"""Small seeded data shared by the unit tests, made once per session (training a model takes a moment), and a Spark
session for the Spark engine's tests."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lending_club.features import clean_applications, curate
from lending_club.generate import generate_applications
from lending_club.model import Trained, train

# Set by the test_pipeline notebook, which runs these tests too: its configuration, data folder included.
NOTEBOOK_SETTINGS = "LENDING_CLUB_TEST_SETTINGS"


@pytest.fixture(scope="session")
def raw() -> pd.DataFrame:
    return generate_applications(3000, seed=11)


@pytest.fixture(scope="session")
def clean(raw: pd.DataFrame) -> pd.DataFrame:
    return clean_applications(raw)


@pytest.fixture(scope="session")
def curated() -> pd.DataFrame:
    return curate(clean_applications(generate_applications(1500, seed=12)))


@pytest.fixture(scope="session")
def good(clean: pd.DataFrame) -> Trained:
    return train(clean, "gradient_boosting", seed=1)


@pytest.fixture(scope="session")
def baseline(clean: pd.DataFrame) -> Trained:
    return train(clean, "baseline", seed=1)


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The notebook's Spark session when the tests run in one (the test_pipeline notebook, on Databricks or a local
    workspace: a second, local Spark cannot start beside a Spark Connect session), else a local one with Delta Lake,
    as Delta's quickstart configures it (docs.delta.io/quick-start.html, "Set up Apache Spark with Delta Lake");
    skipped, saying why, without pyspark, delta-spark or Java."""
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("pyspark is not installed: pip install 'pyspark[connect]>=4' to test the Spark engine")
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not shutil.which(java):
        pytest.skip("Spark needs Java 17 (JAVA_HOME, or java on the PATH) to test the Spark engine")
    if importlib.util.find_spec("delta") is None:
        pytest.skip("delta-spark is not installed: pip install delta-spark to test the Spark engine on Delta tables")
    from delta import configure_spark_with_delta_pip

    builder = (
        SparkSession.builder.master("local[1]")
        .appName("lending-club-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        # A few thousand rows: one task per stage, and a Delta table's state (its log) read in one task, not 50
        # (Delta's own build runs its tests locally with snapshotPartitions=2: delta-io/delta build.sbt).
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.databricks.delta.snapshotPartitions", "1")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
    )
    session = configure_spark_with_delta_pip(builder).getOrCreate()  # Delta's jars, resolved by Spark
    yield session
    session.stop()


@pytest.fixture
def data_dir(tmp_path: Path) -> str:
    """A data folder that file code and Spark both reach: in the test_pipeline notebook a folder of its data folder
    (removed with it), elsewhere pytest's temporary folder."""
    given = os.environ.get(NOTEBOOK_SETTINGS)
    if given is None:
        return str(tmp_path)
    return f"{json.loads(given)['data_dir']}/unit-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def table(spark: Any) -> Iterator[str]:
    """A table name of the session's current schema for one test, dropped afterwards."""
    name = f"lending_club_unit_{uuid.uuid4().hex[:8]}"
    yield name
    spark.sql(f"DROP TABLE IF EXISTS {name}")
