"""Databricks' absolute paths inside a notebook process: `/Workspace/...`, `/dbfs/...` and `/Volumes/...`.

On Databricks these are mounts; here they are folders of the local workspace. The file functions notebook code
reaches for — open(), os.* and os.path.exists/isfile/isdir, and through them pathlib, shutil, glob and os.walk — are
wrapped to translate such paths. Every other path (relative ones included) and file descriptors pass through
untouched, so the cost for ordinary file access is one prefix test. A mounted folder lists its entries by their
mounted paths (os.scandir's `entry.path`, which pytest and glob build on), and a `/Workspace/...` folder on sys.path
imports like any other: workspace files import "similar to local development" (docs.databricks.com/files/workspace).

In a workspace that disabled the DBFS root (runtime/dbfs.py), `/dbfs/...` is refused as real workspaces refuse it:
`OSError: [Errno 95] Operation not supported: '/dbfs/FileStore'`, as a user recorded it from a serverless notebook of
such a workspace (a public note in a GitHub repository; no Databricks page quotes it), while os.path.exists() and its
kin answer False, as they do for any path the system refuses. Whether `/dbfs/Volumes/...` stays open there no
source settles; it is refused with the rest.
"""

from __future__ import annotations

import builtins
import errno
import functools
import importlib.machinery
import io
import os
import sys
from collections.abc import Callable
from typing import Any

MOUNT_PREFIXES = ("/Workspace", "/Volumes", "/dbfs")
_mounts: list[tuple[str, str]] = []  # (prefix, disk folder)
_refused: list[str] = []  # prefixes the workspace refuses (the DBFS root's, when disabled)

# os functions taking one path first, and those taking two (source, destination).
_ONE_PATH = ("open", "stat", "lstat", "listdir", "scandir", "mkdir", "remove", "unlink", "rmdir", "chdir", "access",
             "utime", "chmod", "lchmod", "chown", "lchown", "truncate", "readlink", "statvfs", "listxattr",
             "getxattr", "setxattr", "removexattr")  # fmt: skip
_TWO_PATHS = ("rename", "replace", "link", "symlink")
_OS_PATH = ("exists", "lexists", "isfile", "isdir", "islink")
_PATH_KEYWORDS = ("file", "path", "src", "dst")
_SUPPORT_SETS = ("supports_dir_fd", "supports_fd", "supports_follow_symlinks", "supports_effective_ids")


def configure(workspace_root: str, dbfs_root: str, volumes_root: str, dbfs_root_disabled: bool = False) -> None:
    _mounts[:] = [("/Workspace", workspace_root), ("/Volumes", volumes_root), ("/dbfs", dbfs_root)]
    _refused[:] = ["/dbfs"] if dbfs_root_disabled else []


def translate(path: Any) -> Any:
    """The disk path behind a mounted path; anything else unchanged (type included)."""
    if isinstance(path, str):
        return _translate_text(path)
    if isinstance(path, bytes):
        text = os.fsdecode(path)
        mapped = _translate_text(text)
        return path if mapped is text else os.fsencode(mapped)
    if isinstance(path, os.PathLike):
        text = os.fspath(path)
        mapped = translate(text)
        return path if mapped is text else mapped
    return path


def on_disk(path: str) -> bool:
    """Whether `path` is already a disk path behind one of the mounts (what translate() returned)."""
    return any(_inside(path, folder) for _, folder in _mounts)


def _translate_text(path: str) -> str:
    probe = path.replace("\\", "/") if os.sep == "\\" else path
    if not probe.startswith(MOUNT_PREFIXES):
        return path
    for prefix, folder in _mounts:
        if probe == prefix or probe.startswith(prefix + "/"):
            if _inside(path, folder):
                return path  # already a disk path (macOS mounts its drives under /Volumes)
            if prefix in _refused:
                raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP), path)
            rest = [part for part in probe[len(prefix) :].split("/") if part]
            return os.path.join(folder, *rest)
    return path


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _mapping(function: Callable[..., Any], count: int, predicate: bool = False) -> Callable[..., Any]:
    """`function` with its first `count` positional path arguments (and path keywords) translated; a `predicate`
    (os.path.exists ...) answers False for a refused path, as it does for any path the system refuses."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            if args:  # os.listdir() and os.scandir() may be called without a path
                args = (*[translate(a) for a in args[:count]], *args[count:])
            for key in _PATH_KEYWORDS:
                if key in kwargs:
                    kwargs[key] = translate(kwargs[key])
        except OSError:
            if predicate:
                return False
            raise
        return function(*args, **kwargs)

    return wrapper


class _MountedEntry:
    """An os.DirEntry of a mounted folder, its `path` the mounted one (`/Workspace/...`), not the disk's."""

    __slots__ = ("_entry", "path")

    def __init__(self, entry: os.DirEntry[str], path: str) -> None:
        self._entry = entry
        self.path = path

    @property
    def name(self) -> str:
        return self._entry.name

    def __getattr__(self, name: str) -> Any:  # is_dir, is_file, is_symlink, stat, inode
        return getattr(self._entry, name)

    def __fspath__(self) -> str:
        return self.path


class _MountedScandir:
    """os.scandir() of a mounted folder: its entries as _MountedEntry; a context manager as the original is."""

    def __init__(self, entries: Any, folder: str) -> None:
        self._entries = entries
        self._folder = folder

    def __iter__(self) -> _MountedScandir:
        return self

    def __next__(self) -> _MountedEntry:
        entry = next(self._entries)
        return _MountedEntry(entry, os.path.join(self._folder, entry.name))

    def __enter__(self) -> _MountedScandir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._entries.close()


def _mounted_scandir(scandir: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(scandir)
    def wrapper(path: Any = ".") -> Any:
        entries = scandir(path)  # already the translating wrapper
        folder = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
        if isinstance(folder, str) and translate(folder) is not folder:
            return _MountedScandir(entries, folder)
        return entries

    return wrapper


def _mounted_finder(entry: Any) -> importlib.machinery.FileFinder:
    """The import finder of a mounted sys.path entry; an ImportError for any other, which the next hook takes."""
    if not isinstance(entry, str) or translate(entry) is entry:
        raise ImportError(f"not a mounted path: {entry!r}")
    loaders = [
        (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
        (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES),
        (importlib.machinery.SourcelessFileLoader, importlib.machinery.BYTECODE_SUFFIXES),
    ]
    return importlib.machinery.FileFinder(translate(entry), *loaders)


def install() -> None:
    """Wrap the file functions; once per process, before the notebook runs."""
    replaced: dict[int, Callable[..., Any]] = {}  # id(original) -> wrapper

    def wrap(owner: Any, name: str, count: int, predicate: bool = False) -> None:
        original = getattr(owner, name, None)
        if original is not None:
            replaced[id(original)] = _mapping(original, count, predicate)
            setattr(owner, name, replaced[id(original)])

    wrap(io, "open", 1)
    builtins.open = io.open  # type: ignore[assignment]
    original_scandir = os.scandir
    for name in _ONE_PATH:
        wrap(os, name, 1)
    os.scandir = replaced[id(original_scandir)] = _mounted_scandir(os.scandir)  # type: ignore[assignment]
    for name in _TWO_PATHS:
        wrap(os, name, 2)
    for name in _OS_PATH:
        wrap(os.path, name, 1, predicate=True)
    # Code that asks whether os.stat supports dir_fd or follow_symlinks (shutil, pathlib) must get the same answer.
    for set_name in _SUPPORT_SETS:
        support = getattr(os, set_name, set())
        support.update([replaced[id(f)] for f in support if id(f) in replaced])
    # pathlib before 3.11 bound os functions to its accessor class when it was imported.
    accessor = getattr(sys.modules.get("pathlib"), "_NormalAccessor", None)
    for name, value in list(vars(accessor).items()) if accessor else []:
        if id(value) in replaced:
            setattr(accessor, name, staticmethod(replaced[id(value)]))
    sys.path_hooks.insert(0, _mounted_finder)
    sys.path_importer_cache.clear()
