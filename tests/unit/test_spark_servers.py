"""What the local workspace's Spark says when it cannot run, and the names it can keep in Spark's catalog; neither
needs a JVM."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dbcicd_localworkspace.runtime.spark import catalog, class_archive, packages, servers
from dbcicd_localworkspace.runtime.spark.pool import WarmPool


@pytest.mark.skipif(importlib.util.find_spec("pyspark") is None, reason="the Java check follows the pyspark one")
def test_without_java_the_error_says_to_install_java_17(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    with pytest.raises(servers.SparkUnavailable, match=r"spark needs Java 17.*openjdk-17-jre-headless"):
        servers.attach(tmp_path / "cluster-local", tmp_path / "warehouse")
    assert not (tmp_path / "cluster-local" / servers.SERVER_FILE).exists()


def test_stopping_where_no_server_runs_is_harmless(tmp_path: Path) -> None:
    (tmp_path / "cluster-local").mkdir()
    (tmp_path / "cluster-local" / servers.SERVER_FILE).write_text('{"pid": 999999999, "port": 1}')
    servers.stop_all(tmp_path)
    assert not (tmp_path / "cluster-local" / servers.SERVER_FILE).exists()


def test_schema_names_map_to_spark_databases_and_back(tmp_path: Path) -> None:
    assert catalog.database("Main", "Default") == "main__default"
    (catalog.schema_folder(tmp_path, "main", "sales") / "orders").mkdir(parents=True)
    (catalog.schema_folder(tmp_path, "main", "sales") / "orders" / "part-0.snappy.parquet").write_bytes(b"x")
    (catalog.schema_folder(tmp_path, "main", "sales") / "failed_write").mkdir()  # no data: no table
    assert catalog.schemas(tmp_path) == [("main", "sales")]
    [table] = catalog.tables(tmp_path, "main", "sales")
    assert (table.full_name, table.data_source_format) == ("main.sales.orders", "PARQUET")


def test_a_name_spark_cannot_keep_is_refused_naming_it() -> None:
    with pytest.raises(catalog.CatalogNameError, match="rename schema 'raw-data'"):
        catalog.database("main", "raw-data")


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="/proc tells whose socket a port is on Linux only")
def test_a_port_another_process_listens_on_is_not_the_servers(tmp_path: Path) -> None:
    """The race a loaded machine showed: the port was taken before the JVM bound it, the server failed while the
    port answered, and the task waited on the other program forever."""
    with socket.socket() as mine:
        mine.bind(("127.0.0.1", 0))
        mine.listen()
        port = mine.getsockname()[1]
        assert servers._listens_itself(os.getpid(), port)
        other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            assert not servers._listens_itself(other.pid, port)
            other.kill()
            other.wait()
            deadline = time.monotonic() + 5
            assert not servers._wait_listening(port, other.pid, other, deadline)
        finally:
            other.kill()
            other.wait()


def test_ports_are_chosen_below_the_ephemeral_range() -> None:
    low = servers._ephemeral_low()
    if low <= servers.PORT_FLOOR:
        pytest.skip("the system does not say which ports it hands out")
    assert all(servers.PORT_FLOOR <= servers._free_port() < low for _ in range(20))


def test_delta_jars_are_named_for_the_installed_pyspark_and_delta_spark(monkeypatch: pytest.MonkeyPatch) -> None:
    """The coordinates Delta's configure_spark_with_delta_pip asks for: the Spark major.minor in the artifact's name,
    delta-spark's version as the version."""
    versions = {"delta-spark": "4.4.0", "pyspark": "4.2.0"}
    monkeypatch.setattr(packages.importlib.metadata, "version", versions.__getitem__)
    assert packages.delta() == "io.delta:delta-spark_4.2_2.13:4.4.0"


def test_the_warm_pool_leases_each_server_to_one_run_at_a_time_and_takes_it_back(tmp_path: Path) -> None:
    pool = WarmPool(tmp_path, size=2)
    first = pool.lease("run-1-serverless")
    assert first == tmp_path / "warm-0"
    assert pool.lease("run-1-serverless") == first  # the run's tasks share it
    assert pool.lease("run-2-task-a") == tmp_path / "warm-1"
    assert pool.lease("run-3-serverless") is None  # all leased: the run gets a server of its own
    pool.release("run-1-")
    assert pool.lease("run-3-serverless") == first  # warm again for the next run
    assert pool.lease("run-12-serverless") is None  # run 1's release did not free run 12's


def test_no_warm_pool_when_the_variable_says_0_and_a_clear_error_when_it_is_no_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dbcicd_localworkspace.runtime.spark import pool

    monkeypatch.setenv(pool.SIZE_VARIABLE, "0")
    assert pool.warm_pool_size() == 0
    monkeypatch.setenv(pool.SIZE_VARIABLE, "two")
    with pytest.raises(ValueError, match="DBCICD_LOCAL_WARM_SPARK='two' is no count"):
        pool.warm_pool_size()


def test_maven_libraries_become_spark_packages_repositories_and_excludes() -> None:
    libraries = packages.maven_libraries(
        [
            {"pypi": {"package": "requests"}},
            {"maven": {"coordinates": "com.h2database:h2:2.5.252", "repo": "https://repo.example/maven"}},
            {"maven": {"coordinates": "org.jsoup:jsoup:1.7.2", "exclusions": ["slf4j:slf4j", "*:hadoop-client"]}},
        ],
        "t",
    )
    assert libraries.packages == ("com.h2database:h2:2.5.252", "org.jsoup:jsoup:1.7.2")
    assert libraries.conf() == {
        "spark.jars.repositories": "https://repo.example/maven",
        "spark.jars.excludes": "slf4j:slf4j,*:hadoop-client",
    }
    assert packages.MavenLibraries.from_json(libraries.to_json()) == libraries
    assert not packages.maven_libraries([{"whl": "/Workspace/a.whl"}], "t")


def test_maven_coordinates_that_are_not_group_artifact_version_are_refused_naming_the_task() -> None:
    with pytest.raises(packages.LibraryError, match=r"task etl: libraries maven\.coordinates must be"):
        packages.maven_libraries([{"maven": {"coordinates": "h2"}}], "etl")


def test_resolved_jars_spark_has_its_own_version_of_are_left_off_the_class_path() -> None:
    """Spark's own jars come first (spark.driver.userClassPathFirst is false); on the driver's class path, which is
    searched before them, Delta's older jackson or hadoop would shadow Spark's."""
    assert packages._artifact("com.fasterxml.jackson.core_jackson-core-2.13.5.jar", retrieved=True) == "jackson-core"
    assert packages._artifact("jackson-core-2.21.2.jar") == "jackson-core"
    assert packages._artifact("io.delta_delta-spark_4.2_2.13-4.4.0.jar", retrieved=True) == "delta-spark_4.2_2.13"
    assert packages._artifact("com.github.luben_zstd-jni-1.5.7-3.jar", retrieved=True) == "zstd-jni"
    assert packages._artifact("jackson-module-scala_2.13-2.21.2.jar") == "jackson-module-scala_2.13"


def test_one_server_at_a_time_writes_the_class_archive_and_it_is_used_once_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    java, jar = tmp_path / "jdk" / "bin" / "java", tmp_path / "a.jar"
    java.parent.mkdir(parents=True)
    java.write_bytes(b"")
    jar.write_bytes(b"jar")
    writing, archive = class_archive.java_options(str(java), [jar])
    assert archive is not None and writing[0] == f"-XX:ArchiveClassesAtExit={archive['partial']}"
    assert class_archive.java_options(str(java), [jar]) == ([], None)  # claimed: the next start writes none
    Path(archive["partial"]).write_bytes(b"CDS")  # what the JVM writes at its exit
    class_archive.publish(archive, ended_by_itself=True)
    assert class_archive.java_options(str(java), [jar]) == ([f"-XX:SharedArchiveFile={archive['final']}"], None)
    jar.write_bytes(b"another jar")  # another pyspark: another archive
    _, another = class_archive.java_options(str(java), [jar])
    assert another is not None and another["final"] != archive["final"]
    unused = time.time() - class_archive.UNUSED_DAYS * 86400 - 1
    os.utime(archive["final"], (unused, unused))  # the old pyspark's, unused for a month
    Path(another["partial"]).write_bytes(b"CDS")
    class_archive.publish(another, ended_by_itself=True)
    assert Path(another["final"]).is_file() and not Path(archive["final"]).exists()


def test_a_class_archive_is_dropped_when_its_server_was_killed_and_a_stale_claim_is_taken_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    java = tmp_path / "java"
    java.write_bytes(b"")
    _, archive = class_archive.java_options(str(java), [])
    assert archive is not None
    Path(archive["partial"]).write_bytes(b"half an archive")
    class_archive.publish(archive, ended_by_itself=False)
    assert not Path(archive["partial"]).exists() and not Path(archive["final"]).exists()
    _, claim = class_archive.java_options(str(java), [])
    assert claim == archive
    hour_ago = time.time() - class_archive.CLAIM_STALE_SECONDS - 1
    os.utime(archive["partial"], (hour_ago, hour_ago))  # its server was killed before it could stop
    assert class_archive.java_options(str(java), [])[1] == archive


def test_java_options_keep_paths_with_spaces_and_backslashes_whole() -> None:
    assert servers._quoted_option("-XX:SharedArchiveFile=C:\\Users\\A B\\x.jsa") == (
        '"-XX:SharedArchiveFile=C:\\\\Users\\\\A B\\\\x.jsa"'
    )
