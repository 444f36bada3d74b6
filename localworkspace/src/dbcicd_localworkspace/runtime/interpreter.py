"""Runs a notebook's cells in one namespace, as a Databricks notebook attached to a cluster runs them.

Python cells are compiled at their own line numbers in their own file. A magic cell runs inside a one-line frame
placed at its `%` line and named after the magic, so a failing `%sh` or `%run` shows in the traceback as that line
of the notebook. `%run` runs the other notebook's cells right here, in the same namespace.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

from . import cell_record, magics
from .cells import Cell, as_written, read_cells
from .dbfs import FsUtils
from .display import show_open_figures
from .libraries import Libraries
from .notebooks import NotebookRef, resolve
from .outcome import MAGIC_FRAME_PREFIX
from .widgets import Widgets

SKIPPED_MAGICS = frozenset({"md", "md-sandbox"})


class Interpreter:
    def __init__(
        self, namespace: dict[str, Any], widgets: Widgets, fs: FsUtils, libraries: Libraries, workspace_root: str
    ) -> None:
        self.namespace = namespace
        self._widgets = widgets
        self._fs = fs
        self._libraries = libraries
        self._workspace_root = workspace_root
        self._running: list[NotebookRef] = []  # the notebook and the %run notebooks inside it, innermost last

    def run_notebook(self, notebook: NotebookRef) -> None:
        self._running.append(notebook)
        try:
            for cell in read_cells(notebook.file):
                self._run_cell(cell)
        finally:
            self._running.pop()

    def run_python(self, source: str, filename: str, first_line: int = 1) -> None:
        # dont_inherit: the kernel's own `from __future__` imports must not change how notebook code compiles.
        code = compile("\n" * (first_line - 1) + source, filename, "exec", dont_inherit=True)
        exec(code, self.namespace)

    def _run_cell(self, cell: Cell) -> None:
        # The cells of the notebook the task runs make its record; a %run notebook's cells show in the %run cell.
        record = cell_record.active() if len(self._running) == 1 else None
        if record is not None:
            record.cell(cell.magic or "python", as_written(cell))
        try:
            if cell.magic in ("", "python"):
                self.run_python(cell.source, cell.filename, cell.first_line)
            elif cell.magic not in SKIPPED_MAGICS:
                self._in_cell_frame(cell, self._magic(cell))
        finally:
            if record is not None:
                show_open_figures()
                record.end_cell()

    def _magic(self, cell: Cell) -> Callable[[], None]:
        text = cell.source
        if cell.magic == "run":
            return lambda: self._run_included(text)
        if cell.magic == "sh":
            return lambda: magics.shell(text)
        if cell.magic == "fs":
            return lambda: magics.fs(self._fs, text)
        if cell.magic == "sql":
            return lambda: magics.sql(text, self.namespace)
        if cell.magic == "pip":
            return lambda: self._libraries.pip(text)
        return lambda: magics.refuse(cell.magic)

    def _in_cell_frame(self, cell: Cell, action: Callable[[], None]) -> None:
        code = compile("\n" * (cell.first_line - 1) + "__magic__()", cell.filename, "exec", dont_inherit=True)
        exec(code.replace(co_name=MAGIC_FRAME_PREFIX + cell.magic), self.namespace, {"__magic__": action})

    def _run_included(self, text: str) -> None:
        """`%run ./other $name=value ...`: the other notebook's cells run in this namespace, with those widgets."""
        line = next((line for line in text.splitlines() if line.strip()), "")
        words = shlex.split(line)
        if not words:
            raise ValueError("%run needs a notebook path, e.g. %run ./setup")
        arguments = dict(_argument(word) for word in words[1:])
        notebook = resolve(words[0], self._running[-1], self._workspace_root)
        if any(n.file == notebook.file for n in self._running):
            chain = " -> ".join(n.workspace_path for n in [*self._running, notebook])
            raise RecursionError(f"%run {words[0]} would run a notebook that is already running: {chain}")
        with self._widgets.bound(arguments):
            self.run_notebook(notebook)


def _argument(word: str) -> tuple[str, str]:
    name, equals, value = word.partition("=")
    if not name.startswith("$") or not equals or len(name) < 2:
        raise ValueError(f"%run arguments are written $name=value, got {word!r}")
    return name[1:], value
