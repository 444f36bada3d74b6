"""Databricks' absolute paths inside a notebook process: `/Workspace/...`, `/dbfs/...` and `/Volumes/...`.

On Databricks these are mounts; here they are folders of the local workspace. The file functions notebook code
reaches for — open(), os.*, and through them pathlib, shutil, glob — are wrapped to translate such paths;
every other path (relative ones included) is passed through untouched.
"""

from __future__ import annotations

import builtins
import functools
import io
import os
from collections.abc import Callable
from typing import Any

_mounts: list[tuple[str, str]] = []  # (prefix, disk folder), longest prefix first


def configure(workspace_root: str, dbfs_root: str, volumes_root: str) -> None:
    _mounts[:] = [("/Workspace", workspace_root), ("/Volumes", volumes_root), ("/dbfs", dbfs_root)]


def translate(path: Any) -> Any:
    """The disk path for a mounted path; anything else unchanged (bytes and PathLike included)."""
    if isinstance(path, os.PathLike):
        raw = os.fspath(path)
        mapped = translate(raw)
        return path if mapped is raw else mapped
    if isinstance(path, bytes):
        mapped = translate(os.fsdecode(path))
        return os.fsencode(mapped) if isinstance(mapped, str) and mapped != os.fsdecode(path) else path
    if not isinstance(path, str):
        return path
    if any(path.startswith(folder) for _, folder in _mounts):
        return path  # already a disk path (macOS mounts drives under /Volumes too)
    for prefix, folder in _mounts:
        if path == prefix or path.startswith(prefix + "/"):
            rest = path[len(prefix) :].lstrip("/")
            return os.path.join(folder, *rest.split("/")) if rest else folder
    return path


def _wrap_one(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if args:  # os.listdir() and os.scandir() may be called without a path
            args = (translate(args[0]), *args[1:])
        return function(*args, **kwargs)

    return wrapper


def _wrap_two(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(src: Any, dst: Any, *args: Any, **kwargs: Any) -> Any:
        return function(translate(src), translate(dst), *args, **kwargs)

    return wrapper


_ONE_PATH = (
    "open",
    "stat",
    "lstat",
    "listdir",
    "scandir",
    "mkdir",
    "remove",
    "unlink",
    "rmdir",
    "chdir",
    "access",
    "utime",
    "chmod",
    "truncate",
    "readlink",
)
_TWO_PATHS = ("rename", "replace", "link", "symlink")


def install() -> None:
    """Wrap the file functions once per process."""
    builtins.open = io.open = _wrap_one(io.open)  # type: ignore[assignment]
    for name in _ONE_PATH:
        if hasattr(os, name):
            setattr(os, name, _wrap_one(getattr(os, name)))
    for name in _TWO_PATHS:
        if hasattr(os, name):
            setattr(os, name, _wrap_two(getattr(os, name)))
