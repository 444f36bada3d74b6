"""DBFS API 2.0 over the DBFS root folder: get-status, list, read, and the writes pipelines make (put,
create/add-block/close, mkdirs, delete, move).

Notebooks write `dbfs:/...` files (e.g. test reports); clients read them back here, and upload libraries, init
scripts or data before a run. `dbfs:/x` and `/x` name the same file, as in Databricks. Limits, error codes and
semantics follow databricks-sdk 0.162 `service/files.py` (`DbfsAPI` docstrings, which are Databricks' REST reference)
and databricks/cli `libs/filer/dbfs_client.go` (what the backend answers in practice).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..http.errors import ApiError, already_exists, bad_request, invalid_parameter, not_found
from ..http.form_data import is_form_data, parse_form_data
from ..http.request import Request
from ..storage.disk import TEMP_PREFIX, atomic_write, confined, is_temporary

MAX_READ_BYTES = 1024 * 1024
DEFAULT_READ_BYTES = 512 * 1024
# DbfsAPI.add_block: "If the block of data exceeds 1 MB ... MAX_BLOCK_SIZE_EXCEEDED"; DbfsAPI.put: the inline
# `contents` "is limited to 1 MB", same code. A multipart upload is the streaming form and has no such limit.
MAX_BLOCK_BYTES = 1024 * 1024
# DbfsAPI.create: "There is a 10 minute idle timeout on this handle."
HANDLE_IDLE_SECONDS = 600
# The folders a workspace's DBFS root holds from the start (docs.databricks.com/dbfs/root-locations: "What are the
# root directories?"); /databricks/init is there only in "some workspaces" and is left out.
ROOT_FOLDERS = ("FileStore", "databricks-datasets", "databricks-results", "user/hive/warehouse")


@dataclass
class _Stream:
    """A file being written through create/add-block/close: blocks go to a hidden sibling until close."""

    disk: Path
    shown: str
    temp: Path
    touched: float = field(default_factory=time.monotonic)


class Dbfs:
    """The handlers of /api/2.0/dbfs/*."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for folder in ROOT_FOLDERS:
            (root / folder).mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._streams: dict[int, _Stream] = {}
        self._handles = itertools.count(int(time.time()) % 100_000 * 1000 + 1)

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

    # --- writes ------------------------------------------------------------------------------------------------
    def put(self, req: Request) -> dict[str, Any]:
        """One-call upload: base64 `contents` in JSON (at most 1 MB), or a multipart form with the file as the
        `contents` part ("Uploads a file through the use of multipart form post", DbfsAPI.put)."""
        content_type = req.headers.get("Content-Type", "")
        if is_form_data(content_type):
            form = parse_form_data(req.body, content_type)
            raw = form.get("path", b"").decode("utf-8", "replace")
            overwrite = form.get("overwrite", b"false").decode().strip().lower() == "true"
            data = form.get("contents", b"")
        else:
            raw = req.field("path", str)
            overwrite = req.field("overwrite", bool, False)
            data = _decode(req.field("contents", str, ""), "contents")
            if len(data) > MAX_BLOCK_BYTES:
                raise _block_too_big("contents", len(data))
        disk, shown = self._resolve(raw)
        self._check_writable(disk, shown, overwrite)
        _parents(disk, shown)  # put and create make missing parent folders (cli libs/filer/dbfs_client.go)
        atomic_write(disk, data)
        return {}

    def create(self, req: Request) -> dict[str, Any]:
        disk, shown = self._resolve(req.field("path", str))
        self._check_writable(disk, shown, req.field("overwrite", bool, False))
        _parents(disk, shown)
        temp = disk.with_name(f"{TEMP_PREFIX}stream-{disk.name}-{os.getpid()}-{time.monotonic_ns()}")
        temp.write_bytes(b"")
        with self._lock:
            self._expire()
            handle = next(self._handles)
            self._streams[handle] = _Stream(disk, shown, temp)
        return {"handle": handle}

    def add_block(self, req: Request) -> dict[str, Any]:
        handle = req.field("handle", int)
        data = _decode(req.field("data", str), "data")
        if len(data) > MAX_BLOCK_BYTES:
            raise _block_too_big("data", len(data))
        with self._lock:
            stream = self._stream(handle)
            if not stream.temp.exists():
                del self._streams[handle]
                raise not_found(f"The handle {handle} is gone: the folder of {stream.shown} was deleted")
            with stream.temp.open("ab") as fh:
                fh.write(data)
            stream.touched = time.monotonic()
        return {}

    def close(self, req: Request) -> dict[str, Any]:
        handle = req.field("handle", int)
        with self._lock:
            stream = self._stream(handle)
            del self._streams[handle]
        try:
            os.replace(stream.temp, stream.disk)
        except (FileNotFoundError, NotADirectoryError):
            # Its folder was deleted (or became a file) while the stream was open: nothing is left to close.
            stream.temp.unlink(missing_ok=True)
            raise not_found(f"Cannot close the handle {handle}: the folder of {stream.shown} is gone") from None
        return {}

    def mkdirs(self, req: Request) -> dict[str, Any]:
        """DbfsAPI.mkdirs: "If a file (not a directory) exists at any prefix of the input path, this call throws an
        exception with RESOURCE_ALREADY_EXISTS"."""
        disk, shown = self._resolve(req.field("path", str))
        _parents(disk, shown, include_self=True)
        return {}

    def delete(self, req: Request) -> dict[str, Any]:
        """A missing path is no error ("delete succeeds if the specified path doesn't exist", cli
        libs/filer/dbfs_client.go); a non-empty folder needs recursive=true, refused with the answer the backend gives
        today (400 BAD_REQUEST and this message, same file; DbfsAPI.delete's docstring still says IO_ERROR)."""
        disk, _ = self._resolve(req.field("path", str))
        recursive = req.field("recursive", bool, False)
        if disk == self.root:
            raise invalid_parameter("Cannot delete the DBFS root")
        if not disk.exists():
            return {}
        if not disk.is_dir():
            disk.unlink()
        elif recursive:
            shutil.rmtree(disk)
        elif any(not is_temporary(child) for child in disk.iterdir()):
            raise bad_request("Directory is not empty. Use recursive delete or remove contents first.")
        else:
            shutil.rmtree(disk)  # only in-flight temporaries left
        return {}

    def move(self, req: Request) -> dict[str, Any]:
        """DbfsAPI.move: a missing source is RESOURCE_DOES_NOT_EXIST, an existing destination RESOURCE_ALREADY_EXISTS,
        and a folder moves with everything in it."""
        source, source_shown = self._resolve(req.field("source_path", str))
        target, target_shown = self._resolve(req.field("destination_path", str))
        if not source.exists():
            raise not_found(f"No file or directory exists on path {source_shown}.")
        if target.exists():
            raise already_exists(f"A file or directory already exists at {target_shown}.")
        if target.resolve().is_relative_to(source.resolve()):
            raise invalid_parameter(f"Cannot move {source_shown} into itself ({target_shown})")
        _parents(target, target_shown)
        os.replace(source, target)
        return {}

    # --- helpers -------------------------------------------------------------------------------------------------
    def _check_writable(self, disk: Path, shown: str, overwrite: bool) -> None:
        if disk.is_dir():
            raise already_exists(f"A directory already exists at {shown}; a file cannot replace it.")
        if disk.exists() and not overwrite:
            raise already_exists(f"A file or directory already exists at {shown}.")

    def _stream(self, handle: int) -> _Stream:
        """The open stream of a handle (caller holds the lock); unknown, closed and expired handles are
        RESOURCE_DOES_NOT_EXIST (DbfsAPI.add_block, DbfsAPI.close)."""
        self._expire()
        stream = self._streams.get(handle)
        if stream is None:
            raise not_found(f"The handle {handle} does not exist: it was never opened, is closed, or expired")
        return stream

    def _expire(self) -> None:
        limit = time.monotonic() - HANDLE_IDLE_SECONDS
        for handle, stream in list(self._streams.items()):
            if stream.touched < limit:
                del self._streams[handle]
                stream.temp.unlink(missing_ok=True)

    def _resolve(self, raw: str) -> tuple[Path, str]:
        path = raw.removeprefix("dbfs:")
        if not path.startswith("/"):
            raise invalid_parameter(f"Invalid path '{raw}': expected an absolute DBFS path, e.g. dbfs:/tmp/x or /tmp/x")
        segments = [s for s in path.split("/") if s]
        return confined(self.root, segments, raw), "/" + "/".join(segments)

    def _existing(self, req: Request) -> tuple[Path, str]:
        disk, clean = self._resolve(req.arg("path"))
        if not disk.exists():
            raise not_found(f"No file or directory exists on path {clean}.")
        return disk, clean


def _decode(text: str, name: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise invalid_parameter(f"Invalid {name}: it must be base64-encoded") from None


def _block_too_big(name: str, size: int) -> ApiError:
    return ApiError(
        400,
        "MAX_BLOCK_SIZE_EXCEEDED",
        f"The {name} given is {size} bytes, more than the {MAX_BLOCK_BYTES} bytes allowed in one call; "
        "upload larger files with create, add-block and close",
    )


def _parents(disk: Path, shown: str, include_self: bool = False) -> None:
    """Make the folders leading to `disk` (and `disk` itself); a file on the way is RESOURCE_ALREADY_EXISTS."""
    try:
        (disk if include_self else disk.parent).mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise already_exists(f"A file exists on the way to {shown}; it cannot become a directory.") from None


def _file_info(disk: Path, path: str) -> dict[str, Any]:
    stat = disk.stat()
    is_dir = disk.is_dir()
    return {
        "path": path,
        "is_dir": is_dir,
        "file_size": 0 if is_dir else stat.st_size,
        "modification_time": int(stat.st_mtime * 1000),
    }
