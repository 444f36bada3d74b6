"""The data preparation on Spark, as a Databricks project does it: a batch lands in the data folder as parquet, is
read back with `spark.read`, cleaned with `pyspark.sql.functions` and merged into a Delta table that training reads at
a version of its own.

    <data_dir>/raw/batch-0001.parquet    the batch as it arrived: one parquet file, whose row order is arrival order
    <table>                              a Delta table of every cleaned application so far, keyed on the loan `id`:
                                         each batch MERGEd INTO it, so each batch is a version of the table
    <data_dir>/curated/evaluation.csv    the curated evaluation set, made once, as the pandas engine makes it

Training reads the table `VERSION AS OF` a version and the model records that version, so a model names the data it
was trained on, and that data can be read again later: Delta's time travel exists for "re-creating analyses,
reports, or outputs (for example, the output of a machine learning model)" (docs.databricks.com/delta/history.html).

`clean_applications` is features.clean_applications written for Spark: the same rules give the same rows in the
same order (tests/unit/test_spark_prepare.py holds them to it). Needs Spark 4 (`Column.try_cast`) and Delta Lake,
which every Databricks cluster has ("all tables on Databricks are Delta tables", docs.databricks.com/delta/).
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from .datasets import arriving_batch, batch_name, make_curated
from .features import CATEGORICAL, FEATURES, JOB_ALIASES, NUMERIC, TARGET, UNKNOWN_JOB, check_columns

BATCH = "batch"
ROW = "row_in_batch"  # the order the applications arrived in, within their batch: training reads them back in it
KEY = "id"  # the loan's id: a batch that arrives again (a retried job) updates its rows instead of adding them
TABLE_COLUMNS = (KEY, *FEATURES, TARGET, BATCH, ROW)
# "Dec-2015" (spark.apache.org/docs/latest/sql-ref-datetime-pattern.html); a missing day is the 1st, as in pandas.
MONTH_YEAR = "MMM-yyyy"
DAYS_PER_YEAR = 365.25


def prepare_batch(spark: SparkSession, data_dir: str, table: str, batch: int, rows: int, seed: int) -> dict[str, int]:
    """Receive batch number `batch` (the same applications as the pandas engine's), store it as parquet, clean it,
    merge it into `table`, and make the curated evaluation set if it does not exist yet. Row counts, and the version
    of `table` the merge made (`table_version`: what training reads to see this batch)."""
    raw = arriving_batch(batch, rows, seed)
    landed = f"{spark_folder(data_dir)}/raw/{batch_name(batch, 'parquet')}"
    # One file, so that reading it back meets the rows in the order they arrived (the pandas engine keeps the first
    # of repeated ids, and training sees the rows in that order).
    spark.createDataFrame(raw).coalesce(1).write.mode("overwrite").format("parquet").save(landed)
    merged = merge_batch(spark, clean_applications(spark.read.format("parquet").load(landed)), table, batch)
    return {
        "batch": batch,
        "raw_rows": len(raw),
        "prepared_rows": merged["rows"],
        "curated_rows": make_curated(data_dir),
        "table_version": merged["version"],
    }


def spark_folder(folder: str) -> str:
    """`folder` as Spark names it. File code reaches the DBFS root through its /dbfs mount, Spark as dbfs:/; a
    volume is /Volumes/... to both (docs.databricks.com/files/index.html, "Work with files on Databricks")."""
    if folder == "/dbfs" or folder.startswith("/dbfs/"):
        return "dbfs:/" + folder[len("/dbfs") :].strip("/")
    return folder.rstrip("/")


def clean_applications(raw: DataFrame) -> DataFrame:
    """features.clean_applications on Spark: `id`, the FEATURES and the TARGET of each usable application, parsed and
    normalized, the first of repeated ids kept; with ROW, the position each row was read at."""
    check_columns(raw.columns)
    arrived = raw.withColumn(ROW, F.monotonically_increasing_id())  # increasing in the order the rows are read
    first = Window.partitionBy("id").orderBy(ROW)
    frame = arrived.withColumn("_nth", F.row_number().over(first)).where(F.col("_nth") == 1).drop("_nth")
    income = F.col(TARGET).try_cast("double")
    # NaN is above every number in Spark's ordering (spark.apache.org/docs/latest/sql-ref-datatypes.html, "NaN
    # Semantics"); pandas compares it as false.
    frame = frame.where((income > 0) & ~F.isnan(income))
    issued, first_credit = (F.to_date(F.col(name), MONTH_YEAR) for name in ("issue_d", "earliest_cr_line"))
    frame = frame.withColumns(
        {
            "term_months": F.split(_strip(F.col("term")), r"\s+").getItem(0).cast("int"),
            "int_rate": parse_percent(F.col("int_rate")),
            "revol_util": parse_percent(F.col("revol_util")),
            "emp_length_years": parse_emp_length(F.col("emp_length")),
            "credit_history_years": F.round(F.datediff(issued, first_credit) / DAYS_PER_YEAR, 1),
            "job": normalize_job_titles(F.col("emp_title")),
        }
    )
    # Model input is double throughout, as the pandas engine's is float.
    numbers = [F.col(name).cast("double").alias(name) for name in (*NUMERIC, TARGET)]
    return frame.select("id", *numbers[: len(NUMERIC)], *CATEGORICAL, numbers[-1], ROW)


def parse_percent(values: Column) -> Column:
    """'13.56%' -> 13.56; missing (or not a number) -> null."""
    return F.regexp_replace(_strip(values.cast("string")), "%+$", "").try_cast("double")


def parse_emp_length(values: Column) -> Column:
    """'< 1 year' -> 0, '1 year' -> 1, '10+ years' -> 10, 'n/a' or missing -> null."""
    text = F.lower(_strip(values.cast("string")))
    years = F.regexp_extract(text, r"(\d+)", 1).try_cast("double")  # no digits: '', which is no number
    return F.when(text.startswith("<"), F.lit(0.0)).otherwise(years)


def normalize_job_titles(values: Column) -> Column:
    """One spelling per job: lower case, single spaces, known abbreviations spelled out, missing -> 'unknown'."""
    text = F.regexp_replace(F.lower(_strip(values.cast("string"))), r"\s+", " ")
    named = text
    for typed, meant in JOB_ALIASES.items():
        named = F.when(text == typed, F.lit(meant)).otherwise(named)
    return F.when(named.isNull() | (named == ""), F.lit(UNKNOWN_JOB)).otherwise(named)


def _strip(text: Column) -> Column:
    return F.regexp_replace(text, r"^\s+|\s+$", "")


def merge_batch(spark: SparkSession, prepared: DataFrame, table: str, batch: int) -> dict[str, int]:
    """MERGE a cleaned batch INTO the Delta table `table` (made, empty, by the first batch), keyed on the loan id: new
    loans are inserted, loans already there updated, so a batch prepared again (a retried job) changes no row count.
    The rows the merge inserted or updated (`rows`) and the version of `table` it made (`version`)."""
    rows = prepared.withColumn(BATCH, F.lit(batch)).select(*TABLE_COLUMNS)
    # Not partitioned: "Databricks recommends you do not partition tables that contain less than a terabyte of data"
    # (docs.databricks.com/tables/partitions.html).
    spark.sql(f"CREATE TABLE IF NOT EXISTS {table} ({schema_ddl(rows)}) USING DELTA")
    view = f"lending_club_batch_{batch}"
    rows.createOrReplaceTempView(view)
    try:
        # Upsert with MERGE (docs.databricks.com/delta/merge.html; docs.delta.io/delta-update.html, "Upsert into a
        # table using merge"): the source holds each id once (clean_applications keeps the first), as MERGE requires.
        # It answers with the rows it affected (num_affected_rows: inserted, updated and deleted ones;
        # docs.databricks.com/sql/language-manual/delta-merge-into.html).
        merged = spark.sql(
            f"MERGE INTO {table} AS t USING {view} AS s ON t.{KEY} = s.{KEY} "
            "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
        ).first()
    finally:
        spark.catalog.dropTempView(view)
    return {"rows": int(merged["num_affected_rows"]), "version": latest_version(spark, table)}


def schema_ddl(frame: DataFrame) -> str:
    """The column list of a CREATE TABLE for `frame`'s columns: `id BIGINT, loan_amnt DOUBLE, ...`."""
    return ", ".join(f"`{field.name}` {field.dataType.simpleString().upper()}" for field in frame.schema.fields)


def latest_version(spark: SparkSession, table: str) -> int:
    """The newest version of the Delta table `table` (DESCRIBE HISTORY lists the newest first,
    docs.databricks.com/delta/history.html)."""
    return int(spark.sql(f"DESCRIBE HISTORY {table} LIMIT 1").first()["version"])


def read_version(spark: SparkSession, table: str, version: int) -> DataFrame:
    """`table` as it was at `version` (time travel: `VERSION AS OF`, docs.databricks.com/delta/history.html)."""
    return spark.sql(f"SELECT * FROM {table} VERSION AS OF {int(version)}")


def load_training(spark: SparkSession, table: str, version: int | None = None) -> tuple[pd.DataFrame, int]:
    """Every application in `table` at `version` (default: the newest), oldest batch first and each in arrival
    order: the rows the pandas engine's load_training gives, for the same scikit-learn training; and the version
    read, which the model records."""
    if not spark.catalog.tableExists(table):
        raise LookupError(f"no table {table}: run the prepare_data notebook first (with engine=spark)")
    read = latest_version(spark, table) if version is None else version
    ordered = read_version(spark, table, read).orderBy(BATCH, ROW)
    return missing_as_nan(ordered.select(KEY, *FEATURES, TARGET).toPandas()), read


def missing_as_nan(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing categories as NaN, as the pandas engine's frames have them and the model's imputer looks for them:
    with pandas 2, toPandas gives None."""
    categories = list(CATEGORICAL)
    frame[categories] = frame[categories].where(frame[categories].notna(), float("nan"))
    return frame


def drop_table(spark: SparkSession, table: str) -> None:
    """Remove the table of prepared batches, its history with it (a test configuration cleans up with it)."""
    spark.sql(f"DROP TABLE IF EXISTS {table}")
