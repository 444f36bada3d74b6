"""`dbutils` for local notebooks: widgets, notebook.exit/run, and fs over the local workspace's folders.

Names, signatures and errors follow Databricks' dbutils so notebook code runs unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import paths


class NotebookExit(BaseException):
    """dbutils.notebook.exit(): ends the notebook successfully (a BaseException so `except Exception` keeps out)."""

    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


class InputWidgetNotDefined(Exception):
    """What Databricks raises for dbutils.widgets.get() of an unknown widget (named as its JVM class is)."""


InputWidgetNotDefined.__module__ = "com.databricks.dbutils_v1"


class NotebookRunFailed(Exception):
    """A notebook started by dbutils.notebook.run() failed or timed out."""


class FileInfo(NamedTuple):
    path: str
    name: str
    size: int
    modificationTime: int


class Widgets:
    def __init__(self, parameters: Mapping[str, str]) -> None:
        self._parameters = dict(parameters)
        self._defaults: dict[str, str] = {}

    def get(self, name: str) -> str:
        if name in self._parameters:
            return self._parameters[name]
        if name in self._defaults:
            return self._defaults[name]
        raise InputWidgetNotDefined(f"No input widget named {name} is defined")

    def getArgument(self, name: str, defaultValue: str | None = None) -> str | None:
        try:
            return self.get(name)
        except InputWidgetNotDefined:
            return defaultValue

    def getAll(self) -> dict[str, str]:
        return {**self._defaults, **self._parameters}

    def text(self, name: str, defaultValue: str = "", label: str | None = None) -> None:
        self._defaults[name] = str(defaultValue)

    def dropdown(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:
        if defaultValue not in choices:
            raise ValueError(f"Default value {defaultValue} is not in the list of choices for widget {name}")
        self._defaults[name] = str(defaultValue)

    combobox = dropdown

    def multiselect(self, name: str, defaultValue: str, choices: list[str], label: str | None = None) -> None:
        self.dropdown(name, defaultValue, choices, label)

    def remove(self, name: str) -> None:
        self._defaults.pop(name, None)

    def removeAll(self) -> None:
        self._defaults.clear()


class Fs:
    """dbutils.fs: `dbfs:/x` and bare `/x` are DBFS; `file:/x` the local disk; `/Volumes/...` and `/Workspace/...`
    the local workspace's folders."""

    def __init__(self, dbfs_root: str) -> None:
        self._dbfs_root = dbfs_root

    def _disk(self, path: str) -> str:
        if path.startswith("file:"):
            return paths.translate(path[len("file:") :] or "/")
        if path.startswith("dbfs:"):
            path = path[len("dbfs:") :]
        if path.startswith(("/Volumes/", "/Workspace/")) or path in ("/Volumes", "/Workspace"):
            return paths.translate(path)
        if ".." in path.split("/"):
            raise ValueError(f"'..' is not allowed in DBFS paths: {path}")
        return os.path.join(self._dbfs_root, *[p for p in path.split("/") if p])

    def _info(self, path: str, disk: str) -> FileInfo:
        stat = os.stat(disk)
        is_dir = os.path.isdir(disk)
        name = os.path.basename(disk.rstrip(os.sep)) + ("/" if is_dir else "")
        shown = path.rstrip("/") + ("/" if is_dir else "")
        if not shown.startswith(("dbfs:", "file:", "/Volumes", "/Workspace")):
            shown = "dbfs:" + shown
        return FileInfo(shown, name, 0 if is_dir else stat.st_size, int(stat.st_mtime * 1000))

    def ls(self, path: str) -> list[FileInfo]:
        disk = self._disk(path)
        if not os.path.exists(disk):
            raise FileNotFoundError(f"java.io.FileNotFoundException: File {path} does not exist.")
        if not os.path.isdir(disk):
            return [self._info(path, disk)]
        return [
            self._info(path.rstrip("/") + "/" + name, os.path.join(disk, name)) for name in sorted(os.listdir(disk))
        ]

    def mkdirs(self, path: str) -> bool:
        os.makedirs(self._disk(path), exist_ok=True)
        return True

    def put(self, file: str, contents: str, overwrite: bool = False) -> bool:
        disk = self._disk(file)
        if os.path.exists(disk) and not overwrite:
            raise FileExistsError(f"File {file} already exists. Use overwrite=True to replace it.")
        os.makedirs(os.path.dirname(disk), exist_ok=True)
        with open(disk, "w", encoding="utf-8") as fh:
            fh.write(contents)
        return True

    def head(self, file: str, maxBytes: int = 65536) -> str:
        with open(self._disk(file), "rb") as fh:
            return fh.read(maxBytes).decode("utf-8", "replace")

    def cp(self, from_: str, to: str, recurse: bool = False) -> bool:
        src, dst = self._disk(from_), self._disk(to)
        if os.path.isdir(src):
            if not recurse:
                raise IsADirectoryError(f"{from_} is a directory; use recurse=True")
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(src, dst)
        return True

    def mv(self, from_: str, to: str, recurse: bool = False) -> bool:
        src, dst = self._disk(from_), self._disk(to)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.move(src, dst)
        return True

    def rm(self, dir: str, recurse: bool = False) -> bool:
        disk = self._disk(dir)
        if not os.path.exists(disk):
            return False
        if os.path.isdir(disk):
            if not recurse and os.listdir(disk):
                raise OSError(f"{dir} is a non-empty directory; use recurse=True")
            shutil.rmtree(disk)
        else:
            os.remove(disk)
        return True


class Notebook:
    def __init__(self, resolve: Callable[[str], tuple[Path, str]], child_spec: Callable[..., dict[str, Any]]) -> None:
        self._resolve = resolve
        self._child_spec = child_spec

    def exit(self, value: Any) -> None:
        raise NotebookExit("" if value is None else str(value))

    def run(self, path: str, timeout_seconds: int = 0, arguments: Mapping[str, Any] | None = None) -> str:
        """Run another notebook in a process of its own and return its exit value."""
        file, workspace_path = self._resolve(path)
        with tempfile.TemporaryDirectory(prefix="dbcicd-notebook-run-") as tmp:
            spec = self._child_spec(file, workspace_path, {k: str(v) for k, v in (arguments or {}).items()})
            spec["result_file"] = os.path.join(tmp, "result.json")
            spec_file = os.path.join(tmp, "spec.json")
            with open(spec_file, "w", encoding="utf-8") as fh:
                json.dump(spec, fh)
            child = subprocess.Popen(
                [sys.executable, os.path.join(os.path.dirname(__file__), "kernel.py"), spec_file], cwd=spec["cwd"]
            )
            try:
                code = child.wait(timeout=timeout_seconds or None)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
                raise NotebookRunFailed(f"Notebook {path} timed out after {timeout_seconds} seconds") from None
            try:
                with open(spec["result_file"], encoding="utf-8") as fh:
                    result = json.load(fh)
            except (OSError, ValueError):
                result = {"error": f"exited with code {code}"}
        if code != 0:
            raise NotebookRunFailed(f"Notebook {path} failed: {result.get('error') or 'no error recorded'}")
        return result.get("exit_value") or ""


class DBUtils:
    def __init__(self, widgets: Widgets, fs: Fs, notebook: Notebook) -> None:
        self.widgets = widgets
        self.fs = fs
        self.notebook = notebook

    def help(self) -> None:
        print(
            "Local dbutils: widgets (get, text, dropdown, combobox, multiselect, getAll, getArgument, remove, "
            "removeAll), notebook (exit, run), fs (ls, cp, mv, put, head, mkdirs, rm)"
        )
