"""Spark notebooks on the local workspace's clusters (runtime/spark): Databricks' paths and three-part table names in
Spark, one Spark server shared by the runs of a cluster, a run's own server for serverless compute, stopped with it.

The tests of the session share the `local` cluster's one Spark server, as notebooks on a Databricks cluster share its
Spark application; only the lifecycle tests start servers of their own."""

from __future__ import annotations

import io
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import compute, jobs
from databricks.sdk.service.catalog import VolumeType
from databricks.sdk.service.workspace import ImportFormat
from jobs_helpers import by_key, folder, notebook, notebook_task, upload, wait

from dbcicd_localworkspace import LocalWorkspaceServer, Tenant
from dbcicd_localworkspace.runtime.spark import pool, servers
from dbcicd_localworkspace.runtime.spark.packages import MavenLibraries

SPARK_TIMEOUT = 240  # the first notebook starts the server: a JVM, some 10 s on two cores
# A test waits up to SPARK_TIMEOUT for one run, so pytest's 180 s must not cut it first: the module's first test,
# whose run starts the local cluster's server with Delta, took over 180 s with the machine's load average near 10.
pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.local_only("Spark on the local workspace's clusters"),
    pytest.mark.timeout(SPARK_TIMEOUT + 60),
]
SQL = "# MAGIC %sql\n# MAGIC "
LOCAL = {"existing_cluster_id": "local"}


def run_tasks(client: WorkspaceClient, *tasks: jobs.SubmitTask, **kwargs: Any) -> jobs.Run:
    return wait(client, client.jobs.submit(run_name="spark", tasks=list(tasks), **kwargs).run_id, SPARK_TIMEOUT)


def output(client: WorkspaceClient, task: jobs.RunTask) -> str:
    assert task.run_id is not None
    out = client.jobs.get_run_output(task.run_id)
    assert out.error is None, f"{out.error}\n{out.error_trace}"
    assert out.notebook_output is not None
    return str(out.notebook_output.result)


def failure(client: WorkspaceClient, task: jobs.RunTask) -> str:
    assert task.run_id is not None
    out = client.jobs.get_run_output(task.run_id)
    assert out.error is not None, "the task succeeded"
    return out.error


def spark_servers(server: LocalWorkspaceServer | Tenant) -> Path:
    tenant = server if isinstance(server, Tenant) else server.tenants.default
    return tenant.workspace.spark.servers


def server_record(server: LocalWorkspaceServer | Tenant, name: str = "cluster-local") -> dict[str, Any]:
    return json.loads((spark_servers(server) / name / servers.SERVER_FILE).read_text())


def alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    if status.exists():  # a process that ended but was not reaped yet is a zombie: gone for this purpose
        return "\nState:\tZ" not in status.read_text()
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def test_a_task_writes_parquet_to_dbfs_and_a_table_the_next_reads_back_with_sql(
    client: WorkspaceClient, local_workspace: LocalWorkspaceServer
) -> None:
    """dbfs:/ in Spark is /dbfs in Python and dbutils.fs; saveAsTable("main.default.t") is a table that %sql and the
    next task (on the same server) read; Unity Catalog lists it."""
    tag = uuid.uuid4().hex[:8]
    base = folder(client)
    writer = upload(
        client,
        f"{base}/write",
        notebook(
            "from pyspark.sql import functions as F\n"
            "events = spark.range(100).withColumn('kind', F.when(F.col('id') % 4 == 0, 'a').otherwise('b'))\n"
            f"events.write.mode('overwrite').parquet('dbfs:/spark-tests/{tag}/events')\n"
            f"kinds = spark.read.parquet('dbfs:/spark-tests/{tag}/events').groupBy('kind').count()\n"
            f"kinds.write.mode('overwrite').saveAsTable('main.default.kinds_{tag}')",
            "import os\n"
            f"files = sorted(f for f in os.listdir('/dbfs/spark-tests/{tag}/events') if f.endswith('.parquet'))\n"
            f"listed = sorted(f.name for f in dbutils.fs.ls('dbfs:/spark-tests/{tag}/events'))\n"
            "listed = [name for name in listed if name.endswith('.parquet')]\n"
            "assert files and files == listed, (files, listed)",
        ),
    )
    reader = upload(
        client,
        f"{base}/read",
        notebook(
            f"{SQL}SELECT kind, `count` FROM main.default.kinds_{tag} ORDER BY kind",
            f"total = spark.sql('SELECT sum(`count`) AS n FROM main.default.kinds_{tag}').first().n\n"
            f"assert spark.table('kinds_{tag}').count() == 2  # the current schema is main.default\n"
            "dbutils.notebook.exit(str(total))",
        ),
    )
    run = run_tasks(client, notebook_task("write", writer, **LOCAL), notebook_task("read", reader, ("write",), **LOCAL))
    tasks = by_key(run)
    assert output(client, tasks["read"]) == "100"
    first = server_record(local_workspace)
    table = client.tables.get(f"main.default.kinds_{tag}")
    assert table.data_source_format is not None and table.data_source_format.value in ("DELTA", "PARQUET")
    assert f"kinds_{tag}" in [t.name for t in client.tables.list("main", "default")]

    again = run_tasks(client, notebook_task("read", reader, **LOCAL))
    assert output(client, by_key(again)["read"]) == "100"
    assert server_record(local_workspace)["pid"] == first["pid"], "a later run started a server of its own"


def test_volume_paths_in_spark_python_and_the_files_api_are_the_same_files(
    client: WorkspaceClient, local_workspace: LocalWorkspaceServer
) -> None:
    volume = f"v_{uuid.uuid4().hex[:8]}"
    client.volumes.create("main", "default", volume, volume_type=VolumeType.MANAGED)
    path = f"/Volumes/main/default/{volume}"
    nb = upload(
        client,
        f"{folder(client)}/volume",
        notebook(
            f"spark.createDataFrame([(1, 'x'), (2, 'y')], 'n INT, s STRING').write.mode('overwrite')"
            f".option('header', True).csv('{path}/out')",
            "import glob\n"
            f"part = glob.glob('{path}/out/part-*.csv')[0]\n"
            "lines = open(part).read().splitlines()\n"
            "assert lines[0] == 'n,s', lines\n"
            f"dbutils.notebook.exit(str(spark.read.option('header', True).csv('{path}/out').count()))",
        ),
    )
    run = run_tasks(client, notebook_task("volume", nb, **LOCAL))
    assert output(client, by_key(run)["volume"]) == "2"
    listed = [e.name for e in client.files.list_directory_contents(f"{path}/out")]
    assert any(name and name.startswith("part-") for name in listed), listed


def test_spark_paths_follow_databricks_rules_for_schemes_dbfs_and_workspace_files(
    client: WorkspaceClient, local_workspace: LocalWorkspaceServer
) -> None:
    """As docs.databricks.com/files says: a Spark path without scheme is the DBFS root's, so /dbfs/x is dbfs:/dbfs/x
    (the /dbfs mount is for local file APIs, or file:/dbfs/x); workspace files are file:/Workspace/..."""
    tag = uuid.uuid4().hex[:8]
    base = folder(client)
    client.workspace.upload(f"{base}/data.csv", b"a,b\n1,2\n3,4\n5,6\n", format=ImportFormat.AUTO)
    nb = upload(
        client,
        f"{base}/paths",
        notebook(
            f"spark.range(4).write.parquet('/tmp/{tag}')\n"
            f"assert spark.read.parquet('dbfs:/tmp/{tag}').count() == 4\n"
            f"assert spark.read.parquet('file:/dbfs/tmp/{tag}').count() == 4\n"
            "try:\n"
            f"    spark.read.parquet('/dbfs/tmp/{tag}').count()\n"
            "    raise AssertionError('/dbfs/... was read as the DBFS root in Spark')\n"
            "except Exception as err:\n"
            "    assert 'PATH_NOT_FOUND' in str(err), err  # dbfs:/dbfs/tmp/..., as on Databricks",
            f"rows = spark.read.option('header', True).csv('file:/Workspace{base}/data.csv').count()\n"
            "dbutils.notebook.exit(str(rows))",
        ),
    )
    run = run_tasks(client, notebook_task("paths", nb, **LOCAL))
    assert output(client, by_key(run)["paths"]) == "3"
    assert [f.path for f in client.dbfs.list(f"/tmp/{tag}") if f.path and f.path.endswith(".parquet")]


def test_sql_makes_a_schema_and_a_table_unity_catalog_lists(client: WorkspaceClient, local_workspace: Any) -> None:
    schema = f"s_{uuid.uuid4().hex[:8]}"
    nb = upload(
        client,
        f"{folder(client)}/ddl",
        notebook(
            f"{SQL}CREATE SCHEMA IF NOT EXISTS main.{schema}",
            f"{SQL}CREATE TABLE main.{schema}.numbers AS SELECT id AS n FROM range(5)",
            f"{SQL}INSERT INTO main.{schema}.numbers VALUES (10)",
            f"names = [r.tableName for r in spark.sql('SHOW TABLES IN main.{schema}').collect()]\n"
            "assert names == ['numbers'], names\n"
            f"dbutils.notebook.exit(str(spark.sql('SELECT sum(n) AS s FROM main.{schema}.numbers').first().s))",
        ),
    )
    run = run_tasks(client, notebook_task("ddl", nb, **LOCAL))
    assert output(client, by_key(run)["ddl"]) == "20"
    assert schema in [s.name for s in client.schemas.list("main")]
    assert [t.name for t in client.tables.list("main", schema)] == ["numbers"]


def test_names_in_any_case_are_one_lower_case_schema_and_table(client: WorkspaceClient, local_workspace: Any) -> None:
    """Unity Catalog stores names lower-case and Spark matches them ignoring case (spark/catalog.py): a schema and
    a table made with capitals are the same ones in SQL under any spelling, and lower-case in the API."""
    schema = f"Mixed_{uuid.uuid4().hex[:8]}"
    nb = upload(
        client,
        f"{folder(client)}/cases",
        notebook(
            f"{SQL}CREATE SCHEMA IF NOT EXISTS Main.{schema}",
            f"{SQL}CREATE TABLE MAIN.{schema.upper()}.Numbers AS SELECT id AS n FROM range(4)",
            f"dbutils.notebook.exit(str(spark.sql('SELECT sum(n) AS s FROM main.{schema.lower()}.NUMBERS').first().s))",
        ),
    )
    run = run_tasks(client, notebook_task("cases", nb, **LOCAL))
    assert output(client, by_key(run)["cases"]) == "6"
    lower = schema.lower()
    assert client.schemas.get(f"MAIN.{schema}").full_name == f"main.{lower}"
    assert [t.full_name for t in client.tables.list("Main", schema.upper())] == [f"main.{lower}.numbers"]
    assert client.tables.get(f"main.{schema}.NUMBERS").full_name == f"main.{lower}.numbers"


def test_use_catalog_makes_schema_and_table_names_of_that_catalog(
    client: WorkspaceClient, local_workspace: Any
) -> None:
    """After `USE CATALOG dev`, `sales` is dev.sales and `sales.orders` dev.sales.orders, in SQL and in the API."""
    name = f"dev_{uuid.uuid4().hex[:8]}"
    client.catalogs.create(name)
    nb = upload(
        client,
        f"{folder(client)}/catalog",
        notebook(
            f"{SQL}USE CATALOG {name}",
            f"{SQL}CREATE SCHEMA IF NOT EXISTS sales",
            f"{SQL}CREATE TABLE sales.orders AS SELECT id, id * 10 AS total FROM range(3)",
            "spark.table('sales.orders').filter('total > 0').write.saveAsTable('sales.paid')\n"
            "dbutils.notebook.exit(str(spark.sql('SELECT count(*) AS n FROM sales.paid').first().n))",
        ),
    )
    run = run_tasks(client, notebook_task("catalog", nb, **LOCAL))
    assert output(client, by_key(run)["catalog"]) == "2"
    assert sorted(t.name or "" for t in client.tables.list(name, "sales")) == ["orders", "paid"]


def test_builder_get_or_create_returns_the_tasks_session_in_files_and_notebooks(
    client: WorkspaceClient, local_workspace: Any
) -> None:
    """A Python file task and a module a notebook imports get the cluster's session from
    SparkSession.builder.getOrCreate(), as on Databricks: no second Spark in the task's process."""
    tag = uuid.uuid4().hex[:8]
    base = folder(client)
    upload(
        client,
        f"{base}/job.py",
        "from pyspark.sql import SparkSession\n"
        "spark = SparkSession.builder.getOrCreate()\n"
        "print('app:', spark.conf.get('spark.app.name'))\n"
        f"spark.range(3).write.saveAsTable('main.default.from_file_{tag}')\n",
    )
    upload(
        client,
        f"{base}/shared.py",
        "from pyspark.sql import SparkSession\n\n\ndef total(name):\n"
        "    return SparkSession.builder.getOrCreate().table(name).count()\n",
    )
    nb = upload(
        client,
        f"{base}/nb",
        notebook(f"import shared\ndbutils.notebook.exit(str(shared.total('main.default.from_file_{tag}')))"),
    )
    file_task = jobs.SubmitTask(
        task_key="file", spark_python_task=jobs.SparkPythonTask(python_file=f"{base}/job.py"), **LOCAL
    )
    run = run_tasks(client, file_task, notebook_task("nb", nb, ("file",), **LOCAL))
    tasks = by_key(run)
    assert output(client, tasks["nb"]) == "3"
    assert tasks["file"].run_id is not None
    assert "app: cluster-local" in (client.jobs.get_run_output(tasks["file"].run_id).logs or "")


def test_databricks_datasets_say_they_must_be_seeded_and_work_once_seeded(
    client: WorkspaceClient, local_workspace: LocalWorkspaceServer
) -> None:
    name = f"seed-{uuid.uuid4().hex[:8]}"
    nb = upload(
        client,
        f"{folder(client)}/datasets",
        notebook(
            "try:\n"
            f"    dbutils.fs.head('dbfs:/databricks-datasets/{name}/data.csv')\n"
            "except FileNotFoundError as err:\n"
            '    assert "read-only sample data" in str(err), err  # dbutils.fs says so too',
            f"rows = spark.read.option('header', True).csv('/databricks-datasets/{name}/data.csv').count()\n"
            "dbutils.notebook.exit(str(rows))",
        ),
    )
    run = run_tasks(client, notebook_task("read", nb, **LOCAL))
    error = failure(client, by_key(run)["read"])
    assert "/databricks-datasets is Databricks' read-only sample data" in error
    assert f"dbfs:/databricks-datasets/{name}/data.csv" in error

    client.dbfs.upload(f"/databricks-datasets/{name}/data.csv", io.BytesIO(b"a,b\n1,2\n3,4\n"))
    run = run_tasks(client, notebook_task("read", nb, **LOCAL))
    assert output(client, by_key(run)["read"]) == "2"


def test_a_table_of_an_unknown_catalog_is_refused_naming_it(client: WorkspaceClient, local_workspace: Any) -> None:
    nb = upload(client, f"{folder(client)}/nb", notebook("spark.range(1).write.saveAsTable('nosuch.default.t')"))
    run = run_tasks(client, notebook_task("nb", nb, **LOCAL))
    error = failure(client, by_key(run)["nb"])
    assert "Catalog 'nosuch' does not exist in the local workspace (it has " in error
    assert "main" in error.split("(it has ", 1)[1].split(")")[0]
    assert "databricks catalogs create nosuch" in error


@pytest.mark.timeout(4 * SPARK_TIMEOUT)  # two server starts with Delta (a warm one, the local cluster's), three runs
def test_serverless_runs_lease_a_warm_server_the_next_run_attaches_to_and_their_tables_stay(
    client: WorkspaceClient, local_workspace: LocalWorkspaceServer
) -> None:
    """Serverless compute leases a warm server of the pool, handed back running when the run ends; the next
    serverless run attaches to it; a table it wrote is found, and overwritten, by the `local` cluster's server."""
    tag = uuid.uuid4().hex[:8]
    base = folder(client)
    writer = upload(
        client,
        f"{base}/serverless",
        notebook(
            f"spark.range(7).write.mode('overwrite').saveAsTable('main.default.serverless_{tag}')\n"
            "dbutils.notebook.exit(spark.conf.get('spark.app.name'))"
        ),
    )
    reader = upload(
        client,
        f"{base}/cluster",
        notebook(
            f"name = 'main.default.serverless_{tag}'\n"
            "before = spark.table(name).count()\n"
            "spark.range(3).write.mode('overwrite').saveAsTable(name)  # another server's table, overwritten here\n"
            "dbutils.notebook.exit(f'{before} {spark.table(name).count()}')"
        ),
    )
    first = run_tasks(client, notebook_task("write", writer))
    server = output(client, by_key(first)["write"])  # the app's name is the server's folder
    assert server.startswith(pool.FOLDER_PREFIX), f"the serverless run did not lease a warm server: {server}"
    pid = int(server_record(local_workspace, server)["pid"])
    assert alive(pid), "the warm server was stopped when the run ended"
    assert not list(spark_servers(local_workspace).glob(f"run-{first.run_id}-*/{servers.SERVER_FILE}"))

    second = run_tasks(client, notebook_task("write", writer))
    assert output(client, by_key(second)["write"]) == server, "the next run did not attach to the warm server"
    assert int(server_record(local_workspace, server)["pid"]) == pid

    # The local cluster's server may be the session's first: a start with Delta took over 240 s on a busy machine.
    read = client.jobs.submit(run_name="spark", tasks=[notebook_task("read", reader, **LOCAL)])
    later = wait(client, read.run_id, 2 * SPARK_TIMEOUT)
    assert output(client, by_key(later)["read"]) == "7 3"


def test_the_workspace_stops_its_cluster_and_warm_servers_when_it_stops(
    isolated_workspace: Tenant, isolated_client: WorkspaceClient
) -> None:
    app_name = notebook("dbutils.notebook.exit(spark.conf.get('spark.app.name'))")  # the server's folder
    nb = upload(isolated_client, f"{folder(isolated_client)}/nb", app_name)
    run = run_tasks(isolated_client, notebook_task("local", nb, **LOCAL), notebook_task("serverless", nb))
    warm = output(isolated_client, by_key(run)["serverless"])
    pids = [int(server_record(isolated_workspace, name)["pid"]) for name in ("cluster-local", warm)]
    assert all(alive(pid) for pid in pids)
    isolated_workspace.workspace.close()
    assert not any(alive(pid) for pid in pids), "a Spark server outlived its workspace"


def test_without_a_warm_pool_a_run_cancelled_while_its_server_starts_leaves_no_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DBCICD_LOCAL_WARM_SPARK=0: every serverless run starts a server of its own, stopped when the run ends, even
    when the run is cancelled while that server starts."""
    monkeypatch.setenv(pool.SIZE_VARIABLE, "0")
    with LocalWorkspaceServer(root=tmp_path / "workspace") as server:
        env = server.environment()
        own = WorkspaceClient(host=env["DATABRICKS_HOST"], token=env["DATABRICKS_TOKEN"])
        nb = upload(own, f"{folder(own)}/nb", notebook("spark.range(1).count()"))
        run_id = own.jobs.submit(run_name="spark", tasks=[notebook_task("nb", nb)]).run_id
        record_file = spark_servers(server) / f"run-{run_id}-serverless" / servers.SERVER_FILE
        deadline = time.monotonic() + 60
        while not record_file.exists():
            assert time.monotonic() < deadline, "the notebook started no Spark server"
            time.sleep(0.05)
        pid = int(json.loads(record_file.read_text())["pid"])
        own.jobs.cancel_run(run_id)
        run = wait(own, run_id, SPARK_TIMEOUT)
        assert run.state is not None and run.state.result_state is not None
        assert run.state.result_state.value == "CANCELED"
        assert not alive(pid), "the server the cancelled task was starting still runs"
        assert not record_file.exists()


def test_the_local_cluster_can_be_pointed_at_a_spark_connect_server(tmp_path: Path) -> None:
    """`--spark-remote sc://…`: the notebooks of the `local` cluster run there, and the workspace starts none."""
    remote, _ = servers.attach(tmp_path / "external", tmp_path / "warehouse")
    try:
        with LocalWorkspaceServer(root=tmp_path / "workspace", spark_remote=remote) as server:
            env = server.environment()
            own = WorkspaceClient(host=env["DATABRICKS_HOST"], token=env["DATABRICKS_TOKEN"])
            nb = upload(own, f"{folder(own)}/nb", notebook("dbutils.notebook.exit(spark.conf.get('spark.app.name'))"))
            run = run_tasks(own, notebook_task("nb", nb, **LOCAL))
            assert output(own, by_key(run)["nb"]) == "external"
            assert not (server.tenants.default.workspace.spark.servers / "cluster-local").exists()
    finally:
        servers.stop(tmp_path / "external")


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="/proc tells what a process maps on Linux only")
def test_the_next_server_maps_the_class_archive_the_first_server_of_its_class_path_wrote_at_its_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """class_archive.py. The servers' class path has Delta's jars, but not Delta's older copies of jars Spark has
    (packages.class_path)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first, second = tmp_path / "first", tmp_path / "second"
    servers.attach(first, tmp_path / "warehouse")
    try:
        record = json.loads((first / servers.SERVER_FILE).read_text())
        archive = record["class_archive"]
        assert archive is not None
        arguments = Path(f"/proc/{record['pid']}/cmdline").read_text().split("\0")
        class_path = arguments[arguments.index("-cp") + 1]
        if record["delta"]:
            assert "io.delta_delta-spark_" in class_path
            assert "com.fasterxml.jackson.core_jackson-core-" not in class_path, "Delta's jackson shadows Spark's"
    finally:
        servers.stop(first)
    assert Path(archive["final"]).is_file(), "the first server did not leave its class archive"
    servers.attach(second, tmp_path / "warehouse")
    try:
        pid = json.loads((second / servers.SERVER_FILE).read_text())["pid"]
        assert archive["final"] in Path(f"/proc/{pid}/maps").read_text(), "the JVM did not map the archive"
    finally:
        servers.stop(second)


def test_maven_coordinates_spark_cannot_resolve_fail_the_start_naming_them(tmp_path: Path) -> None:
    missing = "com.example.dbcicd:no-such-artifact:1.0"
    with pytest.raises(servers.SparkUnavailable, match=rf"Spark's resolver could not have .*{missing}") as failed:
        servers.attach(tmp_path / "server", tmp_path / "warehouse", MavenLibraries((missing,)))
    assert "com.example.dbcicd#no-such-artifact" in failed.value.output  # Ivy's report, also in the server's log
    assert "no-such-artifact" in (tmp_path / "server" / servers.LOG_FILE).read_text()
    assert not (tmp_path / "server" / servers.SERVER_FILE).exists()
    assert not (tmp_path / servers.DELTA_UNAVAILABLE_FILE).exists(), "Delta's jars were had: only the library failed"


def test_where_deltas_jars_cannot_be_had_the_server_starts_without_delta_saying_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parquet fallback, for machines that cannot reach Maven Central: Ivy's answer is kept, so the workspace
    tries once."""
    monkeypatch.setattr(servers, "delta_packages", lambda: "io.delta:delta-spark_0.0_2.13:0.0.0")
    no_folder = tmp_path / "a-file"
    no_folder.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(no_folder))  # no cache, so no class archive to write at the stop
    _, delta = servers.attach(tmp_path / "server", tmp_path / "warehouse")
    try:
        reason = servers.delta_unavailable_reason(tmp_path / "server")
        assert not delta and reason is not None
        assert "Delta Lake's jars (io.delta:delta-spark_0.0_2.13:0.0.0) could not be loaded, so tables are" in reason
    finally:
        servers.stop(tmp_path / "server")


def test_maven_libraries_on_serverless_compute_are_refused_saying_why(client: WorkspaceClient) -> None:
    """docs.databricks.com/compute/serverless/limitations: "Maven coordinates are not supported"."""
    nb = upload(client, f"{folder(client)}/nb", notebook("dbutils.notebook.exit('ran')"))
    h2 = compute.Library(maven=compute.MavenLibrary(coordinates="com.h2database:h2:2.5.252"))
    task = jobs.SubmitTask(task_key="nb", notebook_task=jobs.NotebookTask(notebook_path=nb), libraries=[h2])
    run = run_tasks(client, task)
    error = failure(client, by_key(run)["nb"])
    assert "Maven libraries (com.h2database:h2:2.5.252) need classic compute" in error
    assert "serverless compute does not support Maven coordinates" in error
