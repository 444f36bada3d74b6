"""The notebook's `dbutils`: widgets, notebook (exit, run) and fs, with Databricks' names and signatures.

Other Databricks utilities (secrets, jobs, library, ...) do not exist here; using one raises an AttributeError
that says so, rather than a bare "has no attribute".
"""

from __future__ import annotations

from .dbfs import FsUtils
from .widgets import Widgets
from .workflows import NotebookUtils

AVAILABLE = "dbutils.widgets, dbutils.notebook (exit, run) and dbutils.fs"


class DBUtils:
    def __init__(self, widgets: Widgets, notebook: NotebookUtils, fs: FsUtils) -> None:
        self.widgets = widgets
        self.notebook = notebook
        self.fs = fs

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"dbutils.{name} is not available in the local workspace; it offers {AVAILABLE}")

    def help(self) -> None:
        print(f"The local workspace's dbutils offers {AVAILABLE}.")
