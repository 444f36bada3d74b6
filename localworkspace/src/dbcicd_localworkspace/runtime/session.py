"""One kernel process from start to finish: set the process up as the spec says, run, report, exit.

The process becomes what Databricks gives a notebook: its folder as working directory ("In Databricks Runtime 14.0
and above, the CWD is the directory containing the notebook or script being run",
docs.databricks.com/files/cwd-dbr-14; so `%pip install -r ../requirements.txt` finds the file beside the notebook's
folder) and first on sys.path, `__main__` as the namespace, /Workspace, /dbfs and /Volumes mapped, dbutils and
friends in the namespace of notebooks (Python files import them from databricks.sdk.runtime, as on a cluster).
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any

from . import cell_record, lifeline, outcome, paths, processes
from .dbfs import FsUtils
from .dbutils import DBUtils
from .display import prepare_figures
from .exceptions import NotebookExit
from .interpreter import Interpreter
from .libraries import Libraries
from .notebook_globals import register_dbruntime, runtime_objects
from .notebooks import NotebookRef, resolve
from .secrets import Redactor, SecretsUtils, install_redaction
from .spec import KernelSpec, SpecError
from .widgets import Widgets
from .workflows import NotebookUtils

USAGE = "usage: python kernel.py SPEC_JSON"


def main(argv: list[str]) -> int:
    """0 when the notebook succeeded (dbutils.notebook.exit included), 1 when it failed, 2 for a bad spec."""
    if len(argv) != 1:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        spec = KernelSpec.load(argv[0])
    except SpecError as err:
        print(err, file=sys.stderr)
        return 2
    redactor = Redactor()
    _prepare_process(spec, redactor)
    result = _execute(spec, redactor)
    if result["error"] is not None:
        # What runs/get-output shows of a failure is notebook output too: secret values read are redacted.
        result["error"] = redactor.redact(result["error"])
        result["error_trace"] = redactor.redact(result["error_trace"])
        sys.stderr.write(result["error_trace"])
    cell_record.finish(result)
    outcome.write(spec.result_file, result)
    return 0 if result["error"] is None else 1


def _prepare_process(spec: KernelSpec, redactor: Redactor) -> None:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)  # output must be readable in the log while the notebook runs
    install_redaction(redactor)
    os.chdir(spec.cwd)
    sys.path[0:0] = spec.sys_path
    sys.argv = [spec.file, *spec.argv]
    for root in (spec.dbfs_root, spec.volumes_root):
        os.makedirs(root, exist_ok=True)
    paths.configure(spec.workspace_root, spec.dbfs_root, spec.volumes_root, spec.dbfs_root_disabled)
    paths.install()
    processes.install_stop_handler()
    lifeline.adopt()  # handed on to the Spark servers and child kernels this one starts, and to nothing else
    prepare_figures()
    cell_record.start(spec.result_file, redactor.redact)


def _execute(spec: KernelSpec, redactor: Redactor) -> dict[str, Any]:
    """Run the notebook or file; its outcome as the result file holds it."""
    widgets = Widgets(spec.parameters)
    fs = FsUtils(spec.dbfs_root, spec.volumes_root, spec.dbfs_root_disabled)
    top = NotebookRef(Path(spec.file), spec.workspace_path)
    # dbutils.notebook.run() resolves from the notebook the job runs: code from %run notebooks runs in its context.
    notebook = NotebookUtils(spec, lambda target: resolve(target, top, spec.workspace_root))
    secrets = SecretsUtils(spec.secrets_file, redactor)
    objects = runtime_objects(DBUtils(widgets, notebook, fs, secrets), spec)
    register_dbruntime(objects)
    main_module = types.ModuleType("__main__")
    sys.modules["__main__"] = main_module  # so that pickle finds classes the notebook defines
    libraries = Libraries(spec.libraries_root, leading_paths=len(spec.sys_path))
    interpreter = Interpreter(main_module.__dict__, widgets, fs, libraries, spec.workspace_root)
    try:
        if spec.kind == "notebook":
            main_module.__dict__.update(objects)
            interpreter.run_notebook(top)
        else:
            main_module.__file__ = spec.file
            interpreter.run_python(top.file.read_text(encoding="utf-8-sig"), spec.file)
    except NotebookExit as done:
        return outcome.success(done.value)
    except SystemExit as stop:
        if stop.code not in (None, 0):
            return outcome.failure(stop)
    except BaseException as err:  # whatever the notebook raised is the task's failure, KeyboardInterrupt included
        return outcome.failure(err)
    return outcome.success(None)
