# Databricks notebook source
# MAGIC %md
# MAGIC # Promote
# MAGIC Points the `production` alias at the candidate (widget `version`, else the `challenger` alias) only when it
# MAGIC beats the production model on the curated evaluation set: the comparison is made again here, so running
# MAGIC this notebook can never promote a worse model. Exits with the decision and `promoted` as JSON.

# COMMAND ----------

# MAGIC %pip install -r ../requirements.txt

# COMMAND ----------

import json

from lending_club.datasets import load_curated
from lending_club.evaluation import promote_if_better
from lending_club.registry import PRODUCTION, open_registry
from lending_club.settings import Settings

settings = Settings.from_widgets(dbutils)
registry = open_registry(settings.registry, settings.model_name, settings.experiment, settings.registry_dir)

# COMMAND ----------

decision = promote_if_better(registry, load_curated(settings.data_dir), settings.version, settings.min_improvement)
production = registry.version_for(PRODUCTION)
print(f"{'Promoted' if decision.promote else 'Not promoted'}: {decision.reason}; {PRODUCTION} is version {production}")
dbutils.notebook.exit(json.dumps({**decision.to_json(), "promoted": decision.promote, "now_in_production": production}))
