"""DBFS API 2.0 (read side): get-status, list and read over the DBFS root folder.

Notebooks write `dbfs:/...` files (e.g. test reports); clients read them back here. `dbfs:/x` and `/x` name the
same file, as in Databricks.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from ..http.errors import ApiError, invalid_parameter, not_found
from ..http.request import Request
from ..storage.disk import confined, is_temporary

MAX_READ_BYTES = 1024 * 1024
DEFAULT_READ_BYTES = 512 * 1024


class Dbfs:
    """The handlers of /api/2.0/dbfs/{get-status,list,read}."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def get_status(self, req: Request) -> dict[str, Any]:
        disk, path = self._existing(req)
        return _file_info(disk, path)

    def list(self, req: Request) -> dict[str, Any]:
        disk, path = self._existing(req)
        if not disk.is_dir():
            return {"files": [_file_info(disk, path)]}  # listing a file describes that file
        prefix = path.rstrip("/")
        files = [
            _file_info(child, f"{prefix}/{child.name}")
            for child in sorted(disk.iterdir(), key=lambda c: c.name)
            if not is_temporary(child)
        ]
        return {"files": files} if files else {}

    def read(self, req: Request) -> dict[str, Any]:
        disk, path = self._existing(req)
        offset = req.arg("offset", int, 0)
        # 0 is also what proto3 clients send for "not set", so it means the default length.
        length = req.arg("length", int, 0) or DEFAULT_READ_BYTES
        if disk.is_dir():
            raise invalid_parameter(f"Cannot read {path}: it is a directory")
        if offset < 0 or length < 0:
            raise invalid_parameter(f"offset and length must not be negative (got offset={offset}, length={length})")
        if length > MAX_READ_BYTES:
            raise ApiError(
                400,
                "MAX_READ_SIZE_EXCEEDED",
                f"Cannot read more than {MAX_READ_BYTES} bytes at once (length={length}); read in smaller pieces",
            )
        with disk.open("rb") as fh:
            fh.seek(offset)
            data = fh.read(length)
        return {"bytes_read": len(data), "data": base64.b64encode(data).decode()}

    def _existing(self, req: Request) -> tuple[Path, str]:
        raw = req.arg("path")
        path = raw.removeprefix("dbfs:")
        if not path.startswith("/"):
            raise invalid_parameter(f"Invalid path '{raw}': expected an absolute DBFS path, e.g. dbfs:/tmp/x or /tmp/x")
        segments = [s for s in path.split("/") if s]
        clean = "/" + "/".join(segments)
        disk = confined(self.root, segments, raw)
        if not disk.exists():
            raise not_found(f"No file or directory exists on path {clean}.")
        return disk, clean


def _file_info(disk: Path, path: str) -> dict[str, Any]:
    stat = disk.stat()
    is_dir = disk.is_dir()
    return {
        "path": path,
        "is_dir": is_dir,
        "file_size": 0 if is_dir else stat.st_size,
        "modification_time": int(stat.st_mtime * 1000),
    }
