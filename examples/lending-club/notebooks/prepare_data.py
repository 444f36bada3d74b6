# Databricks notebook source
# MAGIC %md
# MAGIC # Prepare data
# MAGIC A batch of loan applications arrives (widget `batch`; here made by the seeded generator, shaped like Lending
# MAGIC Club's loan data). It is stored as received, cleaned into model input, and, on the first run, the curated
# MAGIC evaluation set is made. Exits with the row counts as JSON.

# COMMAND ----------

# MAGIC %pip install -r ../requirements.txt

# COMMAND ----------

import json

from lending_club.datasets import prepare_batch
from lending_club.settings import Settings

settings = Settings.from_widgets(dbutils)

# COMMAND ----------

summary = prepare_batch(settings.data_dir, settings.batch, settings.rows, settings.seed)
print(f"Batch {settings.batch} in {settings.data_dir}: {summary}")
dbutils.notebook.exit(json.dumps(summary))
