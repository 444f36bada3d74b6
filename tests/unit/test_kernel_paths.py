"""Paths in the notebook kernel: /Workspace, /dbfs and /Volumes through the file APIs; cwd and sys.path."""

from __future__ import annotations

from pathlib import Path

import pytest
from kernel_helpers import Workspace, notebook


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def test_open_os_and_pathlib_reach_the_mounted_folders(ws: Workspace) -> None:
    """open(), os.* and pathlib on /Workspace, /dbfs and /Volumes paths read and write the workspace's folders."""
    code = """
import os, pathlib
open("/Workspace/Repos/ci/demo/out.txt", "w").write("w")
pathlib.Path("/dbfs/tmp/x").mkdir(parents=True, exist_ok=True)
pathlib.Path("/dbfs/tmp/x/a.txt").write_text("d")
os.makedirs("/Volumes/main/default/v/dir", exist_ok=True)
with open("/Volumes/main/default/v/dir/b.txt", "w") as fh:
    fh.write("v")
os.rename("/Volumes/main/default/v/dir/b.txt", "/Volumes/main/default/v/dir/c.txt")
seen = [
    sorted(os.listdir("/dbfs/tmp/x")),
    sorted(p.name for p in pathlib.Path("/Volumes/main/default/v/dir").iterdir()),
    os.path.isfile("/Workspace/Repos/ci/demo/out.txt"),
    os.path.isdir(b"/dbfs/tmp"),
    os.stat("/dbfs/tmp/x/a.txt").st_size,
    pathlib.Path("/dbfs/tmp/x/a.txt").exists(),
    os.path.exists("/dbfs/nothing"),
    [e.name for e in os.scandir("/dbfs/tmp")],
    open("/Workspace/Repos/ci/demo/out.txt").read(),
]
dbutils.notebook.exit(repr(seen))
"""
    result = ws.run(ws.write("Repos/ci/demo/nb.py", notebook(code)))
    assert result.exit_value == repr([["a.txt"], ["c.txt"], True, True, 1, True, False, ["x"], "w"]), result.error_trace
    assert (ws.tree / "Repos/ci/demo/out.txt").read_text() == "w"
    assert (ws.dbfs / "tmp/x/a.txt").read_text() == "d"
    assert (ws.volumes / "main/default/v/dir/c.txt").read_text() == "v"


def test_mounted_folders_list_and_import_by_their_mounted_paths(ws: Workspace) -> None:
    """os.scandir() names entries by the /Workspace path it was given (pytest collects by it), and a /Workspace
    folder on sys.path imports."""
    ws.write("Repos/ci/demo/lib/helper.py", "VALUE = 'imported'\n")
    code = """
import os, sys
with os.scandir("/Workspace/Repos/ci/demo/lib") as entries:
    paths = [entry.path for entry in entries if entry.name.endswith(".py")]
sys.path.append("/Workspace/Repos/ci/demo/lib")
import helper
dbutils.notebook.exit(repr([paths, helper.VALUE]))
"""
    result = ws.run(ws.write("Repos/ci/demo/nb.py", notebook(code)))
    assert result.exit_value == repr([["/Workspace/Repos/ci/demo/lib/helper.py"], "imported"]), result.error_trace


def test_shutil_glob_and_walk_work_on_mounted_paths(ws: Workspace) -> None:
    """shutil (copy2, copytree, rmtree), glob and os.walk go through the same mapping."""
    code = """
import glob, os, shutil
os.makedirs("/dbfs/src/deep")
open("/dbfs/src/deep/a.txt", "w").write("a")
shutil.copy2("/dbfs/src/deep/a.txt", "/dbfs/src/b.txt")
shutil.copytree("/dbfs/src", "/Volumes/c/s/v/copy")
top = "/Volumes/c/s/v"
walked = sorted(os.path.join(os.path.relpath(root, top), f) for root, _, files in os.walk(top) for f in files)
found = sorted(os.path.basename(p) for p in glob.glob("/Volumes/c/s/v/copy/**/*.txt", recursive=True))
shutil.rmtree("/dbfs/src")
dbutils.notebook.exit(repr([walked, found, os.path.exists("/dbfs/src")]))
"""
    result = ws.run(ws.write("nb.py", notebook(code)))
    assert result.exit_value == repr([["copy/b.txt", "copy/deep/a.txt"], ["a.txt", "b.txt"], False]), result.error_trace
    assert (ws.volumes / "c/s/v/copy/deep/a.txt").read_text() == "a"


def test_other_paths_are_untouched(ws: Workspace) -> None:
    """Relative paths and look-alike prefixes (/dbfsx, /Workspaces) are not mapped."""
    code = (
        "import os\nopen('local.txt', 'w').write('here')\n"
        "seen = [os.path.exists('/dbfsx'), os.path.exists('/Workspaces'), open('local.txt').read()]\n"
        "dbutils.notebook.exit(repr(seen))\n"
    )
    nb = ws.write("d/nb.py", notebook(code))
    assert ws.run(nb).exit_value == repr([False, False, "here"])
    assert (ws.tree / "d" / "local.txt").read_text() == "here"


def test_cwd_and_sys_path_are_the_specs(ws: Workspace) -> None:
    """The notebook's folder is the working directory and first on sys.path, then the spec's other folders."""
    ws.write("Repos/ci/demo/pkg/helpers.py", "VALUE = 'imported'\n")
    ws.write("Repos/ci/demo/shared_lib.py", "NAME = 'from the repo root'\n")
    code = (
        "import os, sys, helpers, shared_lib\n"
        "dbutils.notebook.exit(repr([os.getcwd(), sys.path[:2], helpers.VALUE, shared_lib.NAME]))\n"
    )
    nb = ws.write("Repos/ci/demo/pkg/nb.py", notebook(code))
    folders = [str(nb.parent), str(ws.tree / "Repos/ci/demo")]
    result = ws.run(nb, sys_path=folders)
    assert result.exit_value == repr([str(nb.parent), folders, "imported", "from the repo root"])


def test_kernel_modules_do_not_shadow_the_notebooks(ws: Workspace) -> None:
    """A notebook's own `paths.py` or `cells.py` is what it imports, not the kernel's modules."""
    ws.write("paths.py", "OWN = True\n")
    ws.write("cells.py", "OWN = True\n")
    nb = ws.write("nb.py", notebook("import paths, cells\ndbutils.notebook.exit(paths.OWN and cells.OWN)\n"))
    assert ws.run(nb).exit_value == "True"
