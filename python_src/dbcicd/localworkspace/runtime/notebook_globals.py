"""What Databricks puts in a notebook's namespace (dbutils, spark, display, displayHTML, getArgument), and the
`dbruntime` module through which databricks-sdk finds them (`from databricks.sdk.runtime import dbutils`)."""

from __future__ import annotations

import sys
import types
from typing import Any

from .dbutils import DBUtils
from .display import display, displayHTML
from .exceptions import UnsupportedCommand


class LazySpark:
    """`spark`: a local SparkSession, created on first use so that notebooks without Spark start fast."""

    def __init__(self) -> None:
        self._session: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._session is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError:
                raise UnsupportedCommand(
                    "spark needs pyspark, which is not installed: install pyspark into the Python environment that "
                    "runs the local workspace"
                ) from None
            self._session = SparkSession.builder.master("local[*]").appName("dbcicd-local").getOrCreate()
        return getattr(self._session, name)

    def __repr__(self) -> str:
        return "<spark: a local SparkSession, created on first use>"


def runtime_objects(dbutils: DBUtils) -> dict[str, Any]:
    return {
        "dbutils": dbutils,
        "spark": LazySpark(),
        "display": display,
        "displayHTML": displayHTML,
        "getArgument": dbutils.widgets.getArgument,
    }


def register_dbruntime(objects: dict[str, Any]) -> None:
    """databricks-sdk's `databricks.sdk.runtime` (and WorkspaceClient.dbutils) serve the objects of the notebook
    namespace when `dbruntime.UserNamespaceInitializer` can be imported, as on a cluster; this stands in for it."""

    class UserNamespaceInitializer:
        @classmethod
        def getOrCreate(cls) -> UserNamespaceInitializer:
            return cls()

        def get_namespace_globals(self) -> dict[str, Any]:
            return objects

    module = types.ModuleType("dbruntime", "Stand-in for the Databricks runtime module, for databricks-sdk.")
    module.UserNamespaceInitializer = UserNamespaceInitializer  # type: ignore[attr-defined]
    sys.modules["dbruntime"] = module
