"""`SparkSession.builder.getOrCreate()` returns the task's session, as on Databricks.

On a cluster the notebook's `spark` is the global default session, which `SparkSession.builder.getOrCreate()`
"first checks" for and returns (docs.databricks.com/aws/en/pyspark/reference/classes/sparksession/builder/getOrCreate),
so modules and Python file tasks get it that way. Here the notebook's session is a Spark Connect one made on first
use; without this, such a call would start a second, classic Spark in the notebook's own process, with none of the
cluster's tables or paths. The hook waits for pyspark to be imported (so a notebook without Spark pays nothing) and
then wraps `Builder.getOrCreate`: a builder given no `spark.master` or `spark.remote` of its own gets the task's
session.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

MODULE = "pyspark.sql.session"
OWN_SETTINGS = ("spark.master", "spark.remote")


class _SessionModuleHook(importlib.abc.MetaPathFinder):
    def __init__(self, session: Callable[[], Any]) -> None:
        self._session = session

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if fullname != MODULE:
            return None
        sys.meta_path.remove(self)  # once: the real finders find the module
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module
        session = self._session

        def exec_module(module: ModuleType) -> None:
            load(module)
            _wrap_builder(module.SparkSession.Builder, session)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _wrap_builder(builder: type, session: Callable[[], Any]) -> None:
    original = builder.getOrCreate

    @functools.wraps(original)
    def getOrCreate(self: Any) -> Any:
        options = getattr(self, "_options", {})
        if any(key in options for key in OWN_SETTINGS):
            return original(self)
        return session()

    builder.getOrCreate = getOrCreate  # type: ignore[attr-defined]


def install(session: Callable[[], Any]) -> None:
    """Make `SparkSession.builder.getOrCreate()` return `session()` once pyspark is imported (or now, if it is)."""
    loaded = sys.modules.get(MODULE)
    if loaded is not None:
        _wrap_builder(loaded.SparkSession.Builder, session)
    else:
        sys.meta_path.insert(0, _SessionModuleHook(session))
