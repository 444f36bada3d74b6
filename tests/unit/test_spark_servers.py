"""What the local workspace's Spark says when it cannot run, and the names it can keep in Spark's catalog; neither
needs a JVM."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from dbcicd.localworkspace.runtime.spark import catalog, servers


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
