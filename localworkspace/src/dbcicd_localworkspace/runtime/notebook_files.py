"""How Databricks recognises notebooks among files: by extension and first-line header.

Shared by the server (object types in the workspace API) and the notebook kernel (resolving `%run` and
`dbutils.notebook.run` targets), so it uses the standard library only.
"""

from __future__ import annotations

from pathlib import Path

# First line of a notebook exported in SOURCE format, by extension.
SOURCE_HEADERS = {
    ".py": ("# Databricks notebook source", "PYTHON"),
    ".sql": ("-- Databricks notebook source", "SQL"),
    ".scala": ("// Databricks notebook source", "SCALA"),
    ".r": ("# Databricks notebook source", "R"),
}
JUPYTER_EXTENSION = ".ipynb"
# Order in which an extension-less notebook path is looked up on disk.
NOTEBOOK_EXTENSIONS = (".py", JUPYTER_EXTENSION, ".sql", ".scala", ".r")


def notebook_language(file: Path) -> str | None:
    """The notebook language of a file on disk, or None when it is a plain file."""
    suffix = file.suffix.lower()
    if suffix == JUPYTER_EXTENSION:
        return "PYTHON" if file.is_file() else None
    header = SOURCE_HEADERS.get(suffix)
    if header is None or not file.is_file():
        return None
    try:
        with file.open("rb") as fh:
            first = fh.readline(200).decode("utf-8", "replace").lstrip("\ufeff").strip()
    except OSError:
        return None
    return header[1] if first == header[0] else None


def find_notebook(base: Path) -> Path | None:
    """The file holding the notebook whose extension-less disk path is `base`, if any."""
    for ext in NOTEBOOK_EXTENSIONS:
        candidate = base.with_name(base.name + ext)
        if notebook_language(candidate):
            return candidate
    return None


def notebook_name(file: Path) -> str:
    """The workspace name of a file: notebooks lose their extension, other files keep it."""
    return file.name[: -len(file.suffix)] if notebook_language(file) else file.name
