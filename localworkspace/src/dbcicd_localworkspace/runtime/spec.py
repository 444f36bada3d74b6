"""The run engine's instructions to one kernel process (spec.json), read and checked field by field.

A spec that does not match the contract is a bug in whoever wrote it, so the error names the field and the type it
must have rather than failing later somewhere inside the notebook.
"""

from __future__ import annotations

import json
import os
from typing import Any

KINDS = ("notebook", "python_file")
_PATHS = ("file", "cwd", "workspace_root", "dbfs_root", "volumes_root", "result_file")


class SpecError(ValueError):
    """spec.json is unreadable or a field has the wrong type."""


class KernelSpec:
    """What to run (`kind`, `file`, `workspace_path`, `parameters`, `argv`), where (`cwd`, `sys_path`, the folders
    behind /Workspace, /dbfs and /Volumes, the workspace's `secrets_file`) and where to report (`result_file`). Disk
    paths are absolute."""

    __slots__ = ("argv", "catalog_file", "cwd", "dbfs_root", "dbfs_root_disabled", "file", "kind", "libraries_root",
                 "parameters", "result_file", "secrets_file", "spark_maven", "spark_remote", "spark_server",
                 "spark_warehouse", "sys_path", "volumes_root", "workspace_path", "workspace_root")  # fmt: skip

    def __init__(self, fields: dict[str, Any]) -> None:
        kind = fields.get("kind")
        if kind not in KINDS:
            raise SpecError(f"spec.json: 'kind' must be one of {', '.join(KINDS)}, got {kind!r}")
        self.kind: str = kind
        for name in _PATHS:
            setattr(self, name, os.path.abspath(_string(fields, name)))
        self.workspace_path: str = _string(fields, "workspace_path")
        self.parameters: dict[str, str] = _string_map(fields, "parameters")
        self.argv: list[str] = _string_list(fields, "argv")
        self.sys_path: list[str] = [os.path.abspath(p) for p in _string_list(fields, "sys_path")]
        # Optional: without it the kernel runs everything but `%pip install`, which says the field is missing.
        self.libraries_root: str = _optional_path(fields, "libraries_root")
        # Optional: the workspace's disable_legacy_dbfs setting as the task started (runtime/dbfs.py).
        dbfs_root_disabled = fields.get("dbfs_root_disabled", False)
        if not isinstance(dbfs_root_disabled, bool):
            raise SpecError(f"spec.json: 'dbfs_root_disabled' must be true or false, got {dbfs_root_disabled!r}")
        self.dbfs_root_disabled: bool = dbfs_root_disabled
        # Optional: without it dbutils.secrets knows no scopes.
        self.secrets_file: str = _optional_path(fields, "secrets_file")
        # Optional, for `spark` (spark/notebook.py): the folder of the task's cluster's Spark server, or the
        # `sc://` address of a Spark Connect server the cluster is pointed at; the Spark warehouse holding the
        # tables; the Unity Catalog state naming the catalogs and schemas.
        self.spark_server: str = _optional_path(fields, "spark_server")
        self.spark_remote: str = _optional_string(fields, "spark_remote")
        self.spark_warehouse: str = _optional_path(fields, "spark_warehouse")
        self.catalog_file: str = _optional_path(fields, "catalog_file")
        # Optional: the task's Maven libraries its Spark server loads (spark/packages.py MavenLibraries.to_json).
        maven = fields.get("spark_maven") or {}
        if not isinstance(maven, dict):
            raise SpecError(f"spec.json: 'spark_maven' must be an object, got {maven!r}")
        self.spark_maven: dict[str, Any] = maven

    @classmethod
    def load(cls, path: str) -> KernelSpec:
        try:
            with open(path, encoding="utf-8") as fh:
                fields = json.load(fh)
        except (OSError, ValueError) as err:
            raise SpecError(f"cannot read the kernel spec {path}: {err}") from None
        if not isinstance(fields, dict):
            raise SpecError(f"{path} must hold a JSON object")
        return cls(fields)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}

    def for_notebook(self, file: str, workspace_path: str, parameters: dict[str, str], result_file: str) -> KernelSpec:
        """The spec of a notebook this one starts (dbutils.notebook.run): same folders behind the mounts; its own
        folder as working directory and first on sys.path, in place of this notebook's folder."""
        folder = os.path.dirname(file)
        inherited = [p for p in self.sys_path if p not in (os.path.dirname(self.file), folder)]
        return KernelSpec(
            {
                **self.to_json(),
                "kind": "notebook",
                "file": file,
                "workspace_path": workspace_path,
                "parameters": parameters,
                "argv": [],
                "cwd": folder,
                "sys_path": [folder, *inherited],
                "result_file": result_file,
            }
        )


def _string(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value:
        raise SpecError(f"spec.json: '{name}' must be a non-empty string, got {value!r}")
    return value


def _optional_string(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name, "")
    if not isinstance(value, str):
        raise SpecError(f"spec.json: '{name}' must be a string, got {value!r}")
    return value


def _optional_path(fields: dict[str, Any], name: str) -> str:
    value = _optional_string(fields, name)
    return os.path.abspath(value) if value else ""


def _string_list(fields: dict[str, Any], name: str) -> list[str]:
    value = fields.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"spec.json: '{name}' must be a list of strings, got {value!r}")
    return value


def _string_map(fields: dict[str, Any], name: str) -> dict[str, str]:
    value = fields.get(name, {})
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise SpecError(f"spec.json: '{name}' must be an object of string values, got {value!r}")
    return value
