"""Which engine prepares the data and serves it to training: Spark where a Spark session can be made, else pandas.

A Databricks notebook always has `spark`; a laptop or a CI machine may lack pyspark or Java. The widget `engine`
chooses: `spark`, `pandas`, or `auto` — Spark when pyspark is importable and a session answers, else pandas, with
the reason in the notebook's output. Both engines make the same batches from the same settings and give training
the same rows; the notebooks pass the engine that prepared the data on to training, so the two never mix.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd

from . import datasets
from .settings import Settings

ENGINES = ("auto", "spark", "pandas")


class SparkUnavailable(RuntimeError):
    """No Spark session could be made here; the message says why."""


@dataclass(frozen=True)
class TrainingData:
    """The applications a model is trained on, and where they were read (`source`: text settings the model records
    with its training run, so that a model names its data and that data can be read again)."""

    applications: pd.DataFrame
    source: dict[str, str]


class DataEngine(Protocol):
    name: str  # spark | pandas
    note: str  # how it came to be chosen, for the notebook's output

    def prepare_batch(self, settings: Settings) -> dict[str, int]:
        """Receive the batch `settings.batch`, clean it, make the curated set once; row counts of each (and, on
        Spark, the `table_version` that holds the batch)."""
        ...

    def load_training(self, settings: Settings) -> TrainingData:
        """Every prepared batch so far (on Spark: in `settings.table` at `settings.table_version`, default the
        newest), oldest first, as the model's input."""
        ...

    def remove_prepared(self, settings: Settings) -> None:
        """Remove what this engine keeps outside the data folder (a test configuration cleans up with it)."""
        ...


def open_engine(choice: str, session: Callable[[], Any]) -> DataEngine:
    """`spark` (failing when no session can be made), `pandas`, or `auto`. `session` gives the notebook's Spark
    session (`lambda: spark`); it is called only when Spark is wanted and pyspark is installed."""
    if choice not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {choice!r}")
    if choice == "pandas":
        return PandasEngine("engine=pandas")
    try:
        spark, version = _working_session(session)
    except SparkUnavailable as why:
        if choice == "spark":
            raise SparkUnavailable(f"engine=spark, but {why}") from why
        return PandasEngine(f"engine=auto, and Spark is unavailable, so pandas: {why}")
    return SparkEngine(spark, f"engine={choice}: Spark {version}")


def _working_session(session: Callable[[], Any]) -> tuple[Any, str]:
    """The session and its Spark version: asking for it is a round trip, so a session that cannot start fails here
    rather than halfway through the preparation."""
    if importlib.util.find_spec("pyspark") is None:
        raise SparkUnavailable("pyspark is not installed")
    try:
        spark = session()
        return spark, spark.version
    # Whatever the platform raises when it has no Spark (plain Python: NameError; dbcicd's local workspace without
    # Java: UnsupportedCommand): auto then takes pandas and prints this.
    except Exception as err:
        raise SparkUnavailable(f"{type(err).__name__}: {err}") from err


class PandasEngine:
    """CSV files in the data folder (datasets.py)."""

    name = "pandas"

    def __init__(self, note: str) -> None:
        self.note = note

    def prepare_batch(self, settings: Settings) -> dict[str, int]:
        return datasets.prepare_batch(settings.data_dir, settings.batch, settings.rows, settings.seed)

    def load_training(self, settings: Settings) -> TrainingData:
        """The CSV files have no versions: the source names the files read."""
        if settings.table_version:
            raise ValueError(f"table_version={settings.table_version} needs engine=spark: CSV files have no versions")
        files = datasets.prepared_files(settings.data_dir)
        source = {"data_dir": settings.data_dir, "prepared_files": ",".join(f.name for f in files)}
        return TrainingData(datasets.load_training(settings.data_dir), source)

    def remove_prepared(self, settings: Settings) -> None:
        """Nothing: everything is in the data folder."""


class SparkEngine:
    """Parquet in the data folder, the prepared batches in the Delta table `settings.table` (spark_prepare.py)."""

    name = "spark"

    def __init__(self, spark: Any, note: str) -> None:
        self.spark = spark
        self.note = note

    def prepare_batch(self, settings: Settings) -> dict[str, int]:
        from . import spark_prepare  # imports pyspark: only when Spark is there

        return spark_prepare.prepare_batch(
            self.spark, settings.data_dir, settings.table, settings.batch, settings.rows, settings.seed
        )

    def load_training(self, settings: Settings) -> TrainingData:
        from . import spark_prepare

        version = int(settings.table_version) if settings.table_version else None
        applications, read = spark_prepare.load_training(self.spark, settings.table, version)
        return TrainingData(applications, {"table": settings.table, "table_version": str(read)})

    def remove_prepared(self, settings: Settings) -> None:
        from . import spark_prepare

        spark_prepare.drop_table(self.spark, settings.table)
