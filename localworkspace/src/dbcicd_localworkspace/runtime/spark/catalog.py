"""Unity Catalog's three-level names (`catalog.schema.table`) on Spark's one-level session catalog.

Spark's session catalog (`spark_catalog`) holds databases of tables and refuses a two-part namespace
(`REQUIRES_SINGLE_PART_NAMESPACE`), and a database name may hold only letters, digits and `_`
(`INVALID_SCHEMA_OR_RELATION_NAME`). So the schema `main.default` of the local workspace is the Spark database
`main__default`, and its tables are the folders of that database in the local workspace's Spark warehouse,
`<warehouse>/main__default.db/<table>`. The folders are what every Spark server of the workspace shares (each has a
catalog of its own, in memory) and what the Unity Catalog endpoints list: a table is a folder with data in it.

Names are lower-case, as Unity Catalog stores them ("Unity Catalog stores all object names as lowercase",
docs.databricks.com/aws/en/sql/language-manual/sql-ref-names) and as Spark's session catalog keeps database and
table names when `spark.sql.caseSensitive` is false, its default (SessionCatalog.formatDatabaseName and
formatTableName): a schema or table named in any case is the same one.

Limits, said in docs/local-workspace.md: catalog and schema names are letters, digits and `_` (Unity Catalog allows
more); a catalog name holding `__` is read back at its first `__`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SEPARATOR = "__"
DATABASE_SUFFIX = ".db"  # Spark's folder for a database in the warehouse (SessionCatalog.defaultDatabasePath)
_SPARK_NAME = re.compile(r"^\w+$", re.ASCII)
# A data file of a table folder, by the formats saveAsTable writes; anything else (_SUCCESS, .crc) is bookkeeping.
FORMATS = {".parquet": "PARQUET", ".csv": "CSV", ".json": "JSON", ".orc": "ORC", ".txt": "TEXT", ".avro": "AVRO"}


class CatalogNameError(ValueError):
    """A catalog or schema name the local workspace cannot keep in Spark's catalog."""


@dataclass(frozen=True)
class TableFolder:
    catalog: str
    schema: str
    name: str
    path: Path
    data_source_format: str  # DELTA, PARQUET, CSV ...

    @property
    def full_name(self) -> str:
        return f"{self.catalog}.{self.schema}.{self.name}"


def database(catalog: str, schema: str) -> str:
    """The Spark database of a Unity Catalog schema."""
    for kind, name in (("catalog", catalog), ("schema", schema)):
        if not _SPARK_NAME.match(name):
            raise CatalogNameError(
                f"the local workspace keeps a {kind} in Spark's catalog, whose names hold only letters, digits and "
                f"_: rename {kind} '{name}'"
            )
    return f"{catalog.lower()}{SEPARATOR}{schema.lower()}"


def schema_folder(warehouse: Path, catalog: str, schema: str) -> Path:
    return warehouse / (database(catalog, schema) + DATABASE_SUFFIX)


def table_format(folder: Path) -> str | None:
    """DELTA, PARQUET ... for a folder holding a table's data; None for an empty or missing folder."""
    if (folder / "_delta_log").is_dir():
        return "DELTA"
    if not folder.is_dir():
        return None
    for file in folder.rglob("*"):
        if file.is_file() and not file.name.startswith(("_", ".")):
            suffixes = [s for s in file.suffixes if s in FORMATS]
            if suffixes:
                return FORMATS[suffixes[0]]
    return None


def tables(warehouse: Path, catalog: str, schema: str) -> list[TableFolder]:
    """The tables of a schema, as folders with data, by name."""
    try:
        folder = schema_folder(warehouse, catalog, schema)
    except CatalogNameError:
        return []
    found = []
    for child in sorted(folder.iterdir()) if folder.is_dir() else []:
        kind = table_format(child)
        if kind is not None:
            found.append(TableFolder(catalog.lower(), schema.lower(), child.name.lower(), child, kind))
    return found


def schemas(warehouse: Path) -> list[tuple[str, str]]:
    """(catalog, schema) of every schema that has a database folder in the warehouse."""
    found = []
    for child in sorted(warehouse.iterdir()) if warehouse.is_dir() else []:
        name = child.name
        if child.is_dir() and name.endswith(DATABASE_SUFFIX) and SEPARATOR in name:
            catalog, _, schema = name[: -len(DATABASE_SUFFIX)].partition(SEPARATOR)
            if catalog and schema:
                found.append((catalog, schema))
    return found
