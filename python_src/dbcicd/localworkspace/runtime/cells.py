"""Notebook sources split into cells: Databricks `.py` source format, `.ipynb`, and plain `.py` files.

Python cells keep their line numbers from the file, so tracebacks point at the lines a user sees.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from notebook_files import JUPYTER_EXTENSION, SOURCE_HEADERS

CELL_SEPARATOR = "# COMMAND ----------"
MAGIC_PREFIX = "# MAGIC"
TITLE_PREFIX = "# DBTITLE"


@dataclass(frozen=True)
class Cell:
    """One cell: `magic` is '' for Python, else the magic's name without `%` ('md', 'run', 'sh', ...)."""

    magic: str
    source: str  # for magics: the text after the magic name (first line) and the lines below
    first_line: int  # 1-based line of the cell's first source line in the file


def read_cells(file: Path) -> list[Cell]:
    """The cells of a notebook or Python file, in order."""
    if file.suffix.lower() == JUPYTER_EXTENSION:
        return _jupyter_cells(file)
    text = file.read_text(encoding="utf-8")
    lines = text.splitlines()
    header = SOURCE_HEADERS.get(file.suffix.lower(), ("", ""))[0]
    if not lines or lines[0].lstrip("\ufeff").strip() != header or not header:
        return [Cell("", text, 1)]  # a plain Python file: one cell
    if file.suffix.lower() != ".py":
        language = SOURCE_HEADERS[file.suffix.lower()][1]
        return [Cell(language.lower(), "\n".join(lines[1:]), 2)]
    cells, start, chunk = [], 2, []
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == CELL_SEPARATOR:
            cells.append(_source_cell(chunk, start))
            chunk, start = [], number + 1
        else:
            chunk.append(line)
    cells.append(_source_cell(chunk, start))
    return [c for c in cells if c.source.strip() or c.magic]


def _source_cell(lines: list[str], first_line: int) -> Cell:
    while lines and lines[0].startswith(TITLE_PREFIX):
        lines, first_line = lines[1:], first_line + 1
    body = [line for line in lines if line.strip()]
    if body and all(line.startswith(MAGIC_PREFIX) for line in body):
        stripped = [_unmagic(line) for line in lines]
        return _magic_cell(stripped, first_line)
    return Cell("", "\n".join(lines), first_line)


def _unmagic(line: str) -> str:
    if line.startswith(MAGIC_PREFIX + " "):
        return line[len(MAGIC_PREFIX) + 1 :]
    return line[len(MAGIC_PREFIX) :] if line.startswith(MAGIC_PREFIX) else line


def _magic_cell(lines: list[str], first_line: int) -> Cell:
    """A cell whose first non-empty line is `%name rest`."""
    while lines and not lines[0].strip():
        lines, first_line = lines[1:], first_line + 1
    head = lines[0].strip()
    name, _, rest = head[1:].partition(" ")
    body = "\n".join([rest, *lines[1:]]) if rest else "\n".join(lines[1:])
    return Cell(name.strip(), body, first_line)


def _jupyter_cells(file: Path) -> list[Cell]:
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{file.name} is not a valid Jupyter notebook: {err}") from None
    cells = []
    for raw in doc.get("cells", []):
        if raw.get("cell_type") != "code":
            continue
        source = raw.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        lines = text.splitlines()
        while lines and not lines[0].strip():
            lines = lines[1:]
        if lines and lines[0].startswith("%"):
            # Jupyter's cell magics (`%%sh`) mean what Databricks' `%sh` means.
            lines[0] = lines[0][1:] if lines[0].startswith("%%") else lines[0]
            cells.append(_magic_cell(lines, 1))
        else:
            cells.append(Cell("", "\n".join(lines), 1))
    return cells
