"""The result file: `{"exit_value", "error", "error_trace"}`, written atomically, with tracebacks made for users.

`error` is the exception's line as Python prints it ("ZeroDivisionError: division by zero"); `error_trace` the
traceback without the kernel's own frames, so it reads as if the notebook had run by itself: a `%run` shows as
the line of the notebook holding it, a magic cell as its `# MAGIC` line.
"""

from __future__ import annotations

import json
import os
import traceback
from typing import Any

RUNTIME_FOLDER = os.path.dirname(os.path.abspath(__file__))
MAGIC_FRAME_PREFIX = "%"  # code names of the one-line frames that run magic cells: %sh, %run (interpreter.py)


def success(exit_value: str | None) -> dict[str, Any]:
    return {"exit_value": exit_value, "error": None, "error_trace": None}


def failure(err: BaseException, user_frames_only: bool = True) -> dict[str, Any]:
    """The result for an exception; `user_frames_only=False` keeps every frame (the kernel itself failed)."""
    report = traceback.TracebackException.from_exception(err)
    if user_frames_only:
        _drop_kernel_frames(report)
    return {"exit_value": None, "error": error_line(err), "error_trace": "".join(report.format())}


def error_line(err: BaseException) -> str:
    """The exception as the last line of Python's traceback prints it, leaving out any notes added to it."""
    only = traceback.TracebackException(type(err), err, None, compact=True)
    only.__notes__ = None
    return list(only.format_exception_only())[-1].strip()


def write(path: str, result: dict[str, Any]) -> None:
    """Replace `path` in one step, so that a reader never sees half a result."""
    partial = f"{path}.{os.getpid()}.tmp"
    with open(partial, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    os.replace(partial, path)


def read(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            result = json.load(fh)
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) else None


def _drop_kernel_frames(report: traceback.TracebackException) -> None:
    seen: set[int] = set()
    pending = [report]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        frames = [_without_columns(f) for f in current.stack if not f.filename.startswith(RUNTIME_FOLDER + os.sep)]
        current.stack = traceback.StackSummary.from_list(frames)
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]


def _without_columns(frame: traceback.FrameSummary) -> traceback.FrameSummary:
    """A magic cell's frame shows its `# MAGIC` line; column markers for the call that ran it would be noise."""
    if not frame.name.startswith(MAGIC_FRAME_PREFIX):
        return frame
    return traceback.FrameSummary(frame.filename, frame.lineno, frame.name, line=frame.line)
