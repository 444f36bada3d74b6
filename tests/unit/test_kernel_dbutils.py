"""dbutils in the notebook kernel: widgets, notebook.run, fs, and databricks-sdk's way of importing it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from kernel_helpers import Workspace, notebook


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def test_widgets_take_parameters_over_defaults(ws: Workspace) -> None:
    """Parameters win over declared defaults, undeclared parameters are readable, getAll shows both."""
    code = (
        "dbutils.widgets.text('a', '1', 'A')\n"
        "dbutils.widgets.dropdown('b', 'x', ['x', 'y'])\n"
        "dbutils.widgets.combobox('c', 'free', ['x'])\n"
        "dbutils.widgets.multiselect('d', 'x', ['x', 'y'])\n"
        "values = [dbutils.widgets.get(n) for n in 'abcd'] + [dbutils.widgets.get('extra'), getArgument('a')]\n"
        "values.append(dbutils.widgets.getArgument('nothing', 'fallback'))\n"
        "values.append(sorted(dbutils.widgets.getAll().items()))\n"
        "dbutils.notebook.exit(repr(values))\n"
    )
    result = ws.run(ws.write("nb.py", notebook(code)), parameters={"a": "given", "d": "x,y", "extra": "e"})
    assert result.exit_value == repr(
        [
            *["given", "x", "free", "x,y", "e", "given", "fallback"],
            [("a", "given"), ("b", "x"), ("c", "free"), ("d", "x,y"), ("extra", "e")],
        ]
    )


def test_unknown_widget_fails_like_databricks(ws: Workspace) -> None:
    """get() of an undefined name raises InputWidgetNotDefined with Databricks' class name and message."""
    result = ws.run(ws.write("nb.py", notebook("dbutils.widgets.get('missing')\n")))
    assert result.error == "com.databricks.dbutils_v1.InputWidgetNotDefined: No input widget named missing is defined"
    assert result.error_trace.count('File "') == 1  # only the notebook's line, not dbutils' internals


def test_widget_remove_and_bad_defaults(ws: Workspace) -> None:
    """remove/removeAll drop declared widgets (an unknown one is an error); a dropdown default must be a choice."""
    code = (
        "dbutils.widgets.text('a', '1')\ndbutils.widgets.text('b', '2')\ndbutils.widgets.remove('a')\n"
        "left = sorted(dbutils.widgets.getAll())\ndbutils.widgets.removeAll()\n"
        "try:\n    dbutils.widgets.remove('b')\nexcept Exception as e:\n    left.append(type(e).__name__)\n"
        "dbutils.notebook.exit(left)\n"
    )
    assert ws.run(ws.write("nb.py", notebook(code))).exit_value == "['b', 'InputWidgetNotDefined']"
    bad = ws.run(ws.write("bad.py", notebook("dbutils.widgets.dropdown('env', 'prod', ['dev', 'test'])\n")))
    assert bad.error == (
        "ValueError: dbutils.widgets: the default value 'prod' of widget 'env' is not one of its choices "
        "['dev', 'test']; pass one of them as defaultValue"
    )


def test_other_dbutils_modules_say_they_are_missing(ws: Workspace) -> None:
    """dbutils.jobs and friends raise an AttributeError naming what the local dbutils offers."""
    result = ws.run(ws.write("nb.py", notebook("dbutils.jobs.taskValues.set('key', 1)\n")))
    assert result.error.startswith("AttributeError: dbutils.jobs is not available in the local workspace")


def test_notebook_run_returns_the_child_exit_value(ws: Workspace) -> None:
    """run() resolves relative paths from the notebook, passes arguments as widgets, returns the exit value."""
    ws.write(
        "jobs/sub/child.py",
        notebook("import os\nn = int(dbutils.widgets.get('n'))\n", "dbutils.notebook.exit(f'{n * 2} {os.getcwd()}')\n"),
    )
    ws.write("jobs/quiet.py", notebook("print('quiet child ran')\n"))
    nb = ws.write(
        "jobs/parent.py",
        notebook(
            "r = dbutils.notebook.run('./sub/child', 10, {'n': 21})\nq = dbutils.notebook.run('/jobs/quiet', 0)\n"
            "dbutils.notebook.exit(f'{r}|{q!r}')\n"
        ),
    )
    result = ws.run(nb)
    assert result.exit_value == f"42 {ws.tree / 'jobs' / 'sub'}|''", result.error_trace
    assert "quiet child ran" in result.stdout


def test_the_context_gives_the_notebooks_own_workspace_path(ws: Workspace) -> None:
    """getContext().notebookPath().get() is the running notebook's path without /Workspace, a run() child's its own."""
    path = "dbutils.notebook.entry_point.getDbutils().notebook().getContext().notebookPath().get()"
    ws.write("Users/x/proj/tests/child.py", notebook(f"dbutils.notebook.exit({path})\n"))
    code = f"child = dbutils.notebook.run('./child', 10)\ndbutils.notebook.exit(f'{{{path}}}|{{child}}')\n"
    result = ws.run(ws.write("Users/x/proj/tests/run_tests.py", notebook(code)))
    assert result.exit_value == "/Users/x/proj/tests/run_tests|/Users/x/proj/tests/child", result.error_trace


def test_notebook_run_raises_when_the_child_fails(ws: Workspace) -> None:
    """A failing child raises WorkflowException with Databricks' wording and the child's error."""
    ws.write("broken.py", notebook("raise KeyError('k')\n"))
    result = ws.run(ws.write("parent.py", notebook("dbutils.notebook.run('./broken', 10)\n")))
    assert result.error == (
        "com.databricks.WorkflowException: com.databricks.NotebookExecutionException: FAILED: KeyError: 'k'"
    )
    assert "KeyError: 'k'" in result.stderr  # the child's own traceback is in the log too


def test_notebook_run_timeout_stops_the_child_and_what_it_started(ws: Workspace) -> None:
    """After timeout_seconds the child (and a notebook it runs in turn) is stopped, and the caller gets an error."""
    pids = ws.base / "pids"
    ws.write(
        "slow.py", notebook(f"import os, time\nopen({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n')\ntime.sleep(60)\n")
    )
    ws.write("middle.py", notebook("dbutils.notebook.run('./slow', 0)\n"))
    code = "try:\n    dbutils.notebook.run('./middle', 1)\nexcept Exception as e:\n    dbutils.notebook.exit(str(e))\n"
    started = time.monotonic()
    result = ws.run(ws.write("parent.py", notebook(code)))
    assert time.monotonic() - started < 10
    assert result.exit_value == (
        "com.databricks.NotebookExecutionException: FAILED: Notebook /middle timed out after 1 seconds"
    )
    if os.name == "posix":  # SIGTERM reaches the grandchild through the child kernel
        grandchild = int(pids.read_text().split()[0])
        deadline = time.monotonic() + 5
        while _alive(grandchild) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(grandchild)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").exists() or Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_notebook_run_argument_errors_name_the_field(ws: Workspace) -> None:
    """A bad timeout_seconds or a missing notebook fails at the call."""
    result = ws.run(ws.write("nb.py", notebook("dbutils.notebook.run('./x', '60')\n")))
    assert result.error == "TypeError: dbutils.notebook.run: timeout_seconds must be an int >= 0, got '60'"
    missing = ws.run(ws.write("nb.py", notebook("dbutils.notebook.run('./nowhere', 60)\n")))
    assert missing.error.startswith("FileNotFoundError: Notebook not found: ./nowhere (looked for /nowhere)")


def test_fs_put_ls_head_and_file_info(ws: Workspace) -> None:
    """put writes (refusing to overwrite unless asked), ls lists FileInfo sorted, head reads the first bytes."""
    code = (
        "dbutils.fs.put('dbfs:/tmp/b.txt', 'hello world')\n"
        "dbutils.fs.mkdirs('/tmp/sub')\n"
        "try:\n    dbutils.fs.put('/tmp/b.txt', 'again')\nexcept FileExistsError as e:\n    refused = str(e)\n"
        "dbutils.fs.put('/tmp/b.txt', 'hello again', overwrite=True)\n"
        "infos = dbutils.fs.ls('/tmp')\n"
        "rows = [(f.path, f.name, f.size, f.isDir(), f.modificationTime > 0) for f in infos]\n"
        "dbutils.notebook.exit(repr([rows, dbutils.fs.head('dbfs:/tmp/b.txt', 5), refused]))\n"
    )
    result = ws.run(ws.write("nb.py", notebook(code)))
    assert result.exit_value == repr(
        [
            [("dbfs:/tmp/b.txt", "b.txt", 11, False, True), ("dbfs:/tmp/sub/", "sub/", 0, True, True)],
            "hello",
            "File dbfs:/tmp/b.txt already exists: pass overwrite=True to replace it",
        ]
    ), result.error_trace
    assert "Wrote 11 bytes." in result.stdout and "[Truncated to first 5 bytes]" in result.stdout
    assert (ws.dbfs / "tmp" / "b.txt").read_text() == "hello again"


def test_fs_cp_mv_rm_across_dbfs_volumes_and_local_files(ws: Workspace) -> None:
    """cp (recurse for folders), mv and rm work on dbfs:/, /Volumes/ and file:/ paths; rm of nothing is False."""
    code = (
        "dbutils.fs.put('/data/in/a.csv', 'a')\n"
        "dbutils.fs.put('/data/in/deep/b.csv', 'b')\n"
        "try:\n    dbutils.fs.cp('/data/in', '/data/copy')\nexcept IsADirectoryError as e:\n    errors = [str(e)]\n"
        "dbutils.fs.cp('dbfs:/data/in', '/Volumes/main/raw/files/in', recurse=True)\n"
        "dbutils.fs.mkdirs('file:/Workspace/Shared/out')\n"
        "dbutils.fs.cp('/data/in/a.csv', 'file:/Workspace/Shared/out')\n"
        "dbutils.fs.mv('/Volumes/main/raw/files/in/deep/b.csv', 'dbfs:/Volumes/main/raw/files/moved.csv')\n"
        "try:\n    dbutils.fs.rm('/data/in')\nexcept OSError as e:\n    errors.append(str(e))\n"
        "gone = [dbutils.fs.rm('/data/in', recurse=True), dbutils.fs.rm('/data/in')]\n"
        "try:\n    dbutils.fs.ls('/data/in')\nexcept FileNotFoundError as e:\n    errors.append(str(e))\n"
        "dbutils.notebook.exit(repr([errors, gone, [f.path for f in dbutils.fs.ls('/Volumes/main/raw/files')]]))\n"
    )
    result = ws.run(ws.write("nb.py", notebook(code)))
    assert result.exit_value == repr(
        [
            [
                "dbfs:/data/in is a directory: pass recurse=True to copy it",
                "dbfs:/data/in is a non-empty directory: pass recurse=True to delete it",
                "File dbfs:/data/in does not exist.",
            ],
            [True, False],
            ["dbfs:/Volumes/main/raw/files/in/", "dbfs:/Volumes/main/raw/files/moved.csv"],
        ]
    ), result.error_trace
    assert (ws.tree / "Shared" / "out" / "a.csv").read_text() == "a"
    assert (ws.volumes / "main" / "raw" / "files" / "moved.csv").read_text() == "b"
    assert not (ws.dbfs / "data" / "in").exists()


def test_fs_refuses_cloud_schemes(ws: Workspace) -> None:
    """s3:// and abfss:// paths fail saying which paths work here."""
    result = ws.run(ws.write("nb.py", notebook("dbutils.fs.ls('abfss://c@acct.dfs.core.windows.net/x')\n")))
    assert result.error == (
        "dbcicd_localworkspace.UnsupportedCommand: dbutils.fs: abfss: paths are not available in the local "
        "workspace; use dbfs:/..., /Volumes/... or file:/... paths"
    )


def test_databricks_sdk_runtime_imports_the_notebooks_dbutils(ws: Workspace) -> None:
    """`from databricks.sdk.runtime import dbutils` in a module gives the notebook's dbutils, as on a cluster."""
    ws.write(
        "helpers.py",
        "from databricks.sdk.runtime import dbutils\n\ndef env():\n    return dbutils.widgets.get('env')\n",
    )
    nb = ws.write(
        "nb.py",
        notebook("import helpers\n", "dbutils.notebook.exit(f'{helpers.env()} {helpers.dbutils is dbutils}')\n"),
    )
    result = ws.run(nb, parameters={"env": "test"})
    assert result.exit_value == "test True", result.error_trace
