"""The notebook kernel: cells, magics, %run, results and errors, each run as the run engine runs it."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from kernel_helpers import Workspace, magic, notebook


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def test_cells_run_in_order_in_one_namespace_and_exit_ends_the_notebook(ws: Workspace) -> None:
    """Cells share globals; dbutils.notebook.exit ends the run successfully and its str is the exit value."""
    nb = ws.write("nb.py", notebook("x = 40\n", "x += 2\nprint('x is', x)\n", "dbutils.notebook.exit(x)\n", "1 / 0\n"))
    result = ws.run(nb)
    assert (result.code, result.exit_value, result.error) == (0, "42", None)
    assert "x is 42" in result.stdout


def test_a_notebook_without_exit_succeeds_with_no_exit_value(ws: Workspace) -> None:
    """Finishing the last cell is success; exit_value stays null, as notebook_output is empty on Databricks."""
    result = ws.run(ws.write("nb.py", notebook("pass\n")))
    assert (result.code, result.exit_value, result.error, result.error_trace) == (0, None, None, None)


def test_exit_is_not_caught_by_except_exception(ws: Workspace) -> None:
    """exit() from a function inside try/except Exception still ends the notebook."""
    code = "def finish():\n    dbutils.notebook.exit('done')\n\ntry:\n    finish()\nexcept Exception:\n    pass\n"
    nb = ws.write("nb.py", notebook(code, "raise AssertionError('not reached')\n"))
    assert ws.run(nb).exit_value == "done"


def test_exception_gives_error_line_and_a_trace_at_the_notebooks_lines(ws: Workspace) -> None:
    """`error` is the exception's line; the trace names the notebook file and line, without kernel frames."""
    nb = ws.write("nb.py", notebook("x = 1\n", "def f():\n    return 1 / 0\n\nf()\n"))
    result = ws.run(nb)
    assert (result.code, result.error) == (1, "ZeroDivisionError: division by zero")
    assert f'File "{nb}", line 7, in f' in result.error_trace
    assert "return 1 / 0" in result.error_trace
    assert "_dbcicd_kernel" not in result.error_trace and "runtime" not in result.error_trace
    assert result.error_trace in result.stderr


def test_error_line_of_syntax_errors_and_notes(ws: Workspace) -> None:
    """A SyntaxError reports its message line; notes added to an exception stay out of `error`."""
    assert ws.run(ws.write("bad.py", notebook("x = (\n"))).error.startswith("SyntaxError: ")
    noted = "err = ValueError('v')\nerr.__notes__ = ['a note']\nraise err\n"
    result = ws.run(ws.write("noted.py", notebook(noted)))
    assert result.error == "ValueError: v"
    assert "a note" in result.error_trace or sys.version_info < (3, 11)


def test_md_cells_titles_and_python_magic(ws: Workspace) -> None:
    """%md cells and DBTITLE lines are skipped; %python cells are Python, at their own line numbers."""
    nb = ws.write(
        "nb.py",
        notebook("# DBTITLE 1,Intro\n" + magic("%md\n# Not code\n1 / 0"), magic("%python\nx = 1\nraise KeyError(x)")),
    )
    result = ws.run(nb)
    assert result.error == "KeyError: 1"
    assert f'File "{nb}", line 11, in <module>' in result.error_trace


def test_shell_cells_stream_output_from_the_notebook_folder(ws: Workspace) -> None:
    """%sh runs in the notebook's working directory, its output in order with the notebook's."""
    nb = ws.write(
        "d/nb.py", notebook("print('before')\n", magic("%sh\necho shell-in-$(basename $PWD)"), "print('after')\n")
    )
    result = ws.run(nb)
    assert result.code == 0
    assert result.stdout.split() == ["before", "shell-in-d", "after"]


def test_failing_shell_cell_fails_the_task_at_its_magic_line(ws: Workspace) -> None:
    """A non-zero exit status is a CalledProcessError; the trace shows the cell's `# MAGIC %sh` line."""
    nb = ws.write("nb.py", notebook("x = 1\n", magic("%sh exit 3")))
    result = ws.run(nb)
    assert result.error == "subprocess.CalledProcessError: Command 'exit 3' returned non-zero exit status 3."
    assert f'File "{nb}", line 6, in %sh\n    # MAGIC %sh exit 3\n' in result.error_trace


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("%pip uninstall -y requests", "%pip uninstall is not supported by the local workspace: it runs `%pip install"),
        ("%scala\nprintln(1)", "%scala is not supported by the local workspace"),
        ("%r\nprint(1)", "%r is not supported by the local workspace"),
    ],
)
def test_unsupported_magics_fail_with_a_message_naming_them(ws: Workspace, cell: str, message: str) -> None:
    """%pip uninstall, %scala, %r ... fail the task; the error names the magic and says what to do."""
    result = ws.run(ws.write("nb.py", notebook(magic(cell))))
    assert result.code == 1
    assert result.error.startswith("dbcicd_localworkspace.UnsupportedCommand: " + message)


def test_sql_without_pyspark_fails_clearly(ws: Workspace) -> None:
    """%sql and `spark` need pyspark; without it the error names pyspark."""
    if importlib.util.find_spec("pyspark") is not None:
        pytest.skip("pyspark is installed here")
    for cell in (magic("%sql\nSELECT 1"), "spark.range(3)\n"):
        result = ws.run(ws.write("nb.py", notebook(cell)))
        assert result.code == 1 and "pyspark" in result.error


def test_fs_magic_lists_like_dbutils_fs(ws: Workspace) -> None:
    """%fs put/ls/head map to dbutils.fs and print their results."""
    nb = ws.write(
        "nb.py", notebook(magic("%fs put -f /tmp/a.txt hello"), magic("%fs ls /tmp"), magic("%fs head /tmp/a.txt 4"))
    )
    result = ws.run(nb)
    assert result.code == 0, result.error_trace
    assert "dbfs:/tmp/a.txt\ta.txt\t5\t" in result.stdout
    assert "[Truncated to first 4 bytes]\nhell\n" in result.stdout
    assert ws.run(ws.write("bad.py", notebook(magic("%fs chmod /x")))).error.endswith(
        "%fs chmod is not supported; use one of: ls, head, put, mkdirs, cp, mv, rm"
    )


def test_run_relative_and_absolute_share_the_namespace(ws: Workspace) -> None:
    """`%run ./x` and `%run /abs/x` (with or without /Workspace) run in the caller's namespace."""
    ws.write("Repos/ci/demo/lib/setup.py", notebook("shared = 40\n", magic("%run ./more")))
    ws.write("Repos/ci/demo/lib/more.py", notebook("shared += 1\n"))
    ws.write("Shared/common.py", notebook("shared += 1\n"))
    nb = ws.write(
        "Repos/ci/demo/nb.py",
        notebook(magic("%run ./lib/setup"), magic("%run /Workspace/Shared/common"), "dbutils.notebook.exit(shared)\n"),
    )
    assert ws.run(nb).exit_value == "42"


def test_run_passes_widget_values_to_the_included_notebook(ws: Workspace) -> None:
    """`%run ./x $name=value` sets the widgets while the other notebook runs."""
    ws.write("child.py", notebook("seen = dbutils.widgets.get('env')\n"))
    nb = ws.write("nb.py", notebook(magic('%run ./child $env="dev stage"'), "dbutils.notebook.exit(seen)\n"))
    assert ws.run(nb).exit_value == "dev stage"


def test_exit_inside_a_run_notebook_ends_the_caller(ws: Workspace) -> None:
    """dbutils.notebook.exit in a %run notebook ends the whole run with its value."""
    ws.write("inner.py", notebook("dbutils.notebook.exit('from inner')\n"))
    nb = ws.write("outer.py", notebook(magic("%run ./inner"), "raise AssertionError('not reached')\n"))
    result = ws.run(nb)
    assert (result.code, result.exit_value) == (0, "from inner")


def test_errors_in_run_notebooks_show_both_notebooks(ws: Workspace) -> None:
    """The trace goes from the caller's %run line into the included notebook's failing line."""
    inner = ws.write("lib/inner.py", notebook("raise ValueError('bad setup')\n"))
    outer = ws.write("outer.py", notebook(magic("%run ./lib/inner")))
    trace = ws.run(outer).error_trace
    assert f'File "{outer}", line 2, in %run' in trace and f'File "{inner}", line 2, in <module>' in trace


def test_run_of_a_missing_notebook_or_a_cycle_fails_clearly(ws: Workspace) -> None:
    """A missing target names the path looked for; a notebook that %runs itself is refused."""
    missing = ws.run(ws.write("a/nb.py", notebook(magic("%run ../nowhere"))))
    assert missing.error.startswith("FileNotFoundError: Notebook not found: ../nowhere (looked for /nowhere)")
    ws.write("loop/b.py", notebook(magic("%run ./a")))
    cycle = ws.run(ws.write("loop/a.py", notebook(magic("%run ./b"))))
    assert cycle.error.endswith("already running: /loop/a -> /loop/b -> /loop/a")


def test_jupyter_notebook_code_cells_and_magics(ws: Workspace) -> None:
    """.ipynb: code cells run, markdown is skipped, `%sh`/`%%sh` and `%run` work; traces name the cell."""
    ws.write("lib.py", notebook("base = 20\n"))
    cells = [
        {"cell_type": "markdown", "source": ["# title"]},
        {"cell_type": "code", "source": ["%run ./lib"]},
        {"cell_type": "code", "source": ["x = base\n", "y = 22"]},
        {"cell_type": "code", "source": ["%%sh\n", "echo from-sh"]},
        {"cell_type": "code", "source": "if x + y != 42:\n    raise ValueError(x + y)\ndbutils.notebook.exit(x + y)"},
    ]
    doc = {"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {}}
    nb = ws.write("nb.ipynb", json.dumps(doc))
    result = ws.run(nb)
    assert (result.code, result.exit_value) == (0, "42") and "from-sh" in result.stdout
    cells[2]["source"] = ["x = base\n", "y = 1 / 0"]
    ws.write("nb.ipynb", json.dumps(doc))
    trace = ws.run(nb).error_trace
    assert f'File "{nb} [cell 3]", line 2, in <module>\n    y = 1 / 0' in trace


def test_plain_python_notebook_is_one_cell_run_as_main(ws: Workspace) -> None:
    """A .py without the header is one cell; `__name__` is __main__ and dbutils is there."""
    plain = ws.write(
        "plain.py", "import sys\ndbutils.notebook.exit(__name__ + ' ' + str(sys.modules['__main__'].x))\nx = 1\n"
    )
    assert ws.run(plain).error == "AttributeError: module '__main__' has no attribute 'x'"
    ws.write("plain.py", "x = 1\nimport sys\ndbutils.notebook.exit(__name__ + ' ' + str(sys.modules['__main__'].x))\n")
    assert ws.run(plain).exit_value == "__main__ 1"


def test_python_file_gets_argv_and_file_and_no_injected_globals(ws: Workspace) -> None:
    """spark_python_task files: sys.argv from the spec, __file__ set, dbutils not injected; sys.exit(n) fails."""
    script = ws.write(
        "job.py",
        "import sys\nprint('args', sys.argv[1:], __file__ == sys.argv[0], 'dbutils' in globals())\n"
        "if sys.argv[1] == 'fail':\n    sys.exit(2)\nsys.exit(0)\n",
    )
    ok = ws.run(script, kind="python_file", argv=["a", "b"])
    assert ok.code == 0 and ok.stdout == "args ['a', 'b'] True False\n" and ok.stderr == ""
    failed = ws.run(script, kind="python_file", argv=["fail"])
    assert (failed.code, failed.error) == (1, "SystemExit: 2")


def test_notebook_code_does_not_inherit_the_kernels_compiler_flags(ws: Workspace) -> None:
    """Annotations are evaluated as in any Python module (no `from __future__ import annotations` leaking in)."""
    code = "def f(x: int) -> None:\n    pass\n\ndbutils.notebook.exit(f.__annotations__['x'].__name__)\n"
    assert ws.run(ws.write("nb.py", notebook(code))).exit_value == "int"


def test_classes_defined_in_a_notebook_pickle(ws: Workspace) -> None:
    """The namespace is the __main__ module, so pickle can find the notebook's classes."""
    code = "import pickle\n\nclass Point:\n    x = 3\n\ndbutils.notebook.exit(pickle.loads(pickle.dumps(Point())).x)\n"
    assert ws.run(ws.write("nb.py", notebook(code))).exit_value == "3"


def test_a_bad_spec_exits_2_naming_the_field(ws: Workspace) -> None:
    """A spec that breaks the contract is exit status 2 with the field named on stderr."""
    nb = ws.write("nb.py", notebook("pass\n"))
    result = ws.run(nb, parameters={"n": 1})
    assert result.code == 2
    assert "spec.json: 'parameters' must be an object of string values" in result.stderr
