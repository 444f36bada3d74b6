"""Spark notebooks through the packaged task, as the agent runs it, with the default inputs (serverless compute:
a warm Spark server leased for the run): a `test` step whose notebooks write parquet to dbfs:/, a table with
saveAsTable("main.default.…") read back with %sql, and files on a /Volumes path; each exits with its count, which
the step publishes as a test result and in its `notebookOutput` variable. Nothing is left running."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import compute, jobs
from databricks.sdk.service.catalog import VolumeType
from databricks.sdk.service.workspace import ImportFormat, Language

from junit_reader import read
from task_harness import Agent, finish

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
    assert list(servers.glob("warm-*/server.log")), "the serverless run leased no warm Spark server"
    assert not list(servers.glob("run-*/server.json")), "a run's own Spark server outlived the step"


def delta_notebook(table: str) -> str:
    """A notebook doing what Databricks notebooks do to Delta tables: an overwrite (CREATE OR REPLACE), MERGE,
    UPDATE, DELETE, append, history and detail, time travel by version and timestamp, OPTIMIZE, VACUUM, CREATE TABLE
    ... USING DELTA, CREATE OR REPLACE TABLE and DROP TABLE."""
    return (
        HEADER
        + "import json\n"
        + f"name = '{table}'\n"
        + "spark.range(5).selectExpr('id', 'id * id AS sq').write.mode('overwrite').saveAsTable(name)\n"
        + "written = spark.sql(f'DESCRIBE HISTORY {name} LIMIT 1').first()\n"
        + "spark.sql(f'''MERGE INTO {name} t USING (SELECT 2L AS id, -1L AS sq UNION ALL SELECT 10L, 100L) s\n"
        + "  ON t.id = s.id WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *''')\n"
        + "spark.sql(f'UPDATE {name} SET sq = 4 WHERE id = 2')\n"
        + "spark.sql(f'DELETE FROM {name} WHERE id = 0')\n"
        + "spark.createDataFrame([(11, 121)], 'id LONG, sq LONG').write.mode('append').saveAsTable(name)\n"
        + "operations = [r.operation for r in spark.sql(f'DESCRIBE HISTORY {name}').collect()][:5]\n"
        + "detail = spark.sql(f'DESCRIBE DETAIL {name}').first()\n"
        + "then = spark.sql(f'SELECT sum(sq) AS s FROM {name} VERSION AS OF {written.version}').first().s\n"
        + "at = spark.sql(f\"SELECT count(*) AS n FROM {name} TIMESTAMP AS OF '{written.timestamp}'\").first().n\n"
        + "spark.sql(f'OPTIMIZE {name}')\n"
        + "spark.sql(f'VACUUM {name} RETAIN 168 HOURS')\n"
        + "now = sorted(tuple(r) for r in spark.table(name).collect())\n"
        + "spark.sql(f'CREATE TABLE IF NOT EXISTS {name}_log (id BIGINT, note STRING) USING DELTA')\n"
        + "spark.sql(f\"INSERT INTO {name}_log VALUES (1, 'run')\")\n"
        + "spark.sql(f'CREATE OR REPLACE TABLE {name}_copy AS SELECT * FROM {name}')\n"
        + "copied = spark.table(f'{name}_copy').count()\n"
        + "spark.sql(f'DROP TABLE {name}_copy')\n"
        + "dropped = not spark.catalog.tableExists(f'{name}_copy')\n"
        + "dbutils.notebook.exit(json.dumps({'format': detail.format, 'operations': operations, 'then': then,\n"
        + "    'at': at, 'now': now, 'copied': copied, 'dropped': dropped}))\n"
    )


def overwrite_notebook(table: str) -> str:
    """The notebook that failed on its second run (LOCATION_ALREADY_EXISTS): an overwrite, then an append."""
    return (
        HEADER
        + f"spark.range(4).selectExpr('id', 'id * id AS sq').write.mode('overwrite').saveAsTable('{table}')\n"
        + f"spark.createDataFrame([(9, 81)], 'id LONG, sq LONG').write.mode('append').saveAsTable('{table}')\n"
        + f"dbutils.notebook.exit(str(spark.table('{table}').count()))\n"
    )


# A build's Delta statements (the first build also starts the Spark server) took over 8 minutes on a 2-core machine
# whose load was 20; and packaging the task when this test is the session's first.
STEP_TIMEOUT_S = 900


@pytest.mark.timeout(2 * STEP_TIMEOUT_S + 120)
def test_delta_operations_and_the_same_overwriting_notebook_twice_through_the_task(
    agent: Agent, make_remote: Callable[..., Any], client: WorkspaceClient
) -> None:
    """Delta is the default table format and the Delta operations of Databricks notebooks work; a notebook that
    overwrites a table passes again in the next build."""
    tag = uuid.uuid4().hex[:8]
    remote = make_remote(
        {
            "tests/test_delta.py": delta_notebook(f"main.default.squares_{tag}"),
            "tests/test_overwrite.py": overwrite_notebook(f"main.default.overwritten_{tag}"),
        }
    )
    sha = remote.commit({}, "build")
    build = {"Build.Repository.Uri": remote.url, "Build.SourceBranch": "refs/heads/main", "Build.SourceVersion": sha}
    started = time.monotonic()
    first = finish(agent.start({"command": "test", "notebooks": "tests/test_*"}, build), started, STEP_TIMEOUT_S)
    assert first.result == "Succeeded", first.stdout + first.stderr
    outputs = json.loads(first.variables["notebookOutput"])
    assert json.loads(outputs["tests_test_delta"]) == {
        "format": "delta",
        "operations": ["WRITE", "DELETE", "UPDATE", "MERGE", "CREATE OR REPLACE TABLE AS SELECT"],
        "then": 30,
        "at": 5,
        "now": [[1, 1], [2, 4], [3, 9], [4, 16], [10, 100], [11, 121]],
        "copied": 6,
        "dropped": True,
    }
    assert outputs["tests_test_overwrite"] == "5"

    started = time.monotonic()
    overwrite_only = {"command": "test", "notebooks": "tests/test_overwrite"}
    again = finish(agent.start(overwrite_only, build), started, STEP_TIMEOUT_S)
    assert again.result == "Succeeded", again.stdout + again.stderr
    assert again.variables["notebookOutput"] == "5"  # one notebook: its exit value as it is
    tables = {t.name: t for t in client.tables.list("main", "default")}
    assert tables[f"squares_{tag}"].data_source_format.value == "DELTA"
    assert f"squares_{tag}_log" in tables and f"squares_{tag}_copy" not in tables


H2 = "com.h2database:h2:2.5.252"  # a pure-Java database with a JDBC driver; tox fetches it before the tests
CLUSTER = compute.ClusterSpec(spark_version="15.4.x-scala2.12", node_type_id="Standard_DS3_v2", num_workers=1)


@pytest.mark.timeout(STEP_TIMEOUT_S + 120)
def test_a_job_with_a_maven_library_runs_a_notebook_using_it_through_the_task(
    agent: Agent, client: WorkspaceClient
) -> None:
    """`libraries: [{maven: {coordinates}}]` on a job's task: its cluster's Spark server loads the package, so the
    notebook writes and reads a table through Spark's JDBC data source with the H2 driver only that package has."""
    tag = uuid.uuid4().hex[:8]
    path = f"/Users/{client.current_user.me().user_name}/maven-{tag}/h2"
    client.workspace.mkdirs(path.rsplit("/", 1)[0])
    jdbc = "\n".join(
        [
            "url = 'jdbc:h2:mem:squares;DB_CLOSE_DELAY=-1'",
            "options = {'url': url, 'dbtable': 'squares', 'driver': 'org.h2.Driver'}",
            "spark.range(5).selectExpr('id', 'id * id AS sq').write.format('jdbc').options(**options)"
            ".mode('overwrite').save()",
            "total = spark.read.format('jdbc').options(**options).load().selectExpr('sum(sq) AS s').first().s",
            "dbutils.notebook.exit(str(total))",
        ]
    )
    client.workspace.upload(path, (HEADER + jdbc + "\n").encode(), format=ImportFormat.SOURCE, language=Language.PYTHON)
    job = client.jobs.create(
        name=f"maven-{tag}",
        tasks=[
            jobs.Task(
                task_key="h2",
                notebook_task=jobs.NotebookTask(notebook_path=path),
                new_cluster=CLUSTER,
                libraries=[compute.Library(maven=compute.MavenLibrary(coordinates=H2))],
            )
        ],
    )
    run = finish(agent.start({"command": "run", "jobId": str(job.job_id)}, {}), time.monotonic(), STEP_TIMEOUT_S)

    assert run.result == "Succeeded", run.stdout + run.stderr
    [job_run] = client.jobs.list_runs(job_id=job.job_id)
    [task] = client.jobs.get_run(job_run.run_id).tasks or []
    output = client.jobs.get_run_output(task.run_id)
    assert output.notebook_output is not None and output.notebook_output.result == "30", output.error
