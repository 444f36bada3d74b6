# Databricks notebook source
# MAGIC %md
# MAGIC # Train
# MAGIC Fits the income model (widget `model`) on every prepared batch so far, registers it as a new version of
# MAGIC `model_name` (MLflow's model registry, with the training run tracked in `experiment`) and points the
# MAGIC `challenger` alias at it. Exits with the version and the validation metrics as JSON.

# COMMAND ----------

# MAGIC %pip install -r ../requirements.txt

# COMMAND ----------

import json

from lending_club.datasets import load_training
from lending_club.features import FEATURES
from lending_club.model import train
from lending_club.registry import CHALLENGER, open_registry
from lending_club.settings import Settings

settings = Settings.from_widgets(dbutils)
registry = open_registry(settings.registry, settings.model_name, settings.experiment, settings.registry_dir)

# COMMAND ----------

applications = load_training(settings.data_dir)
trained = train(applications, settings.model, settings.seed)
print(f"{settings.model} on {len(applications)} applications: {trained.metrics}")

# COMMAND ----------

params = {"model": settings.model, "batches": settings.batch, "seed": settings.seed}
version = registry.register(trained.model, applications[list(FEATURES)].head(20), params, trained.metrics)
registry.set_alias(CHALLENGER, version)
print(f"Registered {settings.model_name} version {version} as {CHALLENGER}")
dbutils.notebook.exit(json.dumps({"version": version, "model": settings.model, **trained.metrics}))
