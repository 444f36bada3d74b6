"""Notebook sources split into cells: Databricks `.py` source format, `.ipynb`, and plain Python files.

Each cell knows the file name and line its source starts at, so that compiled cells report the lines a user sees
in tracebacks: the notebook's own line numbers for source notebooks, per-cell lines for Jupyter notebooks (whose
cells are registered with linecache under a `<file> [cell N]` name).
"""

from __future__ import annotations

import json
import linecache
from pathlib import Path
from typing import NamedTuple

from .notebook_files import JUPYTER_EXTENSION, SOURCE_HEADERS

CELL_SEPARATORS = ("# COMMAND ----------", "-- COMMAND ----------", "// COMMAND ----------")
MAGIC_PREFIX = "# MAGIC"
TITLE_PREFIX = "# DBTITLE"


class Cell(NamedTuple):
    """One cell. `magic` is '' for Python, else the magic's name without `%` ('md', 'run', 'sh', ...) and `source`
    the text after it: the rest of the magic's line, then the lines below."""

    magic: str
    source: str
    filename: str
    first_line: int  # 1-based line of `source`'s first line in `filename`


def as_written(cell: Cell) -> str:
    """The cell's text as its author wrote it (a magic cell with its `%name` line back), without the blank lines
    that end it."""
    if not cell.magic:
        return cell.source.rstrip("\n")
    first, newline, rest = cell.source.partition("\n")
    return (f"%{cell.magic} {first}".rstrip() + newline + rest).rstrip("\n")


def read_cells(file: Path) -> list[Cell]:
    """The cells of a notebook, in order; a plain Python file is one cell."""
    if file.suffix.lower() == JUPYTER_EXTENSION:
        return _jupyter_cells(file)
    text = file.read_text(encoding="utf-8-sig")
    header, language = SOURCE_HEADERS.get(file.suffix.lower(), ("", ""))
    first = text.split("\n", 1)[0].strip()
    if not header or first != header:
        return [Cell("", text, str(file), 1)]
    if language != "PYTHON":
        # A SQL, Scala or R notebook runs (or is refused) as one cell of that language.
        return [Cell(language.lower(), text.partition("\n")[2], str(file), 2)]
    cells, chunk, start = [], [], 2
    for number, line in enumerate(text.splitlines()[1:], start=2):
        if line.rstrip() in CELL_SEPARATORS:
            cells.append(_source_cell(chunk, start, str(file)))
            chunk, start = [], number + 1
        else:
            chunk.append(line)
    cells.append(_source_cell(chunk, start, str(file)))
    return [cell for cell in cells if cell.magic or cell.source.strip()]


def _source_cell(lines: list[str], first_line: int, filename: str) -> Cell:
    while lines and (not lines[0].strip() or lines[0].startswith(TITLE_PREFIX)):
        lines, first_line = lines[1:], first_line + 1
    if lines and all(line.startswith(MAGIC_PREFIX) for line in lines if line.strip()):
        return _magic_cell([_unmagic(line) for line in lines], first_line, filename)
    return Cell("", "\n".join(lines), filename, first_line)


def _unmagic(line: str) -> str:
    if line.startswith(MAGIC_PREFIX + " "):
        return line[len(MAGIC_PREFIX) + 1 :]
    return line[len(MAGIC_PREFIX) :] if line.startswith(MAGIC_PREFIX) else line


def _magic_cell(lines: list[str], first_line: int, filename: str) -> Cell:
    """A cell whose first line is `%name rest`; Jupyter's `%%name` means the same."""
    while lines and not lines[0].strip():
        lines, first_line = lines[1:], first_line + 1
    head = lines[0].strip().lstrip("%").split(None, 1) if lines else []
    if not head:
        return Cell("", "", filename, first_line)
    rest = head[1] if len(head) > 1 else ""
    return Cell(head[0], "\n".join([rest, *lines[1:]]), filename, first_line)


def _jupyter_cells(file: Path) -> list[Cell]:
    try:
        doc = json.loads(file.read_text(encoding="utf-8-sig"))
        raw_cells = doc["cells"]
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{file.name} is not a valid Jupyter notebook: {err!r}") from None
    cells = []
    for number, raw in enumerate(raw_cells, start=1):
        if raw.get("cell_type") != "code":
            continue
        source = raw.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        filename = f"{file} [cell {number}]"
        lines = text.splitlines()
        linecache.cache[filename] = (len(text), None, [line + "\n" for line in lines], filename)
        first = next((line for line in lines if line.strip()), "")
        if first.startswith("%"):
            cells.append(_magic_cell(lines, 1, filename))
        else:
            cells.append(Cell("", text, filename, 1))
    return cells
