"""What Databricks puts in a notebook's namespace (dbutils, spark, display, displayHTML, getArgument), and the
`dbruntime` module through which databricks-sdk finds them (`from databricks.sdk.runtime import dbutils`)."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

from .dbutils import DBUtils
from .display import display, displayHTML
from .exceptions import UnsupportedCommand
from .spark import session_hook
from .spark.servers import INSTALL_HINT
from .spec import KernelSpec


class LazySpark:
    """`spark`: a Spark Connect session on the task's cluster (spark/notebook.py), made on first use so that
    notebooks without Spark start fast and start no Spark server."""

    def __init__(self, spec: KernelSpec) -> None:
        self._spec = spec
        self._session: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)  # copy, pickle and friends probing for protocols must not start Spark
        return getattr(self.session(), name)

    def session(self) -> Any:
        """The SparkSession, made now if it was not yet (what SparkSession.builder.getOrCreate() returns too)."""
        if self._session is None:
            self._session = _connect(self._spec)
        return self._session

    def __repr__(self) -> str:
        return "<spark: a Spark Connect session on the task's cluster, made on first use>"


def _connect(spec: KernelSpec) -> Any:
    if importlib.util.find_spec("pyspark") is None:
        raise UnsupportedCommand(f"spark needs pyspark, which is not installed: {INSTALL_HINT}")
    from .spark.notebook import connect
    from .spark.packages import MavenLibraries
    from .spark.servers import SparkUnavailable

    if not (spec.spark_remote or spec.spark_server) or not spec.spark_warehouse:
        raise UnsupportedCommand("spark: the kernel spec names no Spark server (spark_server or spark_remote)")
    try:
        return connect(
            spec.spark_remote,
            Path(spec.spark_server),
            Path(spec.spark_warehouse),
            Path(spec.catalog_file),
            MavenLibraries.from_json(spec.spark_maven),
        )
    except SparkUnavailable as err:
        raise UnsupportedCommand(str(err)) from None


def runtime_objects(dbutils: DBUtils, spec: KernelSpec) -> dict[str, Any]:
    spark = LazySpark(spec)
    session_hook.install(spark.session)
    return {
        "dbutils": dbutils,
        "spark": spark,
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
