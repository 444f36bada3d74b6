"""Finding the notebook a `%run` or dbutils.notebook.run() names: relative to the calling notebook, or absolute.

Relative paths are resolved on disk from the calling notebook's file, so they work in Git folders and in the
checkouts of runs with a `git_source` alike; absolute paths (`/Repos/...`, `/Users/...`, `/Workspace/...`) are
workspace paths. Only notebooks qualify, as on Databricks: a file without a notebook header is not found.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path
from typing import NamedTuple

from .notebook_files import find_notebook


class NotebookRef(NamedTuple):
    file: Path
    workspace_path: str


def resolve(target: str, caller: NotebookRef, workspace_root: str) -> NotebookRef:
    path = target.strip()
    if not path:
        raise ValueError("A notebook path is needed, e.g. ./setup or /Repos/ci/project/setup")
    if path.startswith("/"):
        workspace_path = posixpath.normpath(path)
        if workspace_path == "/Workspace" or workspace_path.startswith("/Workspace/"):
            workspace_path = workspace_path[len("/Workspace") :] or "/"
        base = Path(workspace_root).joinpath(*[p for p in workspace_path.split("/") if p])
    else:
        workspace_path = posixpath.normpath(posixpath.join(posixpath.dirname(caller.workspace_path), path))
        base = Path(os.path.normpath(os.path.join(caller.file.parent, *path.split("/"))))
    file = find_notebook(base)
    if file is None:
        raise FileNotFoundError(
            f"Notebook not found: {path} (looked for {workspace_path}). Notebooks can be specified via a relative "
            "path (./Notebook or ../folder/Notebook) or via an absolute path (/Abs/Path/to/Notebook). "
            "Make sure you are specifying the path correctly."
        )
    return NotebookRef(file, workspace_path)
