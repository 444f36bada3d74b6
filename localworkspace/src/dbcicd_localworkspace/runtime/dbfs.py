"""dbutils.fs over the local workspace's folders, with Databricks' path forms, results and messages.

`dbfs:/x`, a bare `/x` and a relative `x` are DBFS; `/Volumes/...` (with or without `dbfs:`) are Unity Catalog
volumes; `file:/x` is the local file system, where `/Workspace/...`, `/dbfs/...` and `/Volumes/...` are the same
mounts as in open(); a bare `/Workspace/...` means the workspace files too. Results name paths as Databricks does:
`dbfs:/...` or `file:/...`, directories ending in `/`.

A workspace whose `disable_legacy_dbfs` setting is on (services/settings_api.py) refuses the DBFS root here, in open()
of `/dbfs/...` (paths.py) and in the DBFS API. Databricks' page "Disable access to DBFS root and mounts in your
existing Databricks workspace" says access is disabled across all interfaces, and keeps its reserved prefixes
(`dbfs:/Volumes/` ...) outside it. The words are those users recorded from real workspaces, as no Databricks page
quotes them: dbutils.fs raised `ExecutionError: [DBFS_DISABLED] Public DBFS root is disabled. Access is denied on
path: /FileStore/... SQLSTATE: 56038` on serverless, and `GET /api/2.0/dbfs/list?path=/user/hive/warehouse` answered
`PERMISSION_DENIED` "Public DBFS root is disabled. Access is denied on path: /user/hive/warehouse" (public notes in
GitHub repositories; microsoft/unified-data-foundation-with-fabric-solution-accelerator,
infra/scripts/databricks/create_databricks_items_maag.py, tells the refusal by PERMISSION_DENIED and "DBFS root is
disabled"). The HTTP status, 403, is what databricks-sdk maps PERMISSION_DENIED to; no record shows it.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from typing import NamedTuple

from . import paths
from .exceptions import ExecutionError, UnsupportedCommand

HEAD_DEFAULT_BYTES = 65536
# Prefixes of the DBFS namespace that are not the DBFS root ("Reserved Databricks prefixes" on the page above).
RESERVED_PREFIXES = ("Volumes", "databricks-datasets")
DBFS_DISABLED_SQLSTATE = "56038"


DATASETS = "/databricks-datasets"


def dataset_path(shown: str) -> str | None:
    """`/databricks-datasets/...` for a path under Databricks' sample data (`dbfs:/`, `/dbfs/` or none), else None."""
    virtual = "/" + shown.partition(":")[2].lstrip("/") if shown.startswith("dbfs:") else shown
    virtual = virtual.removeprefix("/dbfs") if virtual.startswith("/dbfs/") else virtual
    return virtual if virtual == DATASETS or virtual.startswith(DATASETS + "/") else None


def missing_dataset(shown: str, disk: str) -> str:
    """Why a path of /databricks-datasets is missing, and how to seed it (for dbutils.fs and Spark)."""
    return (
        f"{shown}: /databricks-datasets is Databricks' read-only sample data, which the local workspace does not "
        f"have and cannot download; seed what the notebook reads by copying it to dbfs:{dataset_path(shown)} first "
        f"(a test can write it to {disk})"
    )


def in_dbfs_root(path: str) -> bool:
    """Whether a DBFS path (`dbfs:/x` or `/x`) lies in the DBFS root rather than under a reserved prefix."""
    parts = [part for part in path.removeprefix("dbfs:").split("/") if part]
    return not parts or parts[0] not in RESERVED_PREFIXES


def dbfs_root_refusal(path: str) -> str:
    """The words a workspace with the DBFS root disabled refuses `path` with (as the DBFS API says them)."""
    shown = posixpath.normpath("/" + path.removeprefix("dbfs:").lstrip("/"))
    return f"Public DBFS root is disabled. Access is denied on path: {shown}"


class FileInfo(NamedTuple):
    path: str
    name: str
    size: int
    modificationTime: int  # milliseconds since the epoch

    def isDir(self) -> bool:
        return self.name.endswith("/")

    def isFile(self) -> bool:
        return not self.isDir()


class Location(NamedTuple):
    shown: str  # the path as results and messages show it, e.g. dbfs:/tmp/x
    disk: str


class FsUtils:
    def __init__(self, dbfs_root: str, volumes_root: str, dbfs_root_disabled: bool = False) -> None:
        self._dbfs_root = dbfs_root
        self._volumes_root = volumes_root
        self._dbfs_root_disabled = dbfs_root_disabled

    def ls(self, dir: str) -> list[FileInfo]:
        """The entries of a directory, sorted by name; for a file, the file itself."""
        at = self._existing(dir)
        if not os.path.isdir(at.disk):
            return [_info(at.shown, at.disk)]
        base = at.shown.rstrip("/")
        return [_info(f"{base}/{name}", os.path.join(at.disk, name)) for name in sorted(os.listdir(at.disk))]

    def head(self, file: str, maxBytes: int = HEAD_DEFAULT_BYTES) -> str:
        """The first `maxBytes` bytes of a file, as text."""
        at = self._existing(file)
        _no_directory(at, "read it with head")
        with open(at.disk, "rb") as fh:
            data = fh.read(maxBytes + 1)
        if len(data) > maxBytes:
            print(f"[Truncated to first {maxBytes} bytes]")
        return data[:maxBytes].decode("utf-8", "replace")

    def put(self, file: str, contents: str, overwrite: bool = False) -> bool:
        """Write `contents` (UTF-8) to a file; an existing file is replaced only with overwrite=True."""
        at = self._locate(file)
        _no_directory(at, "write a file there")
        if os.path.exists(at.disk) and not overwrite:
            raise FileExistsError(f"File {at.shown} already exists: pass overwrite=True to replace it")
        data = contents.encode("utf-8")
        os.makedirs(os.path.dirname(at.disk), exist_ok=True)
        with open(at.disk, "wb") as fh:
            fh.write(data)
        print(f"Wrote {len(data)} bytes.")
        return True

    def mkdirs(self, dir: str) -> bool:
        """Create a directory and its parents; an existing directory is fine."""
        at = self._locate(dir)
        if os.path.isfile(at.disk):
            raise FileExistsError(f"{at.shown} exists and is a file, not a directory")
        os.makedirs(at.disk, exist_ok=True)
        return True

    def cp(self, source: str, dest: str, recurse: bool = False) -> bool:
        """Copy a file (into `dest` when it is a directory), or a directory tree with recurse=True."""
        src, dst = self._existing(source), self._locate(dest)
        if os.path.isdir(src.disk):
            if not recurse:
                raise IsADirectoryError(f"{src.shown} is a directory: pass recurse=True to copy it")
            shutil.copytree(src.disk, dst.disk, copy_function=shutil.copyfile, dirs_exist_ok=True)
        else:
            shutil.copyfile(src.disk, _target_file(src, dst))
        return True

    def mv(self, source: str, dest: str, recurse: bool = False) -> bool:
        """Move a file (into `dest` when it is a directory) or a directory."""
        src, dst = self._existing(source), self._locate(dest)
        target = dst.disk if os.path.isdir(src.disk) else _target_file(src, dst)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.move(src.disk, target)
        return True

    def rm(self, dir: str, recurse: bool = False) -> bool:
        """Delete a file or an empty directory, or a directory tree with recurse=True; False when nothing is there."""
        at = self._locate(dir)
        if not os.path.lexists(at.disk):
            return False
        if not os.path.isdir(at.disk):
            os.remove(at.disk)
        elif recurse:
            shutil.rmtree(at.disk)
        elif os.listdir(at.disk):
            raise OSError(f"{at.shown} is a non-empty directory: pass recurse=True to delete it")
        else:
            os.rmdir(at.disk)
        return True

    def _existing(self, path: str) -> Location:
        at = self._locate(path)
        if not os.path.exists(at.disk):
            if dataset_path(at.shown):
                raise FileNotFoundError(missing_dataset(at.shown, at.disk))
            raise FileNotFoundError(f"File {at.shown} does not exist.")
        return at

    def _locate(self, path: str) -> Location:
        if not isinstance(path, str) or not path:
            raise TypeError(f"dbutils.fs: a path must be a non-empty string, got {path!r}")
        scheme, colon, rest = path.partition(":")
        if colon and scheme == "file":
            local = "/" + rest.lstrip("/")
            drive = os.name == "nt" and local[2:3] == ":"  # file:/C:/x
            return Location("file:" + local, paths.translate(local[1:] if drive else local))
        if colon and scheme != "dbfs" and "/" not in scheme:
            raise UnsupportedCommand(
                f"dbutils.fs: {scheme}: paths are not available in the local workspace; "
                "use dbfs:/..., /Volumes/... or file:/... paths"
            )
        virtual = posixpath.normpath("/" + (rest if colon else path).lstrip("/"))
        if not colon and (virtual == "/Workspace" or virtual.startswith("/Workspace/")):
            return Location("file:" + virtual, paths.translate(virtual))
        parts = [part for part in virtual.split("/") if part]
        if parts[:1] == ["Volumes"]:
            return Location("dbfs:" + virtual, os.path.join(self._volumes_root, *parts[1:]))
        if self._dbfs_root_disabled and in_dbfs_root(virtual):
            raise ExecutionError(f"[DBFS_DISABLED] {dbfs_root_refusal(virtual)} SQLSTATE: {DBFS_DISABLED_SQLSTATE}")
        return Location("dbfs:" + virtual, os.path.join(self._dbfs_root, *parts))


def _info(shown: str, disk: str) -> FileInfo:
    stat = os.stat(disk)
    name = shown.rstrip("/").rsplit("/", 1)[-1]
    if os.path.isdir(disk):
        return FileInfo(shown.rstrip("/") + "/", name + "/", 0, int(stat.st_mtime * 1000))
    return FileInfo(shown, name, stat.st_size, int(stat.st_mtime * 1000))


def _no_directory(at: Location, action: str) -> None:
    if os.path.isdir(at.disk):
        raise IsADirectoryError(f"{at.shown} is a directory: cannot {action}")


def _target_file(src: Location, dst: Location) -> str:
    """Where a file copied or moved to `dst` lands: inside it when it is a directory (as Hadoop does)."""
    if os.path.isdir(dst.disk):
        return os.path.join(dst.disk, os.path.basename(src.disk))
    os.makedirs(os.path.dirname(dst.disk), exist_ok=True)
    return dst.disk
