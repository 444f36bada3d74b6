"""Workspace API 2.0 over the workspace tree: get-status, list, export, import, mkdirs and delete, and the
workspace-files import-file endpoint through which `databricks bundle deploy` writes files.

Files inside Git folders are served as they are on disk (notebooks recognised by their header), so whatever a
clone brings in is visible here exactly as Databricks shows a Git folder. A Git folder with Git CLI access (one made
outside /Repos, see services/repos.py) is described as Databricks describes it: a DIRECTORY with
`directory_info.is_git_folder: true`, and its `object_id` is the id repos/get takes (databricks/cli 24aafba64c, #6181:
the CLI resolves a Git folder's path to its repo id through get-status, whatever the object type).
"""

from __future__ import annotations

import base64
import posixpath
import shutil
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..http.errors import ApiError, already_exists, bad_request, invalid_parameter, not_found
from ..http.request import Request, Response
from ..runtime.notebook_files import JUPYTER_EXTENSION, notebook_language
from ..storage.disk import atomic_write, is_temporary
from ..storage.notebook_convert import EXTENSION, ipynb_to_source, parse_ipynb, source_to_ipynb
from ..storage.workspace_fs import HIDDEN_NAMES, WorkspaceTree, normalize_path
from ..storage.workspace_import import ImportPlan, ImportRequest, plan_import, read_import_request

if TYPE_CHECKING:
    from collections.abc import Callable

    from .repos import Repos

MAX_EXPORT_BYTES = 10 * 1024 * 1024
EXPORT_FORMATS = ("AUTO", "DBC", "HTML", "JUPYTER", "RAW", "R_MARKDOWN", "SOURCE")
SUPPORTED_EXPORT_FORMATS = ("AUTO", "JUPYTER", "RAW", "SOURCE")
PROTECTED_FOLDERS = frozenset({"/", "/Repos", "/Users", "/Shared"})
FOLDER_TYPES = ("DIRECTORY", "REPO")


class WorkspaceApi:
    """The handlers of /api/2.0/workspace/*; deleting a Git folder goes through the Repos service."""

    def __init__(self, tree: WorkspaceTree, repos: Repos) -> None:
        self.tree = tree
        self.repos = repos

    def get_status(self, req: Request) -> dict[str, Any]:
        disk, kind = self.tree.require(self._path(req.arg("path")))
        return self._describe(disk, kind)

    def list(self, req: Request) -> dict[str, Any]:
        disk, kind = self.tree.require(self._path(req.arg("path")))
        modified_after = req.arg("notebooks_modified_after", int, 0)
        if kind in FOLDER_TYPES:
            entries = [(child, k) for child, k in self.tree.children(disk) if not is_temporary(child)]
        else:
            entries = [(disk, kind)]  # listing a notebook or file answers that one object
        objects = [self._describe(d, k) for d, k in entries]
        if modified_after:
            objects = [o for o in objects if o["object_type"] != "NOTEBOOK" or o["modified_at"] > modified_after]
        return {"objects": objects} if objects else {}

    def export(self, req: Request) -> Any:
        path = self._path(req.arg("path"))
        fmt = req.arg("format", str, "SOURCE")
        direct = req.arg("direct_download", bool, False)
        _check_export_format(fmt)
        disk, kind = self.tree.require(path)
        if kind in FOLDER_TYPES:
            # Guess: the local workspace has no archive formats (DBC, zipped SOURCE) for folders.
            raise bad_request(f"Cannot export {path}: it is a folder. Export its notebooks and files one by one.")
        if kind == "NOTEBOOK" and disk.stat().st_size > MAX_EXPORT_BYTES:
            limit = f"{MAX_EXPORT_BYTES >> 20} MB"
            raise ApiError(400, "MAX_NOTEBOOK_SIZE_EXCEEDED", f"Notebook {path} exceeds the {limit} export limit")
        content, file_type = _exported(disk, kind, fmt, posixpath.basename(path))
        if direct:
            return Response(content, content_type="application/octet-stream")
        return {"content": base64.b64encode(content).decode(), "file_type": file_type}

    def import_(self, req: Request) -> dict[str, Any]:
        request = read_import_request(req)
        plan = plan_import(self._path(request.path, writing=True), request)
        self._write(plan, request.overwrite, _taken_for_import)
        return {}

    def import_file(self, req: Request) -> dict[str, Any]:
        """workspace-files/import-file, how `databricks bundle deploy` writes every file it uploads and its deploy lock
        and state (databricks/cli libs/filer/workspace_files_client.go `Write`): `POST
        /api/2.0/workspace-files/import-file/{path}?overwrite=true|false` with the file's bytes as the body and the
        path escaped as one segment (Go's url.PathEscape turns `/` into `%2F`). A `.py`, `.sql`, `.scala`, `.r` file
        with the notebook header or an `.ipynb` becomes a notebook without its extension, as workspace/import's AUTO
        format does (databricks/cli libs/testserver/fake_workspace.go models the same). A missing parent folder is a
        404 (the client then calls workspace/mkdirs and retries), an existing file 409, an existing notebook a 400
        whose message ends in "already exists." (the client's comments give those statuses). No public source gives
        this endpoint's size limit; the local workspace takes what workspace/import takes."""
        path = self._path(unquote(req.params["path"]), writing=True)
        overwrite = req.arg("overwrite", bool, False)
        plan = plan_import(path, ImportRequest(path, req.body, "AUTO", "", overwrite))
        self._write(plan, overwrite, _taken_for_import_file)
        return {}

    def mkdirs(self, req: Request) -> dict[str, Any]:
        path = self._path(req.field("path", str), writing=True)
        current = "/"
        for part in PurePosixPath(path).parts[1:]:
            current = posixpath.join(current, part)
            found = self.tree.locate(current)
            if found is None:
                break  # nothing deeper can exist either
            if found[1] not in FOLDER_TYPES:
                raise already_exists(f"{current} already exists and it is not a folder")
        else:
            return {}  # already there: mkdirs is idempotent
        self._check_repos_folder(path, creating_folder=True)
        self.tree.disk_path(path).mkdir(parents=True, exist_ok=True)
        return {}

    def delete(self, req: Request) -> dict[str, Any]:
        path = self._path(req.field("path", str), writing=True)
        recursive = req.field("recursive", bool, False)
        if path in PROTECTED_FOLDERS:
            raise ApiError(400, "DIRECTORY_PROTECTED", f"Folder {path} is protected and cannot be deleted")
        disk, kind = self.tree.require(path)
        if kind == "REPO":
            self.repos.delete_git_folders_under(path)
        elif kind == "DIRECTORY":
            if not recursive and any(not is_temporary(child) for child, _ in self.tree.children(disk)):
                raise ApiError(
                    400, "DIRECTORY_NOT_EMPTY", f"Folder ({path}) is not empty: delete it with recursive=true"
                )
            self.repos.delete_git_folders_under(path)
            shutil.rmtree(disk)
        else:
            disk.unlink()
        return {}

    # --- internals ----------------------------------------------------------------------------------------------
    def _write(self, plan: ImportPlan, overwrite: bool, taken: Callable[[str, str], ApiError]) -> None:
        """Write an imported object; `taken(path, object_type)` is the error for a path already taken."""
        self._check_repos_folder(plan.path, creating_folder=False)
        parent = posixpath.dirname(plan.path)
        found_parent = self.tree.locate(parent)
        if found_parent is None or found_parent[1] not in FOLDER_TYPES:
            raise not_found(f"The parent folder ({parent}) does not exist.")
        disk_file = plan.disk_file(self.tree.disk_path(plan.path))
        existing = self.tree.locate(plan.path)
        if existing is not None or disk_file.exists():
            taken_by = plan.path if existing is not None else self.tree.workspace_path(disk_file)
            if not overwrite:
                raise taken(taken_by, existing[1] if existing is not None else "FILE")
            if (existing is not None and existing[1] in FOLDER_TYPES) or disk_file.is_dir():
                raise already_exists(f"Path ({taken_by}) already exists and is a folder; it cannot be overwritten.")
        atomic_write(disk_file, plan.content)
        if existing is not None and existing[0] != disk_file:
            existing[0].unlink(missing_ok=True)  # the object changed form, e.g. a notebook in another language

    def _describe(self, disk: Path, kind: str) -> dict[str, Any]:
        """The ObjectInfo of an object. Folders carry `directory_info`: databricks-sdk's `DirectoryInfo.is_git_folder`
        is true for a Git folder with Git CLI access (object type DIRECTORY), false for a folder that is not
        Git-backed, and absent on a standard Git folder (object type REPO)."""
        info = self.tree.describe(disk, kind)
        if kind == "REPO" and self.repos.is_git_cli_folder(info["path"]):
            info["object_type"] = "DIRECTORY"
            info["directory_info"] = {"is_git_folder": True}
        elif kind == "DIRECTORY":
            info["directory_info"] = {"is_git_folder": False}
        return info

    def _path(self, raw: str, writing: bool = False) -> str:
        """A clean workspace path; Git metadata (`.git`) is not part of the workspace."""
        path = normalize_path(raw)
        if HIDDEN_NAMES.intersection(PurePosixPath(path).parts):
            if writing:
                raise invalid_parameter(f"Invalid path '{path}': '.git' folders are managed by git, not the workspace")
            raise not_found(f"Path ({path}) doesn't exist.")
        return path

    def _check_repos_folder(self, path: str, creating_folder: bool) -> None:
        """Outside Git folders, /Repos holds only folders of Git folders (`/Repos/{folder}`), as in Databricks."""
        parts = PurePosixPath(path).parts[1:]
        if parts[:1] != ("Repos",) or self.tree.repo_containing(path) is not None:
            return
        if creating_folder and len(parts) == 2:
            return
        raise ApiError(400, "DIRECTORY_PROTECTED", "Top-level folder can only contain repos")


def _taken_for_import(path: str, object_type: str) -> ApiError:
    return already_exists(f"Path ({path}) already exists.")


def _taken_for_import_file(path: str, object_type: str) -> ApiError:
    """workspace-files/import-file's answer for a taken path: 409 for a file, 400 "Path (...) already exists." with
    an empty error_code for a notebook (databricks/cli libs/filer/workspace_files_client.go, `Write`). The 409's
    error_code is in no public source; RESOURCE_ALREADY_EXISTS is what databricks-sdk maps to its conflict class."""
    if object_type == "NOTEBOOK":
        return ApiError(400, "", f"Path ({path}) already exists.")
    return ApiError(409, "RESOURCE_ALREADY_EXISTS", f"File already exists at ({path}).")


def _check_export_format(fmt: str) -> None:
    if fmt not in EXPORT_FORMATS:
        raise invalid_parameter(f"Invalid format '{fmt}'. Supported formats: {', '.join(SUPPORTED_EXPORT_FORMATS)}")
    if fmt not in SUPPORTED_EXPORT_FORMATS:
        raise invalid_parameter(
            f"Export format {fmt} is not supported by the local workspace; use one of "
            f"{', '.join(SUPPORTED_EXPORT_FORMATS)}"
        )


def _exported(disk: Path, kind: str, fmt: str, name: str) -> tuple[bytes, str]:
    """(content, file_type) of a notebook or file in an export format."""
    raw = disk.read_bytes()
    if kind == "FILE":
        return raw, disk.suffix.lstrip(".").lower()  # workspace files export as they are, in every format
    is_jupyter = disk.suffix.lower() == JUPYTER_EXTENSION
    if fmt in ("AUTO", "RAW"):
        fmt = "JUPYTER" if is_jupyter else "SOURCE"  # a notebook's own form
    if is_jupyter:
        if fmt == "JUPYTER":
            return raw, "ipynb"
        try:
            content, language = ipynb_to_source(parse_ipynb(raw))
        except ValueError as err:
            raise bad_request(f"Cannot export {name} as SOURCE: the notebook file is {err}") from None
        return content, EXTENSION[language].lstrip(".")
    language = notebook_language(disk) or "PYTHON"
    if fmt == "JUPYTER":
        return source_to_ipynb(raw.decode("utf-8", "replace"), language, name), "ipynb"
    return raw, EXTENSION[language].lstrip(".")
