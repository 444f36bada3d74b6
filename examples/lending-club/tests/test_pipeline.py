# Databricks notebook source
# MAGIC %md
# MAGIC # Integration tests
# MAGIC Runs the unit tests, then the pipeline (prepare, train, evaluate, promote) as notebook runs in a test
# MAGIC configuration: its own data folder, table and model name, all removed afterwards, so production data and the
# MAGIC production alias are never touched. The engine (widget `engine`) is chosen once, here: the pipeline's notebooks
# MAGIC run on it, and the unit tests of the Spark engine on this notebook's Spark session. With `dbcicd_results_dir`
# MAGIC given (dbcicd gives it), pytest writes JUnit XML there and each test appears in the pipeline's test results, and
# MAGIC pytest-cov the coverage of `lending_club` as Cobertura XML, which the pipeline's Code Coverage tab shows. Fails
# MAGIC when a test fails.

# COMMAND ----------

# MAGIC %pip install -r ../requirements.txt

# COMMAND ----------

import contextlib
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import uuid

import pytest

from lending_club.engines import open_engine
from lending_club.registry import open_registry
from lending_club.settings import Settings

dbutils.widgets.text("dbcicd_results_dir", "")
results_dir = dbutils.widgets.get("dbcicd_results_dir")
settings = Settings.from_widgets(dbutils)
engine = open_engine(settings.engine, lambda: spark)
print(f"Engine: {engine.name} ({engine.note})")
run_id = uuid.uuid4().hex[:8]
tests_dir = f"{settings.data_dir.rstrip('/')}/integration-tests"
test_settings = dataclasses.replace(
    settings,
    # Inside the data folder, where file code and Spark see the same files (a driver's /tmp is not Spark's /tmp).
    data_dir=f"{tests_dir}/{run_id}",
    model_name=f"{settings.model_name}_test_{run_id}",
    table=f"{settings.table}_test_{run_id}",
    engine=engine.name,
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
    engine.remove_prepared(test_settings)
    shutil.rmtree(test_settings.data_dir, ignore_errors=True)
    with contextlib.suppress(OSError):  # kept while another run's tests use it
        os.rmdir(tests_dir)
assert exit_code == 0, f"pytest failed with exit code {int(exit_code)}: see the test results above"
