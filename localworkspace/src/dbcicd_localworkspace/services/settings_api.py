"""Workspace settings (Settings API 2.0): `disable_legacy_dbfs`, the setting that closes the DBFS root.

Served at `/api/2.0/settings/types/disable_legacy_dbfs/names/default` (GET, PATCH, DELETE), the paths and shapes
databricks-sdk's `DisableLegacyDbfsAPI` uses (service/settings.py), so an admin's script or Terraform
(`databricks_disable_legacy_dbfs_setting`) turns it on here as on a real workspace. Its effect, in that class's
docstring: "Access to DBFS root and DBFS mounts is disallowed". Databricks' page "Disable access to DBFS root and
mounts in your existing Databricks workspace" (docs.databricks.com/aws/en/dbfs/disable-dbfs-root-mounts) keeps the
reserved prefixes, `dbfs:/Volumes/` among them, outside what is disabled. What a task or an API call then meets is
runtime/dbfs.py's and `refuse_dbfs_root` below.

Not modelled: the etag's optimistic concurrency. The SDK sends whatever etag it was given and the answer carries a
new one; a real workspace may refuse a stale one (Terraform's generic setting retries a 409 RESOURCE_CONFLICT whose
details carry the fresh etag), which no public source records word for word. The setting is kept in the workspace's
state folder, so it survives a restart as a workspace's settings do.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..http.errors import ApiError, invalid_parameter
from ..http.request import Request
from ..runtime.dbfs import dbfs_root_refusal, in_dbfs_root
from ..storage.disk import atomic_write

SETTING = "disable_legacy_dbfs"
FIELD_MASKS = frozenset({f"{SETTING}.value", SETTING, "*"})
# The body fields of DBFS API 2.0 calls that name a path (dbfs/move names two); add-block and close name a handle.
DBFS_PATH_FIELDS = ("path", "source_path", "destination_path")


class WorkspaceSettings:
    """The workspace's settings, read by every task at its start and by the DBFS API on every call."""

    def __init__(self, state_file: Path) -> None:
        self._file = state_file
        self._lock = threading.Lock()
        saved = _load(state_file)
        self._dbfs_root_disabled = bool(saved.get(SETTING, False))
        self._version = int(saved.get("version", 0))

    @property
    def dbfs_root_disabled(self) -> bool:
        return self._dbfs_root_disabled

    # --- /api/2.0/settings/types/disable_legacy_dbfs/names/default -----------------------------------------------
    def get_disable_legacy_dbfs(self, req: Request) -> dict[str, Any]:
        with self._lock:
            return self._setting()

    def update_disable_legacy_dbfs(self, req: Request) -> dict[str, Any]:
        setting = req.field("setting", dict)
        mask = req.field("field_mask", str, "")
        if mask not in FIELD_MASKS:
            raise invalid_parameter(f"Invalid field_mask '{mask}': expected '{SETTING}.value'")
        value = setting.get(SETTING, {}).get("value") if isinstance(setting.get(SETTING), dict) else None
        if not isinstance(value, bool):
            raise invalid_parameter(f"Missing required field: setting.{SETTING}.value (true or false)")
        with self._lock:
            self._save(value)
            return self._setting()

    def delete_disable_legacy_dbfs(self, req: Request) -> dict[str, Any]:
        """Back to the default: the DBFS root open."""
        with self._lock:
            self._save(False)
            return {"etag": self._etag()}

    # --- the DBFS API's side of the setting ---------------------------------------------------------------------
    def refuse_dbfs_root(self, handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        """`handler` of a DBFS API route, refusing paths in the DBFS root while the setting is on."""

        def guarded(req: Request) -> Any:
            if self._dbfs_root_disabled:
                for path in _dbfs_paths(req):
                    if in_dbfs_root(path):
                        raise ApiError(403, "PERMISSION_DENIED", dbfs_root_refusal(path))
            return handler(req)

        return guarded

    # --- internals ----------------------------------------------------------------------------------------------
    def _setting(self) -> dict[str, Any]:
        return {SETTING: {"value": self._dbfs_root_disabled}, "etag": self._etag(), "setting_name": "default"}

    def _etag(self) -> str:
        return f"local-{self._version}"

    def _save(self, disabled: bool) -> None:
        self._dbfs_root_disabled = disabled
        self._version += 1
        atomic_write(self._file, json.dumps({SETTING: disabled, "version": self._version}).encode())


def _dbfs_paths(req: Request) -> list[str]:
    """The DBFS paths a DBFS API request names: its `path` query parameter, or its body's path fields."""
    if req.method == "GET":
        path = req.arg("path", str, "")
        return [path] if path else []
    body = req.json()
    return [body[name] for name in DBFS_PATH_FIELDS if isinstance(body.get(name), str)]


def _load(state_file: Path) -> dict[str, Any]:
    try:
        saved = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) else {}
