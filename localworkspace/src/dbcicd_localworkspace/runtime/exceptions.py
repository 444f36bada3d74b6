"""The exceptions notebook code sees, named as Databricks names them where it has a name for them.

Databricks' errors come from the JVM, so their printed names are Java class names; giving these classes the same
`__module__` makes the task's `error` line read as it would on Databricks.
"""

from __future__ import annotations


class NotebookExit(BaseException):
    """dbutils.notebook.exit(value): unwinds everything up to the kernel, which reports success with `value`.

    A BaseException (like SystemExit) so that an `except Exception` in notebook code, a `%run` notebook or a
    helper function cannot turn the exit into an ordinary error and carry on.
    """

    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


class InputWidgetNotDefined(Exception):
    """dbutils.widgets.get() of a name no widget and no parameter defines."""


InputWidgetNotDefined.__module__ = "com.databricks.dbutils_v1"


class WorkflowException(Exception):
    """dbutils.notebook.run(): the child notebook failed or ran out of time."""


WorkflowException.__module__ = "com.databricks"


class ExecutionError(Exception):
    """What dbutils.fs raises when the workspace refuses the call (the DBFS root of a workspace that disabled it);
    its message carries Databricks' error class and SQLSTATE."""


# Notebooks show it as `ExecutionError: [DBFS_DISABLED] ...` (as users recorded it); the module of Databricks' own
# class is not public, so none is shown.
ExecutionError.__module__ = "builtins"


class UnsupportedCommand(Exception):
    """Something a Databricks notebook may do that the local workspace cannot (a %scala cell, %pip, spark without
    pyspark); the message says what, and what to do instead."""


UnsupportedCommand.__module__ = "dbcicd_localworkspace"
