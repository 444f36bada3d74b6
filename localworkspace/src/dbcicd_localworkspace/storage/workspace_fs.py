"""The workspace file tree: workspace paths (`/Repos/ci/demo/nb`) mapped onto a folder on disk.

Every path a client sends passes through `WorkspaceTree.disk_path`, which refuses anything that would leave the
root (`..`, relative paths, NUL bytes). Object types follow Databricks: notebooks are recognised by their header
and lose their extension; Git folder roots are REPO; everything else is DIRECTORY or FILE.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path, PurePosixPath
from typing import Any

from ..http.errors import invalid_parameter, not_found
from ..runtime.notebook_files import find_notebook, notebook_language, notebook_name

HIDDEN_NAMES = frozenset({".git"})


def normalize_path(path: str, what: str = "path") -> str:
    """A clean absolute workspace path; the `/Workspace` prefix that notebooks see is accepted and removed."""
    if not isinstance(path, str) or not path:
        raise invalid_parameter(f"Missing required field: {what}")
    if "\x00" in path:
        raise invalid_parameter(f"Invalid {what}: contains a NUL character")
    if not path.startswith("/"):
        raise invalid_parameter(f"Invalid {what} '{path}': must be an absolute workspace path starting with '/'")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise invalid_parameter(f"Invalid {what} '{path}': '..' is not allowed in workspace paths")
    if parts[:1] == ["Workspace"]:
        parts = parts[1:]
    return "/" + "/".join(parts)


def object_id_for(path: str) -> int:
    """A stable positive int64 id for a workspace path."""
    return int.from_bytes(hashlib.sha1(path.encode()).digest()[:7], "big")


class WorkspaceTree:
    """Workspace paths on disk, plus the registry of which folders are Git folder roots."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._resolved_root = root.resolve()
        self._repo_roots: dict[str, int] = {}
        self._lock = threading.Lock()

    # --- paths -------------------------------------------------------------------------------------------
    def disk_path(self, path: str, what: str = "path") -> Path:
        """The disk location of a workspace path (for a notebook: without its extension)."""
        clean = normalize_path(path, what)
        disk = self.root.joinpath(*PurePosixPath(clean).parts[1:])
        if not disk.resolve().is_relative_to(self._resolved_root):
            # A symbolic link inside a Git folder must not expose files outside the workspace.
            raise invalid_parameter(f"Invalid {what} '{clean}': it leads outside the workspace")
        return disk

    def workspace_path(self, disk: Path) -> str:
        """The workspace path of a disk location inside the root (notebooks lose their extension)."""
        rel = disk.relative_to(self.root)
        parts = list(rel.parts)
        if parts and disk.is_file():
            parts[-1] = notebook_name(disk)
        return "/" + "/".join(parts)

    def locate(self, path: str, what: str = "path") -> tuple[Path, str] | None:
        """(disk file or folder, object type) for a workspace path, or None when nothing is there."""
        base = self.disk_path(path, what)
        if base.is_dir():
            return base, "REPO" if normalize_path(path) in self._repo_roots else "DIRECTORY"
        notebook = find_notebook(base)
        if notebook is not None:
            return notebook, "NOTEBOOK"
        if base.is_file() and not notebook_language(base):
            return base, "FILE"  # a notebook's own file (`nb.py`) is only reachable as `nb`
        return None

    def require(self, path: str, what: str = "path") -> tuple[Path, str]:
        found = self.locate(path, what)
        if found is None:
            raise not_found(f"Path ({normalize_path(path, what)}) doesn't exist.")
        return found

    def notebook_file(self, path: str, what: str = "notebook_path") -> Path:
        """The file of the notebook at a workspace path; 404 naming the path when there is none."""
        found = self.locate(path, what)
        if found is None or found[1] != "NOTEBOOK":
            raise not_found(f'Unable to access the notebook "{normalize_path(path, what)}" in the workspace.')
        return found[0]

    # --- Git folder registry -------------------------------------------------------------------------------
    def mark_repo(self, path: str, repo_id: int) -> None:
        with self._lock:
            self._repo_roots[normalize_path(path)] = repo_id

    def unmark_repo(self, path: str) -> None:
        with self._lock:
            self._repo_roots.pop(normalize_path(path), None)

    def repo_containing(self, path: str) -> tuple[str, int] | None:
        """(root path, repo id) of the Git folder that holds a path, if any."""
        clean = normalize_path(path)
        with self._lock:
            for root, repo_id in self._repo_roots.items():
                if clean == root or clean.startswith(root + "/"):
                    return root, repo_id
        return None

    # --- object descriptions ---------------------------------------------------------------------------
    def describe(self, disk: Path, object_type: str) -> dict[str, Any]:
        """An ObjectInfo as workspace/get-status and workspace/list return it."""
        path = self.workspace_path(disk)
        stat = disk.stat()
        info: dict[str, Any] = {"object_type": object_type, "path": path}
        if object_type == "REPO":
            info["object_id"] = self._repo_roots[path]
            info["resource_id"] = str(self._repo_roots[path])
        else:
            info["object_id"] = object_id_for(path)
            info["resource_id"] = str(info["object_id"])
        if object_type == "NOTEBOOK":
            info["language"] = notebook_language(disk)
        if object_type in ("NOTEBOOK", "FILE"):
            info["size"] = stat.st_size
            info["created_at"] = int(stat.st_ctime * 1000)
            info["modified_at"] = int(stat.st_mtime * 1000)
        return info

    def children(self, folder: Path) -> list[tuple[Path, str]]:
        """The objects directly inside a folder, sorted by name, Git metadata hidden."""
        out = []
        for child in sorted(folder.iterdir()):
            if child.name in HIDDEN_NAMES:
                continue
            if child.is_dir():
                out.append((child, "REPO" if self.workspace_path(child) in self._repo_roots else "DIRECTORY"))
            elif child.is_file():
                out.append((child, "NOTEBOOK" if notebook_language(child) else "FILE"))
        return out
