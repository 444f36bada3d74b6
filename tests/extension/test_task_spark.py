"""Spark notebooks through the packaged task, as the agent runs it, with the default inputs (serverless compute:
the run's own Spark server): a `test` step whose notebooks write parquet to dbfs:/, a table with
saveAsTable("main.default.…") read back with %sql, and files on a /Volumes path; each exits with its count, which
the step publishes as a test result and in its `notebookOutput` variable. Nothing is left running."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.catalog import VolumeType

from junit_reader import read
from task_harness import Agent

pytestmark = [pytest.mark.spark, pytest.mark.slow]
HEADER = "# Databricks notebook source\n"
CELL = "\n# COMMAND ----------\n"
SQL = "# MAGIC %sql\n# MAGIC "


def test_notebooks_write_parquet_to_dbfs_a_table_read_back_with_sql_and_volume_files(
    agent: Agent, make_remote: Callable[..., Any], client: WorkspaceClient
) -> None:
    tag = uuid.uuid4().hex[:8]
    volume = f"landing_{tag}"
    client.volumes.create("main", "default", volume, volume_type=VolumeType.MANAGED)
    tables = (
        HEADER
        + "from pyspark.sql import functions as F\n"
        + "raw = spark.range(1000).withColumn('amount', F.col('id') * 2)\n"
        + f"raw.write.mode('overwrite').parquet('dbfs:/e2e/{tag}/raw')\n"
        + f"spark.read.parquet('dbfs:/e2e/{tag}/raw').filter('amount % 4 = 0')"
        + f".write.mode('overwrite').saveAsTable('main.default.even_{tag}')"
        + CELL
        + f"{SQL}SELECT count(*) AS n FROM main.default.even_{tag}"
        + CELL
        + f"dbutils.notebook.exit(str(spark.sql('SELECT count(*) AS n FROM main.default.even_{tag}').first().n))\n"
    )
    volumes = (
        HEADER
        + f"path = '/Volumes/main/default/{volume}/orders'\n"
        + "spark.createDataFrame([(1, 9.5), (2, 3.0), (3, 1.25)], 'id INT, total DOUBLE')"
        + ".write.mode('overwrite').json(path)\n"
        + "import os\n"
        + "assert any(f.endswith('.json') for f in os.listdir(path)), os.listdir(path)\n"
        + "dbutils.notebook.exit(str(spark.read.json(path).count()))\n"
    )
    remote = make_remote({"tests/test_tables.py": tables, "tests/test_volumes.py": volumes})
    inputs = {"command": "test", "notebooks": "tests/test_*", "timeoutSeconds": "600"}
    sha = remote.commit({}, "build")
    build = {"Build.Repository.Uri": remote.url, "Build.SourceBranch": "refs/heads/main", "Build.SourceVersion": sha}
    run = agent.run(inputs, build)

    assert run.result == "Succeeded", run.stdout + run.stderr
    assert json.loads(run.variables["notebookOutput"]) == {"tests_test_tables": "500", "tests_test_volumes": "3"}
    [publish] = run.commands("results.publish")
    outcomes = {(r.title, r.outcome) for p in publish.properties["resultfiles"].split(",") for r in read(Path(p))}
    assert {("tests_test_tables", "Passed"), ("tests_test_volumes", "Passed")} <= outcomes
    assert f"even_{tag}" in [t.name for t in client.tables.list("main", "default")]
    servers = agent.workspace.tenants.default.workspace.spark.servers
    assert list(servers.glob("run-*/server.log")), "the serverless run had no Spark server of its own"
    assert not list(servers.glob("run-*/server.json")), "a run's Spark server outlived the step"
