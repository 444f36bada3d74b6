"""dbutils.notebook: exit() ends this notebook with a value; run() runs another notebook as a job of its own;
entry_point gives the notebook's context (its own path: runtime/notebook_context.py).

As on Databricks, run() gives the other notebook a fresh namespace: here a kernel process of its own, started like
the run engine starts this one, with the same folders behind the mounts. Its output joins this notebook's output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from typing import NoReturn

from . import lifeline, outcome, processes
from .exceptions import NotebookExit, WorkflowException
from .notebook_context import EntryPoint
from .notebooks import NotebookRef
from .spec import KernelSpec

KERNEL_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernel.py")
FAILED = "com.databricks.NotebookExecutionException: FAILED"  # Databricks' wording for a failed child run


class NotebookUtils:
    def __init__(self, spec: KernelSpec, locate: Callable[[str], NotebookRef]) -> None:
        self._spec = spec
        self._locate = locate
        # The path of the notebook this kernel runs, also for code of a %run notebook (which runs in its caller's
        # context; no public source says which path Databricks returns there); a notebook.run() child is a kernel
        # of its own with its own path.
        self.entry_point = EntryPoint(spec.workspace_path)

    def exit(self, value: str) -> NoReturn:
        """End the notebook successfully; str(value) becomes the run's notebook_output.result."""
        raise NotebookExit(str(value))

    def run(self, path: str, timeout_seconds: int, arguments: Mapping[str, str] | None = None) -> str:
        """Run a notebook (relative paths from this notebook) with widget `arguments`; its exit value.

        timeout_seconds=0 means no timeout. A failed or timed-out child raises WorkflowException (a timed-out
        child is stopped first).
        """
        if isinstance(timeout_seconds, bool) or not isinstance(timeout_seconds, int) or timeout_seconds < 0:
            raise TypeError(f"dbutils.notebook.run: timeout_seconds must be an int >= 0, got {timeout_seconds!r}")
        if arguments is not None and not isinstance(arguments, Mapping):
            raise TypeError(f"dbutils.notebook.run: arguments must be a dict of strings, got {arguments!r}")
        parameters = {str(k): str(v) for k, v in (arguments or {}).items()}
        notebook = self._locate(path)
        # Inside the task's own folder: if the task is killed mid-run, what is left stays with its run, not in /tmp.
        with tempfile.TemporaryDirectory(prefix="notebook-run-", dir=os.path.dirname(self._spec.result_file)) as folder:
            result_file = os.path.join(folder, "result.json")
            child = self._spec.for_notebook(str(notebook.file), notebook.workspace_path, parameters, result_file)
            spec_file = os.path.join(folder, "spec.json")
            with open(spec_file, "w", encoding="utf-8") as fh:
                json.dump(child.to_json(), fh)
            # In this kernel's group (stopped with it), holding the workspace's lifeline for the Spark servers it
            # may start.
            kernel = [sys.executable, KERNEL_SCRIPT, spec_file]
            with processes.started(kernel, cwd=child.cwd, **lifeline.handed_on()) as process:
                try:
                    code = process.wait(timeout_seconds or None)
                except subprocess.TimeoutExpired:
                    processes.stop(process)
                    raise WorkflowException(
                        f"{FAILED}: Notebook {notebook.workspace_path} timed out after {timeout_seconds} seconds"
                    ) from None
            result = outcome.read(result_file) or {}
        if code != 0:
            why = result.get("error") or f"the notebook's process exited with code {code}"
            raise WorkflowException(f"{FAILED}: {why}")
        # A child that never called exit() has no result; Databricks' Python API then returns an empty string
        # (a best guess: the JVM call returns no value).
        return result.get("exit_value") or ""
