# Databricks notebook source
# MAGIC %md
# MAGIC # Train and evaluate
# MAGIC What the staging pipeline runs when new data arrives: prepare the batch, train a candidate, evaluate it
# MAGIC against production, one notebook after the other with the same widgets. Exits with the evaluation's JSON
# MAGIC (`rmse`, `production_rmse`, `promote`, ...) plus the training metrics and the preparation's (`engine`,
# MAGIC `prepare_seconds`, row counts, `table_version`: the Delta table's version the candidate was trained on), so that
# MAGIC a later pipeline stage can run the promote notebook only when `promote` is true.

# COMMAND ----------

import json

from lending_club.datasets import load_curated
from lending_club.evaluation import plot_predictions
from lending_club.registry import open_registry
from lending_club.settings import Settings

settings = Settings.from_widgets(dbutils)
arguments = settings.as_arguments()
TIMEOUT_SECONDS = 3600


def run(notebook: str, **changes: str) -> dict:
    """Run a notebook beside this one with these settings; its exit value, parsed."""
    return json.loads(dbutils.notebook.run(notebook, TIMEOUT_SECONDS, {**arguments, **changes}))


# COMMAND ----------

prepared = run("./prepare_data")
# What prepared the batches serves them (engine=auto may differ), at the table version that holds this batch: a batch
# merged meanwhile by another run does not change what this candidate is trained on.
trained = run("./train", engine=prepared["engine"], table_version=str(prepared.get("table_version", "")))
evaluated = run("./evaluate", version=trained["version"])
print(
    f"Batch {prepared['batch']} prepared with {prepared['engine']} in {prepared['prepare_seconds']} s: "
    f"{trained['model']} version {trained['version']}: {evaluated['reason']}"
)

# COMMAND ----------

# MAGIC %md
# MAGIC The candidate's predicted incomes against the actual ones on the evaluation set (points on the line are exact):
# MAGIC shown here too, so that this task's page, which the pipeline publishes, holds the plot of the evaluation.

# COMMAND ----------

registry = open_registry(settings.registry, settings.model_name, settings.experiment, settings.registry_dir)
display(plot_predictions(registry, load_curated(settings.data_dir), trained["version"]))

# COMMAND ----------

dbutils.notebook.exit(json.dumps({**evaluated, "validation_rmse": trained["validation_rmse"], **prepared}))
