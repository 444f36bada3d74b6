"""The notebook's `dbutils`: widgets, notebook (exit, run), fs and secrets, with Databricks' names and signatures.

Other Databricks utilities (jobs, library, ...) do not exist here; using one raises an AttributeError
that says so, rather than a bare "has no attribute".
"""

from __future__ import annotations

from .dbfs import FsUtils
from .secrets import SecretsUtils
from .widgets import Widgets
from .workflows import NotebookUtils

AVAILABLE = (
    "dbutils.widgets, dbutils.notebook (exit, run, entry_point for the notebook's path), dbutils.fs and dbutils.secrets"
)


class DBUtils:
    def __init__(self, widgets: Widgets, notebook: NotebookUtils, fs: FsUtils, secrets: SecretsUtils) -> None:
        self.widgets = widgets
        self.notebook = notebook
        self.fs = fs
        self.secrets = secrets

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"dbutils.{name} is not available in the local workspace; it offers {AVAILABLE}")

    def help(self) -> None:
        print(f"The local workspace's dbutils offers {AVAILABLE}.")
