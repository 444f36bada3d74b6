# Databricks notebook source
# MAGIC %md
# MAGIC # Train
# MAGIC Fits the income model (widget `model`) on every prepared batch so far, read by the engine that prepared them
# MAGIC (widget `engine`; with Spark, `spark.table` of the table `table`), registers it as a new version of
# MAGIC `model_name` (MLflow's model registry, with the training run tracked in `experiment`) and points the
# MAGIC `challenger` alias at it. Exits with the version and the validation metrics as JSON.

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
applications = engine.load_training(settings)
trained = train(applications, settings.model, settings.seed)
print(f"{settings.model} on {len(applications)} applications ({engine.name}: {engine.note}): {trained.metrics}")

# COMMAND ----------

params = {"model": settings.model, "batches": settings.batch, "seed": settings.seed}
version = registry.register(trained.model, applications[list(FEATURES)].head(20), params, trained.metrics)
registry.set_alias(CHALLENGER, version)
print(f"Registered {settings.model_name} version {version} as {CHALLENGER}")
dbutils.notebook.exit(json.dumps({"version": version, "model": settings.model, **trained.metrics}))
