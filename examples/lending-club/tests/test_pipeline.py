# Databricks notebook source
# MAGIC %md
# MAGIC # Integration tests
# MAGIC Runs the unit tests, then the pipeline (prepare, train, evaluate, promote) as notebook runs in a test
# MAGIC configuration: its own data folder and model name, both removed afterwards, so production data and the
# MAGIC production alias are never touched. With `dbcicd_results_dir` given (dbcicd gives it), pytest writes JUnit
# MAGIC XML there and each test appears in the pipeline's test results, and pytest-cov the coverage of `lending_club` as
# MAGIC Cobertura XML, which the pipeline's Code Coverage tab shows. Fails when a test fails.

# COMMAND ----------

# MAGIC %pip install -r ../requirements.txt

# COMMAND ----------

import dataclasses
import json
import os
import shutil
import sys
import tempfile
import uuid

import pytest

from lending_club.registry import open_registry
from lending_club.settings import Settings

dbutils.widgets.text("dbcicd_results_dir", "")
results_dir = dbutils.widgets.get("dbcicd_results_dir")
settings = Settings.from_widgets(dbutils)
test_settings = dataclasses.replace(
    settings,
    data_dir=tempfile.mkdtemp(prefix="lending-club-test-"),
    model_name=f"{settings.model_name}_test_{uuid.uuid4().hex[:8]}",
    experiment=f"{settings.experiment}-tests",
    rows=min(settings.rows, 2000),
)
# tests/integration reads the configuration from here.
os.environ["LENDING_CLUB_TEST_SETTINGS"] = json.dumps(test_settings.as_arguments())

# COMMAND ----------

sys.dont_write_bytecode = True  # no __pycache__ folders in the Git folder
arguments = ["-v", "unit", "integration"]
if results_dir:
    os.makedirs(results_dir, exist_ok=True)
    arguments.append(f"--junitxml={results_dir}/pytest.xml")
    # Coverage of the package as Cobertura XML beside the JUnit file: the pipeline shows it in its Code Coverage
    # tab. Coverage's own data file goes to the driver's disk (SQLite cannot open files in workspace folders).
    os.environ["COVERAGE_FILE"] = os.path.join(tempfile.mkdtemp(prefix="lending-club-coverage-"), ".coverage")
    arguments += ["--cov=lending_club", f"--cov-report=xml:{results_dir}/coverage.xml"]
try:
    exit_code = pytest.main(arguments)
finally:
    registry = open_registry(
        test_settings.registry, test_settings.model_name, test_settings.experiment, test_settings.registry_dir
    )
    registry.delete_model()
    shutil.rmtree(test_settings.data_dir, ignore_errors=True)
assert exit_code == 0, f"pytest failed with exit code {int(exit_code)}: see the test results above"
