"""The record of what each cell of a notebook showed, in order: written by the kernel as the notebook runs, read
by the renderer (localworkspace/render) for runs/export and the run pages of browsers.

The record is `cells.jsonl` beside the task's result file, one JSON object a line, each written and flushed at once
so that a kernel killed by a timeout or a cancel leaves what its cells showed up to then:

  {"cell": {"language": "python" | "md" | "sh" | ..., "source": "<the cell as written>"}, "at": [out, err]}
                                                             a cell starts, where stdout and stderr stand
  {"text": [stdout_start, stdout_end, stderr_start, stderr_end]}                       what it printed meanwhile
  {"at": [out, err]}                                       text up to here is a display's log copy, not the cell's
  {"display": "table", "columns": [...], "rows": [[...]], "total": n}                  display() of a DataFrame
  {"display": "html", "html": "..."}                                                   displayHTML()
  {"display": "image", "mime": "image/png", "data": "<base64>"}                        a figure
  {"exit": "<value>"}                                                                  dbutils.notebook.exit()
  {"error": "<exception line>", "trace": "<traceback>"}                                the cell that failed
  {"end": true}                                                                        the notebook ended otherwise

Printed text is not copied: a text event holds byte offsets into the task's stdout.txt and stderr.txt, the files
the kernel's standard streams are (so text from `%sh` commands and child processes is caught as well as Python's).
A kernel killed in the middle of a cell (a timeout, a cancel) writes no more events: a record without an ending
event gives its last cell what the streams hold from the last known offsets on, so the page of an interrupted task
shows what its cell printed until then, as a notebook's page does.
What display() prints for the log is left out of text events, since its display event shows it. Standard library
only: it runs in the kernel.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

RECORD_FILE = "cells.jsonl"
_STREAMS = (1, 2)  # the file descriptors behind sys.stdout and sys.stderr

_active: CellRecord | None = None


class CellRecord:
    """The record of one notebook process; `active()` finds it from display() and the interpreter."""

    def __init__(self, path: str, redact: Callable[[str], str] = lambda text: text) -> None:
        self._file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - open for the life of the process
        self._redact = redact
        self._mark = self._offsets()

    def cell(self, language: str, source: str) -> None:
        self._close_text()
        self._write({"cell": {"language": language, "source": source}, **self._at()})

    def display(self, kind: str, **payload: Any) -> None:
        """A display event; what the caller prints for the log next is skipped by `displayed()`."""
        self._close_text()
        strings = {k: self._redact(v) if isinstance(v, str) and k != "data" else v for k, v in payload.items()}
        if "rows" in strings:
            strings["columns"] = [self._redact(c) for c in strings["columns"]]
            strings["rows"] = [[self._redact(v) for v in row] for row in strings["rows"]]
        self._write({"display": kind, **strings})

    def displayed(self) -> None:
        """What was printed since the last display event is the log's copy of it: leave it out of the cells."""
        self._mark = self._offsets()
        self._write(self._at())

    def end_cell(self) -> None:
        self._close_text()

    def finish(self, result: dict[str, Any]) -> None:
        """The notebook's ending (the kernel's result): its error, or the value it exited with."""
        self._mark = self._offsets()  # printed after the last cell: the kernel's copy of the trace, for the log
        if result.get("error") is not None:
            self._write({"error": result["error"], "trace": result.get("error_trace") or ""})
        elif result.get("exit_value") is not None:
            self._write({"exit": self._redact(str(result["exit_value"]))})
        else:
            self._write({"end": True})
        self._file.close()

    def _at(self) -> dict[str, Any]:
        """Where the streams stand, for a reader of a record cut short ({} when they are not files)."""
        return {"at": list(self._mark)} if self._mark is not None else {}

    def _close_text(self) -> None:
        now = self._offsets()
        if self._mark is not None and now is not None and now != self._mark:
            self._write({"text": [self._mark[0], now[0], self._mark[1], now[1]]})
        self._mark = now

    def _offsets(self) -> tuple[int, int] | None:
        """Where stdout and stderr stand, after flushing Python's buffers; None when they are not files."""
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        try:
            out, err = (os.lseek(fd, 0, os.SEEK_CUR) for fd in _STREAMS)
        except OSError:
            return None
        return out, err

    def _write(self, event: dict[str, Any]) -> None:
        if not event:
            return
        self._file.write(json.dumps(event) + "\n")
        self._file.flush()


def start(result_file: str, redact: Callable[[str], str] = lambda text: text) -> CellRecord:
    """Begin the record of this process beside its result file."""
    global _active
    _active = CellRecord(os.path.join(os.path.dirname(result_file), RECORD_FILE), redact)
    return _active


def active() -> CellRecord | None:
    return _active


def finish(result: dict[str, Any]) -> None:
    if _active is not None:
        _active.finish(result)


# --- reading (the server side) ---------------------------------------------------------------------------------
MAX_TEXT_BYTES = 1024 * 1024  # of one stretch of printed text; the end is kept, since it holds the error


def read(folder: str, logs: dict[str, str]) -> list[dict[str, Any]] | None:
    """The cells of a task's record as `{"language", "source", "outputs": [...]}`, text resolved from the logs
    (`{"stdout": file name, "stderr": file name}` in `folder`); None when the task left no record (it never
    started)."""
    try:
        with open(os.path.join(folder, RECORD_FILE), encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    cells: list[dict[str, Any]] = []
    since: list[int] | None = None  # where the streams stood after the last text the record accounts for
    ended = False
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue  # the last line of a killed kernel may be cut short
        if "cell" in event:
            cells.append({**event["cell"], "outputs": []})
            since = event.get("at", since)
            continue
        if set(event) == {"at"}:
            since = event["at"]
            continue
        if not cells:
            cells.append({"language": "python", "source": "", "outputs": []})
        if "text" in event:
            out_start, out_end, err_start, err_end = event["text"]
            _add_text(cells[-1], folder, logs, (out_start, out_end, err_start, err_end))
            since = [out_end, err_end]
        elif "end" in event:
            ended = True
        else:
            cells[-1]["outputs"].append(event)
            ended = ended or "exit" in event or "error" in event
    if cells and since is not None and not ended:  # killed mid-cell: what it printed until then
        ends = [_size(os.path.join(folder, logs[name])) for name in ("stdout", "stderr")]
        _add_text(cells[-1], folder, logs, (since[0], ends[0], since[1], ends[1]))
    return cells


def _add_text(cell: dict[str, Any], folder: str, logs: dict[str, str], offsets: tuple[int, int, int, int]) -> None:
    """Give `cell` the stdout and stderr text between the offsets."""
    out_start, out_end, err_start, err_end = offsets
    for name, start_at, end_at in (("stdout", out_start, out_end), ("stderr", err_start, err_end)):
        text, cut = _slice(os.path.join(folder, logs[name]), start_at, end_at)
        if text:
            cell["outputs"].append({"kind": name, "text": text, "cut": cut})


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _slice(path: str, start: int, end: int) -> tuple[str, int]:
    """The text between two offsets of a log (at most its last MAX_TEXT_BYTES) and how many bytes were cut."""
    cut = max(0, end - start - MAX_TEXT_BYTES)
    try:
        with open(path, "rb") as fh:
            fh.seek(start + cut)
            data = fh.read(end - start - cut)
    except OSError:
        return "", 0
    return data.decode("utf-8", "replace"), cut
