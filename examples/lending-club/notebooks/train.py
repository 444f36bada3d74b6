# Databricks notebook source
# MAGIC %md
# MAGIC # Train
# MAGIC Fits the income model (widget `model`) on every prepared batch so far, read by the engine that prepared them
# MAGIC (widget `engine`; with Spark, the Delta table `table` `VERSION AS OF` the widget `table_version`, default the
# MAGIC newest), registers it as a new version of `model_name` (MLflow's model registry, with the training run tracked
# MAGIC in `experiment`, its params naming the table and the version read) and points the `challenger` alias at it.
# MAGIC Exits with the version, the validation metrics and the data it was trained on as JSON.

# COMMAND ----------

# MAGIC %pip install -r ../requirements.txt

# COMMAND ----------

import json

from lending_club.engines import open_engine
from lending_club.features import FEATURES
from lending_club.model import train
from lending_club.registry import CHALLENGER, open_registry
from lending_club.settings import Settings

settings = Settings.from_widgets(dbutils)
registry = open_registry(settings.registry, settings.model_name, settings.experiment, settings.registry_dir)

# COMMAND ----------

engine = open_engine(settings.engine, lambda: spark)
data = engine.load_training(settings)
applications = data.applications
trained = train(applications, settings.model, settings.seed)
print(f"{settings.model} on {len(applications)} applications of {data.source} ({engine.note}): {trained.metrics}")

# COMMAND ----------

params = {"model": settings.model, "batches": settings.batch, "seed": settings.seed, **data.source}
version = registry.register(trained.model, applications[list(FEATURES)].head(20), params, trained.metrics)
registry.set_alias(CHALLENGER, version)
print(f"Registered {settings.model_name} version {version} as {CHALLENGER}")
dbutils.notebook.exit(json.dumps({"version": version, "model": settings.model, **trained.metrics, **data.source}))
