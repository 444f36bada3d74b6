"""Runs one notebook or Python file for the local workspace, in its own process: `python kernel.py spec.json`.

The spec (JSON) names the file, its workspace path, widget values or argv, the working directory and sys.path,
the folders behind `/Workspace`, `/dbfs` and `/Volumes`, and `result_file`, where the outcome is written:
`{"exit_value", "error", "error_trace"}`. Exit status 0 means success (dbutils.notebook.exit included), 1 failure.
Output goes to this process's stdout/stderr as it is produced. Standard library only, to start fast.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

_RUNTIME = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _RUNTIME)
import cells  # noqa: E402
import dbutils as dbutils_module  # noqa: E402
import notebook_files  # noqa: E402
import paths  # noqa: E402

del sys.path[0]
for _name in ("cells", "dbutils", "notebook_files", "paths"):
    # Keep the runtime's modules out of the notebook's way (a notebook may have a `paths.py` of its own).
    sys.modules[f"_dbcicd_runtime_{_name}"] = sys.modules.pop(_name)

SKIPPED_MAGICS = frozenset({"md", "md-sandbox"})


class UnsupportedMagic(Exception):
    """A magic command the local workspace cannot run."""


class Kernel:
    """Executes the cells of notebooks in one namespace, resolving `%run` and `dbutils.notebook.run` targets."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.workspace_root = Path(spec["workspace_root"])
        self.namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
        self.current = Path(spec["file"])
        self.current_workspace_path = spec.get("workspace_path") or ""
        widgets = dbutils_module.Widgets(spec.get("parameters") or {})
        notebook = dbutils_module.Notebook(self.resolve, self.child_spec)
        self.dbutils = dbutils_module.DBUtils(widgets, dbutils_module.Fs(spec["dbfs_root"]), notebook)
        self.namespace.update(
            dbutils=self.dbutils,
            spark=_LazySpark(),
            display=_display,
            displayHTML=print,
            getArgument=widgets.getArgument,
        )

    # --- resolving other notebooks ---------------------------------------------------------------------------
    def resolve(self, target: str) -> tuple[Path, str]:
        """(file, workspace path) of a notebook named relative to the current one, or absolutely."""
        target = target.strip().strip("\"'")
        if target.startswith("/"):
            clean = target[len("/Workspace") :] if target.startswith("/Workspace/") else target
            base = self.workspace_root.joinpath(*[p for p in clean.split("/") if p])
            workspace_path = clean
        else:
            base = (self.current.parent / target).resolve()
            workspace_path = os.path.normpath(os.path.join(os.path.dirname(self.current_workspace_path), target))
            workspace_path = workspace_path.replace(os.sep, "/")
        found = notebook_files.find_notebook(base)
        if found is None and base.is_file():
            found = base
        if found is None:
            raise FileNotFoundError(f"Notebook not found: {target} (looked for {workspace_path})")
        return found, workspace_path

    def child_spec(self, file: Path, workspace_path: str, parameters: dict[str, str]) -> dict[str, Any]:
        inherited = [p for p in self.spec.get("sys_path", [])[1:]]
        return {
            **self.spec,
            "kind": "notebook",
            "file": str(file),
            "workspace_path": workspace_path,
            "parameters": parameters,
            "argv": [],
            "cwd": str(file.parent),
            "sys_path": [str(file.parent), *inherited],
        }

    # --- running ---------------------------------------------------------------------------------------------
    def run_file(self, file: Path) -> None:
        for cell in cells.read_cells(file):
            self.run_cell(cell, file)

    def run_cell(self, cell: cells.Cell, file: Path) -> None:
        if not cell.magic or cell.magic == "python":
            code = compile("\n" * (cell.first_line - 1) + cell.source, str(file), "exec")
            exec(code, self.namespace)
        elif cell.magic in SKIPPED_MAGICS:
            return
        elif cell.magic == "run":
            self.run_included(cell.source.strip().splitlines()[0] if cell.source.strip() else "")
        elif cell.magic == "sh":
            _shell(cell.source)
        elif cell.magic == "fs":
            self.run_fs(cell.source)
        elif cell.magic == "sql":
            _display(self.namespace["spark"].sql(cell.source))
        elif cell.magic == "pip":
            raise UnsupportedMagic(
                "%pip is not supported by the local workspace yet: install the packages into the Python environment "
                f"that runs the local workspace instead (wanted: pip {cell.source.strip()})"
            )
        else:
            raise UnsupportedMagic(f"%{cell.magic} is not supported by the local workspace (only Python notebooks run)")

    def run_included(self, target: str) -> None:
        """`%run ./other`: the other notebook's cells run in this namespace."""
        if not target:
            raise UnsupportedMagic("%run needs a notebook path, e.g. %run ./setup")
        file, workspace_path = self.resolve(target)
        outer = (self.current, self.current_workspace_path)
        self.current, self.current_workspace_path = file, workspace_path
        try:
            self.run_file(file)
        finally:
            self.current, self.current_workspace_path = outer

    def run_fs(self, source: str) -> None:
        words = shlex.split(source)
        if not words:
            raise UnsupportedMagic("%fs needs a command, e.g. %fs ls /tmp")
        command = getattr(self.dbutils.fs, words[0], None)
        if command is None:
            raise UnsupportedMagic(f"%fs {words[0]} is not supported (ls, cp, mv, put, head, mkdirs, rm)")
        _display(command(*words[1:]))


def _shell(script: str) -> None:
    sys.stdout.flush()
    done = subprocess.run(script, shell=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"%sh command failed with exit code {done.returncode}")


def _display(value: Any) -> None:
    show = getattr(value, "show", None)
    if callable(show):
        show()
    elif value is not None:
        print(value)


class _LazySpark:
    """`spark`: a local SparkSession made on first use when pyspark is installed."""

    _session: Any = None

    def __getattr__(self, name: str) -> Any:
        if _LazySpark._session is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError:
                raise RuntimeError(
                    "spark is not available in the local workspace: install pyspark into its Python environment"
                ) from None
            _LazySpark._session = SparkSession.builder.master("local[*]").appName("dbcicd-local").getOrCreate()
        return getattr(_LazySpark._session, name)


def _user_traceback(err: BaseException) -> str:
    """The traceback without the kernel's own frames."""
    tb = err.__traceback__
    while tb is not None and os.path.dirname(os.path.abspath(tb.tb_frame.f_code.co_filename)) == _RUNTIME:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(err), err, tb))


def _write_result(path: str, result: dict[str, Any]) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    os.replace(tmp, path)


def main(spec_file: str) -> int:
    with open(spec_file, encoding="utf-8") as fh:
        spec = json.load(fh)
    paths.configure(spec["workspace_root"], spec["dbfs_root"], spec["volumes_root"])
    paths.install()
    os.chdir(spec["cwd"])
    sys.path[0:0] = spec.get("sys_path") or []
    result: dict[str, Any] = {"exit_value": None, "error": None, "error_trace": None}
    code = 0
    try:
        if spec.get("kind") == "python_file":
            sys.argv = [spec["file"], *spec.get("argv", [])]
            import runpy

            runpy.run_path(spec["file"], run_name="__main__")
        else:
            sys.argv = [spec["file"]]
            kernel = Kernel(spec)
            kernel.run_file(Path(spec["file"]))
    except dbutils_module.NotebookExit as done:
        result["exit_value"] = done.value
    except SystemExit as stop:
        if stop.code not in (None, 0):
            code = 1
            result["error"] = f"SystemExit: {stop.code}"
            result["error_trace"] = _user_traceback(stop)
    except BaseException as err:  # the notebook's failure is the task's result, whatever it is
        code = 1
        result["error"] = traceback.format_exception_only(type(err), err)[-1].strip()
        result["error_trace"] = _user_traceback(err)
        sys.stderr.write(result["error_trace"])
    _write_result(spec["result_file"], result)
    sys.stdout.flush()
    sys.stderr.flush()
    return code


if __name__ == "__main__":
    os._exit(main(sys.argv[1]))
