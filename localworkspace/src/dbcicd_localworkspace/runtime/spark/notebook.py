"""`spark` in a notebook of the local workspace: a Spark Connect session on the task's cluster, with Databricks'
paths and three-part table names.

The session is a Spark Connect client (`SparkSession.builder.remote`), as on Databricks' shared and serverless
compute. Before it is handed to the notebook, the client's readers, writers, `sql` and `table` are wrapped in this
process (and only here) so that what a Databricks notebook writes means the same files and tables:

- paths, by Databricks' rules ("How to work with files on Databricks", docs.databricks.com/files/index.html: "The
  DBFS root is the root path for Spark and DBFS commands", and `/dbfs` is what local file APIs put before a DBFS
  path): `dbfs:/x` and a path without scheme, `/x`, are the DBFS root's `x` (so `/dbfs/x` is `dbfs:/dbfs/x`, as a
  Databricks cluster reads it); `/Volumes/...` is a volume's; `file:/Workspace/...` a workspace file and
  `file:/dbfs/...` the DBFS root through its mount, as on a cluster's driver. They are the same files dbutils.fs
  and open() see (runtime/paths.py). Other `file:` paths and other schemes pass unchanged.
- tables: `catalog.schema.table` is a table of Spark's session catalog (spark/catalog.py), the session's current
  schema is `main.default`, and a table another Spark server of the workspace wrote is registered on first use (as
  an external table of its folder, the one way Spark's SQL registers existing data); `DROP TABLE` of such a table
  removes its folder too, as dropping a table that is "not an EXTERNAL table" does on Databricks ("removes the
  directory associated with the table", docs.databricks.com/sql/language-manual/sql-ref-syntax-ddl-drop-table.html),
  so that it stays dropped.
- `/databricks-datasets` is not there to download: reading it fails with a message that says how to seed it.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import paths
from ..dbfs import dataset_path, missing_dataset
from . import catalog, servers, sql_text
from .catalog import CatalogNameError
from .packages import MavenLibraries


class LocalTables:
    """Unity Catalog names of one notebook's session, on the session catalog of its Spark server."""

    def __init__(self, run_sql: Callable[[str], Any], warehouse: Path, catalog_file: Path, no_delta: str) -> None:
        """`no_delta`: why the server runs without Delta Lake; empty when it has it."""
        self._sql = run_sql  # the client's own spark.sql, not the wrapped one
        self._warehouse = warehouse
        self._catalog_file = catalog_file
        self._no_delta = no_delta
        self._databases: set[str] = set()
        self._tables: set[str] = set()
        self.current_catalog = "main"

    def start(self) -> None:
        """Make `main.default` the current schema. A workspace's default catalog is a setting of the workspace (often
        `main`, or the workspace's own catalog); `main` is this one's, the catalog its Unity Catalog starts with."""
        self._sql(f"USE {self.schema(['main', 'default'], create=True)}")

    # --- names (sql_text.Names) -------------------------------------------------------------------------------
    def table(self, parts: list[str], strict: bool = False) -> str | None:
        """The session-catalog name of `catalog.schema.table` or `schema.table` (of the current catalog); None when
        the first part is no catalog (a struct field in SQL) or no schema of the current catalog, unless `strict` (a
        three-part name given to the API), which raises then."""
        if len(parts) == 2:
            if (self.current_catalog, parts[0].lower()) not in self._known_schemas():
                return None
            parts = [self.current_catalog, *parts]
        first, schema, name = parts
        if first.lower() == "spark_catalog":
            return None
        catalogs = self._catalogs()
        if first.lower() not in catalogs:
            if strict:
                raise CatalogNameError(
                    f"Catalog '{first}' does not exist in the local workspace (it has {', '.join(sorted(catalogs))}): "
                    f"create it with the Unity Catalog API first (`databricks catalogs create {first}`)"
                )
            return None
        database = self._database(first, schema)
        self._register(first, schema, name)
        return f"spark_catalog.{sql_text.quote(database)}.{sql_text.quote(name)}"

    def schema(self, parts: list[str], create: bool = False) -> str | None:
        """The Spark database of `catalog.schema`, or of `schema` in the current catalog."""
        first, schema = parts if len(parts) == 2 else [self.current_catalog, parts[0]]
        if first.lower() == "spark_catalog" or first.lower() not in self._catalogs():
            return None
        database = self._database(first, schema, create)
        return f"spark_catalog.{sql_text.quote(database)}"

    def use_catalog(self, name: str) -> str | None:
        """`USE CATALOG name`: "Setting the catalog also resets the current schema to default"
        (docs.databricks.com/sql/language-manual/sql-ref-syntax-ddl-use-catalog.html). An unknown catalog is left to
        Spark, whose error differs from Databricks' NO_SUCH_CATALOG_EXCEPTION."""
        if name.lower() not in self._catalogs():
            return None
        self.current_catalog = name.lower()
        return self.schema([name, "default"], create=True)

    def api_name(self, name: str) -> str:
        """A table name given to spark.table, saveAsTable, insertInto, writeTo ..."""
        parts = [t.text for t in sql_text.tokens(name) if t.kind in ("word", "quoted")]
        if len(parts) == 3:
            return self.table(parts, strict=True) or name
        if len(parts) == 2:
            return self.table(parts) or name
        return name

    def dropped(self, parts: list[str]) -> None:
        """After `DROP TABLE parts`: remove the table's folder when it is one of the warehouse (a table this session
        registered from another server's folder was external here, so Spark kept its files)."""
        if len(parts) == 1:
            database = self._sql("SELECT current_database() AS d").first().d
            catalog_name, _, schema = database.partition(catalog.SEPARATOR)
            parts = [catalog_name, schema, parts[0]] if schema else []
        elif len(parts) == 2:
            parts = [self.current_catalog, *parts]
        if len(parts) != 3 or parts[0].lower() == "spark_catalog":
            return
        first, schema, name = parts
        try:
            folder = catalog.schema_folder(self._warehouse, first, schema) / name.lower()
        except CatalogNameError:
            return
        self._tables.discard(f"{catalog.database(first, schema)}.{name.lower()}")
        shutil.rmtree(folder, ignore_errors=True)

    # --- the session catalog -------------------------------------------------------------------------------------
    def _database(self, catalog_name: str, schema: str, create: bool = False) -> str:
        database = catalog.database(catalog_name, schema)
        known = database in self._databases
        if not known and (create or (catalog_name.lower(), schema.lower()) in self._known_schemas()):
            self._sql(f"CREATE DATABASE IF NOT EXISTS spark_catalog.{sql_text.quote(database)}")
            self._databases.add(database)
        return database

    def _register(self, catalog_name: str, schema: str, name: str) -> None:
        """Make a table folder another Spark server wrote a table of this session's catalog."""
        database = catalog.database(catalog_name, schema)
        key = f"{database}.{name.lower()}"
        if key in self._tables or database not in self._databases:
            return
        folder = catalog.schema_folder(self._warehouse, catalog_name, schema) / name.lower()
        kind = catalog.table_format(folder)
        if kind is None:
            return  # a new table: the statement makes it
        if kind == "DELTA" and self._no_delta:
            raise CatalogNameError(
                f"{catalog_name}.{schema}.{name} is a Delta table, and this Spark server runs without Delta Lake: "
                f"{self._no_delta}"
            )
        self._sql(
            f"CREATE TABLE IF NOT EXISTS spark_catalog.{sql_text.quote(database)}.{sql_text.quote(name)} "
            f"USING {kind.lower()} LOCATION {sql_text.string_literal(str(folder))}"
        )
        self._tables.add(key)

    def _state(self) -> dict[str, Any]:
        try:
            state = json.loads(self._catalog_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _catalogs(self) -> set[str]:
        names = {name.lower() for name in self._state().get("catalogs", {})}
        return names | {c for c, _ in catalog.schemas(self._warehouse)} | {"main"}

    def _known_schemas(self) -> set[tuple[str, str]]:
        """The schemas of Unity Catalog's state and those notebooks made in SQL (folders of the warehouse)."""
        found = {tuple(full.lower().split(".", 1)) for full in self._state().get("schemas", {})}
        return {(c, s) for c, s in found} | {("main", "default")} | set(catalog.schemas(self._warehouse))


def spark_path(path: Any) -> Any:
    """A Databricks path as the local Spark server reads it (module docstring); anything not a string unchanged."""
    if not isinstance(path, str):
        return path
    if path.startswith("dbfs:"):
        return _existing_dataset(path, paths.translate("/dbfs/" + path[len("dbfs:") :].lstrip("/")))
    if path.startswith("file:"):
        local = "/" + path[len("file:") :].lstrip("/")
        mounted = any(local == p or local.startswith(p + "/") for p in paths.MOUNT_PREFIXES)
        return _existing_dataset(path, paths.translate(local)) if mounted else path
    if path == "/Volumes" or path.startswith("/Volumes/"):
        return paths.translate(path)
    if path.startswith("/") and not path.startswith("//") and not paths.on_disk(path):
        return _existing_dataset(path, paths.translate("/dbfs" + path))  # the DBFS root: /dbfs/x is dbfs:/dbfs/x
    return path


def _existing_dataset(original: str, disk: str) -> str:
    if dataset_path(original) and not os.path.exists(disk):
        raise FileNotFoundError(missing_dataset(original, disk))
    return disk


def _paths(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return type(value)(spark_path(v) for v in value)
    return spark_path(value)


def _wrap(
    cls: type,
    name: str,
    change: Callable[[tuple[Any, ...], dict[str, Any]], tuple[tuple, dict]],
    after: Callable[[tuple[Any, ...], dict[str, Any]], None] | None = None,
) -> None:
    """Make `cls.name` change its arguments first, and call `after` with the caller's arguments once it returned."""
    original = getattr(cls, name, None)
    if original is None or getattr(original, "__dbcicd_wrapped__", False):
        return

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        changed, changed_kwargs = change(args, dict(kwargs))
        result = original(self, *changed, **changed_kwargs)
        if after is not None:
            after(args, kwargs)
        return result

    wrapper.__dbcicd_wrapped__ = True  # type: ignore[attr-defined]
    setattr(cls, name, wrapper)


def _first(mapper: Callable[[Any], Any], *keywords: str) -> Callable[[tuple, dict], tuple[tuple, dict]]:
    def change(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        if args:
            args = (mapper(args[0]), *args[1:])
        for key in keywords:
            if key in kwargs:
                kwargs[key] = mapper(kwargs[key])
        return args, kwargs

    return change


def _all_positional(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    return tuple(_paths(a) for a in args), {k: _paths(v) if k in ("path", "paths") else v for k, v in kwargs.items()}


def _option(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    if len(args) >= 2 and isinstance(args[0], str) and args[0].lower() == "path":
        args = (args[0], spark_path(args[1]), *args[2:])
    return args, kwargs


def _options(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    return args, {k: spark_path(v) if k.lower() == "path" else v for k, v in kwargs.items()}


def install(tables: LocalTables) -> None:
    """Wrap the Spark Connect client's classes (once per process)."""
    from pyspark.sql.connect.catalog import Catalog
    from pyspark.sql.connect.dataframe import DataFrame
    from pyspark.sql.connect.readwriter import DataFrameReader, DataFrameWriter
    from pyspark.sql.connect.session import SparkSession

    def sql(text: Any) -> Any:
        if not isinstance(text, str):
            return text
        return sql_text.rewrite(text, tables, spark_path)

    def after_sql(args: tuple, kwargs: dict) -> None:
        text = args[0] if args else kwargs.get("sqlQuery")
        dropped = sql_text.dropped_table(text) if isinstance(text, str) else None
        if dropped:
            tables.dropped(dropped)

    def name(value: Any) -> Any:
        return tables.api_name(value) if isinstance(value, str) else value

    for method in ("load", "csv", "json", "orc", "text", "xml"):
        _wrap(DataFrameReader, method, _first(_paths, "path", "paths"))
    _wrap(DataFrameReader, "parquet", _all_positional)
    for method in ("save", "csv", "json", "orc", "text", "xml", "parquet"):
        _wrap(DataFrameWriter, method, _first(spark_path, "path"))
    for cls in (DataFrameReader, DataFrameWriter):
        _wrap(cls, "option", _option)
        _wrap(cls, "options", _options)
    _wrap(DataFrameReader, "table", _first(name, "tableName"))
    _wrap(DataFrameWriter, "saveAsTable", _first(name, "name"))
    _wrap(DataFrameWriter, "insertInto", _first(name, "tableName"))
    _wrap(DataFrame, "writeTo", _first(name, "table"))
    _wrap(SparkSession, "table", _first(name, "tableName"))
    _wrap(SparkSession, "sql", _first(sql, "sqlQuery"), after_sql)
    for method in ("tableExists", "getTable"):
        _wrap(Catalog, method, _first(name, "tableName"))


def connect(
    remote: str, server_folder: Path, warehouse: Path, catalog_file: Path, libraries: MavenLibraries | None = None
) -> Any:
    """The notebook's SparkSession: on `remote` (`sc://…`) when the cluster names one, else on the server of
    `server_folder`, started (with the task's Maven `libraries`) when none runs."""
    from pyspark.sql import SparkSession

    no_delta = ""  # a server of the caller's (--spark-remote) says for itself whether it reads Delta
    if not remote:
        remote, delta = servers.attach(server_folder, warehouse, libraries or MavenLibraries())
        reason = None if delta else servers.delta_unavailable_reason(server_folder)
        if reason:
            print(f"spark: {reason.splitlines()[0]}", file=sys.stderr)
        no_delta = "" if delta else reason or "delta-spark is not installed"
    session = SparkSession.builder.remote(remote).getOrCreate()
    tables = LocalTables(session.sql, warehouse, catalog_file, no_delta)
    install(tables)
    tables.start()
    return session
