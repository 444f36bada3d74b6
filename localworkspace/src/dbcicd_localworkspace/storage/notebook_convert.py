"""A notebook's two text forms: Databricks source (`# Databricks notebook source` + `# COMMAND ----------` cells)
and Jupyter (`.ipynb` JSON), converted both ways for workspace/import and workspace/export.

Only the structure travels (cells, Markdown, magic commands); outputs are never kept, as in a source export.
"""

from __future__ import annotations

import json
from typing import Any

from ..runtime.notebook_files import SOURCE_HEADERS

# Language -> file extension, header line and comment marker, from the one table that recognises notebooks.
EXTENSION = {language: ext for ext, (_, language) in SOURCE_HEADERS.items()}
_HEADER = {language: line for line, language in SOURCE_HEADERS.values()}
COMMENT = {language: line.split(" ", 1)[0] for language, line in _HEADER.items()}
LANGUAGES = tuple(EXTENSION)
_DATABRICKS_METADATA = "application/vnd.databricks.v1+notebook"


def header(language: str) -> str:
    return _HEADER[language]


def has_header(content: bytes, language: str) -> bool:
    """Whether source content starts with the notebook header line of its language."""
    first = content.split(b"\n", 1)[0].decode("utf-8", "replace").lstrip("\ufeff").strip()
    return first == header(language)


def with_header(content: bytes, language: str) -> bytes:
    """Source content starting with the notebook header line (added when the client left it out)."""
    return content if has_header(content, language) else header(language).encode() + b"\n" + content


def source_cells(text: str, language: str) -> list[tuple[str, str]]:
    """(cell type, source) pairs of a source notebook; `%md` magic cells are Markdown."""
    comment = COMMENT[language]
    separator, magic = f"{comment} COMMAND ----------", f"{comment} MAGIC"
    lines = text.lstrip("\ufeff").splitlines()
    if lines and lines[0].strip() == header(language):
        lines = lines[1:]
    chunks: list[list[str]] = [[]]
    for line in lines:
        if line.strip() == separator:
            chunks.append([])
        elif not line.startswith(f"{comment} DBTITLE"):
            chunks[-1].append(line)
    cells = []
    for chunk in chunks:
        body = "\n".join(chunk).strip("\n")
        if not body.strip():
            continue
        body_lines = body.split("\n")
        if all(line.startswith(magic) for line in body_lines):
            body = "\n".join(line[len(magic) + 1 :] for line in body_lines)
            if body.startswith("%md"):
                cells.append(("markdown", body[len("%md") :].lstrip(" ").lstrip("\n")))
                continue
        cells.append(("code", body))
    return cells


def source_to_ipynb(text: str, language: str, name: str) -> bytes:
    """A Jupyter notebook (nbformat 4) with the cells of a source notebook."""
    notebook = {
        "cells": [_ipynb_cell(kind, body) for kind, body in source_cells(text, language)],
        "metadata": {
            _DATABRICKS_METADATA: {"language": language.lower(), "notebookName": name},
            "language_info": {"name": language.lower()},
        },
        "nbformat": 4,
        "nbformat_minor": 0,
    }
    return json.dumps(notebook, indent=1).encode()


def parse_ipynb(content: bytes) -> dict[str, Any]:
    """The notebook object of `.ipynb` content; ValueError when it is not a Jupyter notebook."""
    try:
        notebook = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"not valid JSON ({err})") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValueError("not a Jupyter notebook: there is no 'cells' array")
    return notebook


def ipynb_language(notebook: dict[str, Any]) -> str:
    """The notebook's language from its metadata (Databricks' own first, then Jupyter's); PYTHON by default."""
    metadata = notebook.get("metadata") or {}
    for candidate in (
        (metadata.get(_DATABRICKS_METADATA) or {}).get("language"),
        (metadata.get("language_info") or {}).get("name"),
    ):
        if isinstance(candidate, str) and candidate.upper() in COMMENT:
            return candidate.upper()
    return "PYTHON"


def ipynb_to_source(notebook: dict[str, Any]) -> tuple[bytes, str]:
    """(source content, language) of a Jupyter notebook."""
    language = ipynb_language(notebook)
    comment = COMMENT[language]
    cells = []
    for cell in notebook["cells"]:
        body = _cell_text(cell).strip("\n")
        if cell.get("cell_type") == "markdown":
            body = "%md\n" + body
        if cell.get("cell_type") == "markdown" or body.startswith("%"):
            body = "\n".join(f"{comment} MAGIC {line}".rstrip() for line in body.split("\n"))
        cells.append(body)
    text = header(language) + "\n" + f"\n\n{comment} COMMAND ----------\n\n".join(cells) + "\n"
    return text.encode(), language


def _ipynb_cell(kind: str, body: str) -> dict[str, Any]:
    lines = body.split("\n")
    source = [line + "\n" for line in lines[:-1]] + [lines[-1]]
    cell: dict[str, Any] = {"cell_type": kind, "metadata": {}, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _cell_text(cell: Any) -> str:
    source = cell.get("source", "") if isinstance(cell, dict) else ""
    return "".join(source) if isinstance(source, list) else str(source)
