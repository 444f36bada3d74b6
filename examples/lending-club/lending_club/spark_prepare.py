"""The data preparation on Spark, as a Databricks project does it: a batch lands in the data folder as parquet, is
read back with `spark.read`, cleaned with `pyspark.sql.functions` and stored as a table that training reads.

    <data_dir>/raw/batch-0001.parquet    the batch as it arrived: one parquet file, whose row order is arrival order
    <table>                              the cleaned batches, one partition per `batch`: what training reads
    <data_dir>/curated/evaluation.csv    the curated evaluation set, made once, as the pandas engine makes it

`clean_applications` is features.clean_applications written for Spark: the same rules give the same rows in the
same order (tests/unit/test_spark_prepare.py holds them to it). Needs Spark 4 (`Column.try_cast`).
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from .datasets import arriving_batch, batch_name, make_curated
from .features import CATEGORICAL, FEATURES, JOB_ALIASES, NUMERIC, TARGET, UNKNOWN_JOB, check_columns

BATCH = "batch"
ROW = "row_in_batch"  # the order the applications arrived in, within their batch: training reads them back in it
TABLE_COLUMNS = ("id", *FEATURES, TARGET, ROW)  # and BATCH, the partition column, last
# "Dec-2015" (spark.apache.org/docs/latest/sql-ref-datetime-pattern.html); a missing day is the 1st, as in pandas.
MONTH_YEAR = "MMM-yyyy"
DAYS_PER_YEAR = 365.25


def prepare_batch(spark: SparkSession, data_dir: str, table: str, batch: int, rows: int, seed: int) -> dict[str, int]:
    """Receive batch number `batch` (the same applications as the pandas engine's), store it as parquet, clean it
    into partition `batch` of `table`, and make the curated evaluation set if it does not exist yet. Row counts."""
    raw = arriving_batch(batch, rows, seed)
    landed = f"{spark_folder(data_dir)}/raw/{batch_name(batch, 'parquet')}"
    # One file, so that reading it back meets the rows in the order they arrived (the pandas engine keeps the first
    # of repeated ids, and training sees the rows in that order).
    spark.createDataFrame(raw).coalesce(1).write.mode("overwrite").format("parquet").save(landed)
    write_batch(spark, clean_applications(spark.read.format("parquet").load(landed)), table, batch)
    prepared_rows = spark.table(table).where(F.col(BATCH) == batch).count()
    return {
        "batch": batch,
        "raw_rows": len(raw),
        "prepared_rows": prepared_rows,
        "curated_rows": make_curated(data_dir),
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


def write_batch(spark: SparkSession, prepared: DataFrame, table: str, batch: int) -> None:
    """Store a cleaned batch as partition `batch` of `table`: a batch prepared again (a retried job) replaces its
    partition, the other batches stay. The first batch makes the table, in the session's default format: Delta on
    Databricks and where the Spark server has Delta Lake, parquet elsewhere."""
    rows = prepared.select(*TABLE_COLUMNS)
    if not spark.catalog.tableExists(table):
        rows.withColumn(BATCH, F.lit(batch)).write.partitionBy(BATCH).saveAsTable(table)
        return
    view = f"lending_club_batch_{batch}"
    rows.createOrReplaceTempView(view)
    try:
        # A static partition overwrite replaces exactly that partition, in a Delta table as in a parquet one
        # (docs.databricks.com/sql/language-manual/sql-ref-syntax-dml-insert-into.html, the PARTITION clause;
        # spark.apache.org/docs/latest/sql-ref-syntax-dml-insert-table.html).
        spark.sql(f"INSERT OVERWRITE TABLE {table} PARTITION ({BATCH} = {batch}) SELECT * FROM {view}")
    finally:
        spark.catalog.dropTempView(view)


def load_training(spark: SparkSession, table: str) -> pd.DataFrame:
    """Every prepared batch so far, oldest first and each in arrival order: the rows the pandas engine's
    load_training gives, for the same scikit-learn training."""
    if not spark.catalog.tableExists(table):
        raise LookupError(f"no table {table}: run the prepare_data notebook first (with engine=spark)")
    ordered = spark.table(table).orderBy(BATCH, ROW)
    return missing_as_nan(ordered.select("id", *FEATURES, TARGET).toPandas())


def missing_as_nan(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing categories as NaN, as the pandas engine's frames have them and the model's imputer looks for them:
    with pandas 2, toPandas gives None."""
    categories = list(CATEGORICAL)
    frame[categories] = frame[categories].where(frame[categories].notna(), float("nan"))
    return frame


def drop_table(spark: SparkSession, table: str) -> None:
    """Remove the table of prepared batches (a test configuration cleans up with it)."""
    spark.sql(f"DROP TABLE IF EXISTS {table}")
