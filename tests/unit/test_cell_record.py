"""The record of what each cell showed (runtime/cell_record.py), written by the kernel run as the run engine runs it
(its standard streams being the task's log files) and read back as the renderer reads it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kernel_helpers import Workspace, magic, notebook

from dbcicd_localworkspace.jobs.task_process import KERNEL, STDERR_FILE, STDOUT_FILE
from dbcicd_localworkspace.runtime import cell_record

LOGS = {"stdout": STDOUT_FILE, "stderr": STDERR_FILE}


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def recorded(ws: Workspace, file: Path) -> list[dict[str, Any]]:
    """Run the kernel with stdout and stderr going to files, as task_process.launch starts it; the cells read back."""
    spec_file = ws.base / "spec.json"
    spec_file.write_text(json.dumps(ws.spec(file)), encoding="utf-8")
    with (ws.base / STDOUT_FILE).open("wb") as out, (ws.base / STDERR_FILE).open("wb") as err:
        command = [sys.executable, str(KERNEL), str(spec_file)]
        subprocess.run(command, cwd=file.parent, stdout=out, stderr=err, timeout=60, check=False)
    cells = cell_record.read(str(ws.base), LOGS)
    assert cells is not None
    return cells


def shown(cell: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, what) of each output of a cell."""
    out = []
    for o in cell["outputs"]:
        kind = o.get("kind") or o.get("display") or next(iter(o))
        out.append((kind, o.get("text") or o.get("error") or o.get("exit") or json.dumps(o.get("rows"))))
    return out


def test_outputs_keep_their_order_and_the_log_copy_of_a_table_is_left_out(ws: Workspace) -> None:
    file = ws.write(
        "nb.py",
        notebook(
            'print("before")\n'
            "from collections import namedtuple\n"
            'Row = namedtuple("Row", "path size")\n'
            'display([Row("/a", 1), Row("/b", 2)])\n'
            'print("after")\n'
            'import sys\nprint("warned", file=sys.stderr)',
            magic("%sh\necho from the shell"),
            'dbutils.notebook.exit("done")',
        ),
    )
    cells = recorded(ws, file)
    assert [c["language"] for c in cells] == ["python", "sh", "python"]
    assert shown(cells[0]) == [
        ("stdout", "before\n"),
        ("table", '[["/a", "1"], ["/b", "2"]]'),
        ("stdout", "after\n"),
        ("stderr", "warned\n"),
    ]
    assert cells[1]["source"] == "%sh\necho from the shell"
    assert shown(cells[1]) == [("stdout", "from the shell\n")]
    assert shown(cells[2]) == [("exit", "done")]
    assert "/a\t1" in (ws.base / STDOUT_FILE).read_text()  # the log still has the table, as text


def test_a_run_notebook_shows_in_its_run_cell_and_the_error_in_the_cell_that_raised(ws: Workspace) -> None:
    ws.write("setup.py", notebook('print("setting up")', 'print("set up")'))
    file = ws.write("nb.py", notebook(magic("%run ./setup"), 'raise ValueError("no data")'))
    cells = recorded(ws, file)
    assert [c["source"] for c in cells] == ["%run ./setup", 'raise ValueError("no data")']
    assert shown(cells[0]) == [("stdout", "setting up\nset up\n")]
    ((kind, error),) = shown(cells[1])  # the kernel's own copy of the trace on stderr is not shown again
    assert (kind, error) == ("error", "ValueError: no data")
    assert "Traceback" in cells[1]["outputs"][0]["trace"]


def test_a_record_cut_short_by_a_kill_is_read_up_to_the_cut(ws: Workspace) -> None:
    (ws.base / STDOUT_FILE).write_text("partial\n")
    (ws.base / STDERR_FILE).write_text("")
    (ws.base / cell_record.RECORD_FILE).write_text(
        json.dumps({"cell": {"language": "python", "source": "work()"}}) + "\n" + '{"text": [0, 8, 0, 0]}\n{"disp'
    )
    cells = cell_record.read(str(ws.base), LOGS)
    outputs = [{"kind": "stdout", "text": "partial\n", "cut": 0}]
    assert cells == [{"language": "python", "source": "work()", "outputs": outputs}]
    assert cell_record.read(str(ws.base / "none"), LOGS) is None
