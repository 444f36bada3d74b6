"""dbcicd: CI/CD for Databricks from Azure DevOps pipelines and the command line."""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # Served lazily so that importing the package (e.g. in a notebook subprocess) costs nothing.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("dbcicd")
        except PackageNotFoundError:
            return "0.0.0+unknown"
    raise AttributeError(name)
