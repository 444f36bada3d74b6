# Databricks notebook source
# MAGIC %md
# MAGIC # Evaluate
# MAGIC Scores the candidate (widget `version`, else the `challenger` alias) and the model holding the `production`
# MAGIC alias on the curated evaluation set. Exits with JSON such as
# MAGIC `{"rmse": 31250.4, "production_rmse": 33010.9, "promote": true, ...}`: a pipeline gates promotion on `promote`.

# COMMAND ----------

# MAGIC %pip install -r ../requirements.txt

# COMMAND ----------

import json

from lending_club.datasets import load_curated
from lending_club.evaluation import compare, plot_predictions
from lending_club.registry import open_registry
from lending_club.settings import Settings

settings = Settings.from_widgets(dbutils)
registry = open_registry(settings.registry, settings.model_name, settings.experiment, settings.registry_dir)

# COMMAND ----------

curated = load_curated(settings.data_dir)
decision = compare(registry, curated, settings.version, settings.min_improvement)
trained_with = registry.training_params(decision.candidate_version)  # the data it was trained on among them
print(
    f"Version {decision.candidate_version} (trained with {trained_with}): "
    f"{'promote' if decision.promote else 'keep production'}, {decision.reason}"
)

# COMMAND ----------

# MAGIC %md
# MAGIC Predicted against actual incomes of the candidate on the evaluation set: points on the line are exact.

# COMMAND ----------

display(plot_predictions(registry, curated, decision.candidate_version))

# COMMAND ----------

dbutils.notebook.exit(json.dumps(decision.to_json()))
