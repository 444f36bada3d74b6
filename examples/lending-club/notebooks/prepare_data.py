# Databricks notebook source
# MAGIC %md
# MAGIC # Prepare data
# MAGIC A batch of loan applications arrives (widget `batch`; here made by the seeded generator, shaped like Lending
# MAGIC Club's loan data). It is stored as received, cleaned into model input, and, on the first run, the curated
# MAGIC evaluation set is made. With Spark (widget `engine`: `auto` takes Spark when a session can be made) the batch
# MAGIC lands as parquet in `data_dir`, is read back with `spark.read`, cleaned with `pyspark.sql.functions` and
# MAGIC MERGEd INTO the Delta table `table`, keyed on the loan id; with pandas it is CSV files in `data_dir`. Exits with
# MAGIC the row counts, the engine, the seconds the preparation took and, with Spark, the version of `table` that holds
# MAGIC the batch (`table_version`), as JSON.

# COMMAND ----------

# MAGIC %pip install -r ../requirements.txt

# COMMAND ----------

import json
import time

from lending_club.engines import open_engine
from lending_club.settings import Settings

settings = Settings.from_widgets(dbutils)

# COMMAND ----------

started = time.monotonic()
engine = open_engine(settings.engine, lambda: spark)
print(f"Engine: {engine.name} ({engine.note}), ready in {time.monotonic() - started:.1f} s")

# COMMAND ----------

summary = engine.prepare_batch(settings)
seconds = round(time.monotonic() - started, 1)
prepared = settings.table if engine.name == "spark" else f"{settings.data_dir}/prepared"
print(f"Batch {settings.batch} in {settings.data_dir}, prepared into {prepared} in {seconds} s: {summary}")
dbutils.notebook.exit(json.dumps({**summary, "engine": engine.name, "prepare_seconds": seconds}))
