"""The notebook kernel as the run engine starts it: a subprocess per notebook, reporting through its result file."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from dbcicd.localworkspace.task_process import KERNEL

HEADER = "# Databricks notebook source\n"
SEP = "\n# COMMAND ----------\n\n"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    exit_value: str | None
    error: str | None
    error_trace: str | None


class Workspace:
    """Folders standing in for the local workspace's tree, DBFS and volumes."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.tree, self.dbfs, self.volumes = base / "ws", base / "dbfs", base / "vol"
        for folder in (self.tree, self.dbfs, self.volumes):
            folder.mkdir()

    def write(self, workspace_file: str, text: str) -> Path:
        path = self.tree / workspace_file.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def run(
        self,
        file: Path,
        parameters: dict[str, str] | None = None,
        kind: str = "notebook",
        argv: list[str] | None = None,
    ) -> Result:
        workspace_path = "/" + str(file.relative_to(self.tree).with_suffix("")).replace("\\", "/")
        spec = {
            "kind": kind,
            "file": str(file),
            "workspace_path": workspace_path,
            "parameters": parameters or {},
            "argv": argv or [],
            "cwd": str(file.parent),
            "sys_path": [str(file.parent)],
            "workspace_root": str(self.tree),
            "dbfs_root": str(self.dbfs),
            "volumes_root": str(self.volumes),
            "result_file": str(self.base / "result.json"),
        }
        spec_file = self.base / "spec.json"
        spec_file.write_text(json.dumps(spec))
        (self.base / "result.json").unlink(missing_ok=True)
        done = subprocess.run(
            [sys.executable, str(KERNEL), str(spec_file)], cwd=file.parent, capture_output=True, text=True, timeout=60
        )
        result = json.loads((self.base / "result.json").read_text())
        return Result(done.returncode, done.stdout, done.stderr, **result)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def test_widgets_and_exit_value(ws: Workspace) -> None:
    """Parameters override widget defaults; dbutils.notebook.exit ends the notebook with its value."""
    nb = ws.write(
        "Repos/ci/demo/nb.py",
        HEADER
        + 'dbutils.widgets.text("a", "1")\ndbutils.widgets.text("b", "2")\n'
        + SEP
        + 'dbutils.notebook.exit(dbutils.widgets.get("a") + dbutils.widgets.get("b"))\n'
        + SEP
        + 'raise AssertionError("not reached")\n',
    )
    result = ws.run(nb, {"a": "x"})
    assert (result.code, result.exit_value, result.error) == (0, "x2", None)


def test_unknown_widget_fails_like_databricks(ws: Workspace) -> None:
    nb = ws.write("nb.py", HEADER + 'dbutils.widgets.get("missing")\n')
    result = ws.run(nb)
    assert result.code == 1
    assert result.error == "com.databricks.dbutils_v1.InputWidgetNotDefined: No input widget named missing is defined"


def test_exception_gives_error_line_and_trace_with_file_lines(ws: Workspace) -> None:
    """`error` is the exception's last line; the trace points at the notebook's own line numbers."""
    nb = ws.write("nb.py", HEADER + "x = 1\n" + SEP + "def f():\n    return 1 / 0\n\nf()\n")
    result = ws.run(nb)
    assert result.code == 1
    assert result.error == "ZeroDivisionError: division by zero"
    assert f'File "{nb}", line 7, in f' in result.error_trace
    assert "kernel.py" not in result.error_trace


def test_run_relative_and_absolute_share_the_namespace(ws: Workspace) -> None:
    ws.write("Repos/ci/demo/lib/setup.py", HEADER + "shared = 41\n")
    ws.write("Shared/common.py", HEADER + "shared += 1\n")
    nb = ws.write(
        "Repos/ci/demo/nb.py",
        HEADER
        + "# MAGIC %run ./lib/setup\n"
        + SEP
        + "# MAGIC %run /Workspace/Shared/common\n"
        + SEP
        + "dbutils.notebook.exit(str(shared))\n",
    )
    assert ws.run(nb).exit_value == "42"


def test_exit_inside_a_run_notebook_ends_the_caller(ws: Workspace) -> None:
    ws.write("inner.py", HEADER + 'dbutils.notebook.exit("from inner")\n')
    nb = ws.write("outer.py", HEADER + "# MAGIC %run ./inner\n" + SEP + 'raise AssertionError("not reached")\n')
    assert (ws.run(nb).code, ws.run(nb).exit_value) == (0, "from inner")


def test_markdown_shell_and_titles(ws: Workspace) -> None:
    """%md cells are skipped, %sh runs in the notebook's folder, a failing %sh fails the task."""
    nb = ws.write(
        "d/nb.py",
        HEADER
        + "# DBTITLE 1,Intro\n# MAGIC %md\n# MAGIC # Not code\n"
        + SEP
        + "# MAGIC %sh\n# MAGIC echo shell-in-$(basename $PWD)\n"
        + SEP
        + "print('after')\n",
    )
    result = ws.run(nb)
    assert result.code == 0 and "shell-in-d" in result.stdout and "after" in result.stdout
    bad = ws.write("d/bad.py", HEADER + "# MAGIC %sh exit 3\n")
    assert "exit code 3" in ws.run(bad).error


@pytest.mark.parametrize(
    ("magic", "message"), [("%scala", "%scala is not supported"), ("%pip install x", "%pip is not")]
)
def test_unsupported_magics_fail_clearly(ws: Workspace, magic: str, message: str) -> None:
    nb = ws.write("nb.py", HEADER + f"# MAGIC {magic}\n# MAGIC println(1)\n")
    result = ws.run(nb)
    assert result.code == 1 and message in result.error


def test_jupyter_notebook(ws: Workspace) -> None:
    cells = [
        {"cell_type": "markdown", "source": ["# title"]},
        {"cell_type": "code", "source": ["x = 20\n", "y = 22"]},
        {"cell_type": "code", "source": ["%%sh\n", "echo from-sh"]},
        {"cell_type": "code", "source": "dbutils.notebook.exit(str(x + y))"},
    ]
    nb = ws.write("nb.ipynb", json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {}}))
    result = ws.run(nb)
    assert (result.code, result.exit_value) == (0, "42") and "from-sh" in result.stdout


def test_plain_python_file_and_python_task_argv(ws: Workspace) -> None:
    """A .py without header is one cell; spark_python_task files get argv and run as __main__."""
    plain = ws.write("plain.py", "dbutils.notebook.exit(__name__)\n")
    assert ws.run(plain).exit_value == "__main__"
    script = ws.write("job.py", "import sys\nprint('args', sys.argv[1:])\nif sys.argv[1] == 'fail':\n    sys.exit(2)\n")
    ok = ws.run(script, kind="python_file", argv=["a", "b"])
    assert ok.code == 0 and "args ['a', 'b']" in ok.stdout
    assert ws.run(script, kind="python_file", argv=["fail"]).error == "SystemExit: 2"


def test_notebook_run_child_process(ws: Workspace) -> None:
    """dbutils.notebook.run returns the child's exit value; a failing or slow child raises in the caller."""
    ws.write("jobs/child.py", HEADER + 'dbutils.notebook.exit(int(dbutils.widgets.get("n")) * 2)\n')
    ws.write("jobs/broken.py", HEADER + "raise KeyError('k')\n")
    ws.write("jobs/slow.py", HEADER + "import time\ntime.sleep(30)\n")
    nb = ws.write(
        "jobs/parent.py",
        HEADER
        + "r = dbutils.notebook.run('./child', 10, {'n': 21})\n"
        + "try:\n    dbutils.notebook.run('./broken', 10)\nexcept Exception as e:\n    b = str(e)\n"
        + "try:\n    dbutils.notebook.run('./slow', 1)\nexcept Exception as e:\n    s = str(e)\n"
        + "dbutils.notebook.exit(f'{r}|{b}|{s}')\n",
    )
    started = time.monotonic()
    value = ws.run(nb).exit_value
    assert time.monotonic() - started < 15
    child, broken, slow = value.split("|")
    assert child == "42" and "KeyError" in broken and "timed out after 1 seconds" in slow


def test_mounted_paths_and_dbutils_fs(ws: Workspace) -> None:
    """/Workspace, /dbfs and /Volumes work with open(), os and pathlib; dbutils.fs sees the same files."""
    nb = ws.write(
        "Repos/ci/demo/nb.py",
        HEADER
        + """
import os, pathlib, shutil
open("/Workspace/Repos/ci/demo/out.txt", "w").write("w")
pathlib.Path("/dbfs/tmp/x").mkdir(parents=True, exist_ok=True)
pathlib.Path("/dbfs/tmp/x/a.txt").write_text("d")
os.makedirs("/Volumes/main/default/v/dir", exist_ok=True)
shutil.copy("/dbfs/tmp/x/a.txt", "/Volumes/main/default/v/dir/b.txt")
dbutils.fs.put("dbfs:/tmp/x/c.txt", "from fs", overwrite=True)
names = sorted(f.name for f in dbutils.fs.ls("dbfs:/tmp/x"))
head = dbutils.fs.head("/tmp/x/c.txt")
dbutils.fs.cp("dbfs:/tmp/x", "dbfs:/tmp/y", recurse=True)
dbutils.fs.rm("dbfs:/tmp/x", recurse=True)
dbutils.notebook.exit(",".join(names) + "|" + head + "|" + str(os.path.exists("/dbfs/tmp/x")))
""",
    )
    result = ws.run(nb)
    assert result.exit_value == "a.txt,c.txt|from fs|False", result.error_trace
    assert (ws.tree / "Repos/ci/demo/out.txt").read_text() == "w"
    assert (ws.volumes / "main/default/v/dir/b.txt").read_text() == "d"
    assert (ws.dbfs / "tmp/y/c.txt").read_text() == "from fs"


def test_cwd_and_sys_path_start_at_the_notebook_folder(ws: Workspace) -> None:
    ws.write("Repos/ci/demo/pkg/helpers.py", "VALUE = 'imported'\n")
    nb = ws.write(
        "Repos/ci/demo/pkg/nb.py",
        HEADER + "import os, sys, helpers\n"
        "dbutils.notebook.exit(f'{os.path.basename(os.getcwd())}|{helpers.VALUE}|{sys.path[0] == os.getcwd()}')\n",
    )
    assert ws.run(nb).exit_value == "pkg|imported|True"


def test_a_trivial_notebook_starts_fast(ws: Workspace) -> None:
    """Start-up stays small: the kernel imports the standard library only."""
    nb = ws.write("nb.py", HEADER + "x = 1\n")
    ws.run(nb)
    started = time.monotonic()
    for _ in range(3):
        assert ws.run(nb).code == 0
    assert (time.monotonic() - started) / 3 < 1.0
