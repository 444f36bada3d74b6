# Databricks notebook source
# MAGIC %md
# MAGIC # Integration tests
# MAGIC Runs the unit tests, then the pipeline (prepare, train, evaluate, promote) as notebook runs in a test
# MAGIC configuration: its own data folder, Delta table and model name, suffixed with an id of this run and all removed
# MAGIC afterwards, whether the tests pass or fail, so production data and the production alias are never touched. The
# MAGIC engine (widget `engine`) is chosen once, here: the pipeline's notebooks run on it, and the unit tests of the
# MAGIC Spark engine on this notebook's Spark session. With `dbcicd_results_dir` given (dbcicd gives it), pytest writes
# MAGIC JUnit XML there and each test appears in the pipeline's test results, and pytest-cov the coverage of
# MAGIC `lending_club` as Cobertura XML, which the pipeline's Code Coverage tab shows. The widget `test_filter` (a
# MAGIC pytest `-k` expression) runs only the tests it matches. Fails when a test fails.

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
dbutils.widgets.text("test_filter", "")
results_dir = dbutils.widgets.get("dbcicd_results_dir")
test_filter = dbutils.widgets.get("test_filter")
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
# The tests' folders from this notebook's own path, as the README's pytest recipe finds them: serverless compute does
# not guarantee the working directory (docs.databricks.com/compute/serverless/limitations, "The working directory for
# notebooks and job tasks is not guaranteed"). The context gives the path without /Workspace.
notebook = dbutils.notebook.entry_point.getDbutils().notebook().getContext().notebookPath().get()
here = os.path.dirname("/Workspace" + notebook)  # tests/, beside lending_club/ at the project's root
arguments = ["-v", "--rootdir", os.path.dirname(here), f"{here}/unit", f"{here}/integration"]
if test_filter:
    arguments += ["-k", test_filter]
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
