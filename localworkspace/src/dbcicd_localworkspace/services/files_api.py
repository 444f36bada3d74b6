"""Files API 2.0 over Unity Catalog volumes: `/Volumes/<catalog>/<schema>/<volume>/...` mapped onto a folder.

Plain HTTP file semantics, as Databricks serves them: raw bytes in and out, metadata in response headers, `Range`
and `If-Unmodified-Since` on downloads. The SDK first asks for a presigned download URL; a workspace without
that feature answers 404 and the SDK falls back to `GET fs/files`, which is what happens here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ..http.errors import ApiError, endpoint_not_found, invalid_parameter
from ..http.paging import decode_token, encode_token
from ..http.request import Request, Response
from ..storage.disk import atomic_write, confined, is_temporary

OCTET_STREAM = "application/octet-stream"
LIST_PAGE_SIZE = 1000
# /Volumes/<catalog>/<schema>/<volume> is 4 segments; a file or a folder inside a volume needs at least one more.
VOLUME_SEGMENTS = 4
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class Files:
    """The handlers of /api/2.0/fs/files and /api/2.0/fs/directories. `volume_exists(catalog, schema, volume)`
    says whether a path's volume is one Unity Catalog knows (services/unity_catalog.py); without it any is."""

    def __init__(self, root: Path, volume_exists: Callable[[str, str, str], bool] | None = None) -> None:
        self.root = root
        self._volume_exists = volume_exists

    def create_download_url(self, req: Request) -> Any:
        raise endpoint_not_found(req.method, req.path)  # presigned URLs belong to cloud storage, not to this host

    def transfer_endpoints(self, req: Request) -> Any:
        """GET fs/endpoints, which databricks-sdk (0.167, mixins/files.py `_fetch_endpoints`) asks before a transfer:
        "until the server-side rollout completes, some workspaces do not serve the API" and answer 404, after which
        the SDK uses Files API 2.0 on the workspace host. The local workspace is such a workspace."""
        raise endpoint_not_found(req.method, req.path)

    # --- files ---------------------------------------------------------------------------------------------------
    def head(self, req: Request) -> Response:
        disk, _ = self._existing_file(req)
        stat = disk.stat()
        return Response(b"", 200, OCTET_STREAM, {"Content-Length": str(stat.st_size), **_file_headers(stat.st_mtime)})

    def download(self, req: Request) -> Response:
        disk, shown = self._existing_file(req)
        mtime = disk.stat().st_mtime
        _check_unmodified_since(req.headers.get("If-Unmodified-Since"), mtime, shown)
        data = disk.read_bytes()
        byte_range = _byte_range(req.headers.get("Range"), len(data))
        if byte_range is None:
            return Response(data, 200, OCTET_STREAM, _file_headers(mtime))
        start, end = byte_range
        headers = {**_file_headers(mtime), "Content-Range": f"bytes {start}-{end}/{len(data)}"}
        return Response(data[start : end + 1], 206, OCTET_STREAM, headers)

    def upload(self, req: Request) -> Response:
        disk, shown = self._volume_path(req, VOLUME_SEGMENTS + 1)
        overwrite = req.arg("overwrite", bool, True)
        if disk.is_dir():
            raise _already_exists(f"{shown} is a directory; a file cannot replace it")
        if disk.exists() and not overwrite:
            raise _already_exists(f"The file {shown} already exists; upload with overwrite=true to replace it")
        _make_folder(disk.parent, shown)
        atomic_write(disk, req.body)
        return Response(status=204)

    def delete(self, req: Request) -> Response:
        disk, _ = self._existing_file(req)
        disk.unlink()
        return Response(status=204)

    # --- directories ----------------------------------------------------------------------------------------------
    def directory_metadata(self, req: Request) -> Response:
        self._existing_directory(req, VOLUME_SEGMENTS)
        return Response(b"", 200)

    def list_directory(self, req: Request) -> dict[str, Any]:
        disk, shown = self._existing_directory(req, VOLUME_SEGMENTS)
        page_size = req.arg("page_size", int, LIST_PAGE_SIZE)
        page_size = LIST_PAGE_SIZE if page_size <= 0 else min(page_size, LIST_PAGE_SIZE)
        after = decode_token(req.arg("page_token", str, ""), "page_token")
        entries = sorted((c for c in disk.iterdir() if not is_temporary(c) and c.name > after), key=lambda c: c.name)
        page = entries[:page_size]
        out: dict[str, Any] = {"contents": [_entry(child, shown) for child in page]} if page else {}
        if len(entries) > page_size:
            out["next_page_token"] = encode_token(page[-1].name)
        return out

    def create_directory(self, req: Request) -> Response:
        disk, shown = self._volume_path(req, VOLUME_SEGMENTS + 1)
        _make_folder(disk, shown)
        return Response(status=204)

    def delete_directory(self, req: Request) -> Response:
        disk, shown = self._existing_directory(req, VOLUME_SEGMENTS + 1)
        if any(not is_temporary(child) for child in disk.iterdir()):
            # Guess: the Files API's own code for this case is not documented.
            raise ApiError(400, "FAILED_PRECONDITION", f"The directory {shown} is not empty: delete its contents first")
        disk.rmdir()
        return Response(status=204)

    # --- paths -------------------------------------------------------------------------------------------------
    def _volume_path(self, req: Request, minimum_segments: int) -> tuple[Path, str]:
        """(disk path, canonical path) of the URL's `/Volumes/...` path; 400 for anything outside a volume."""
        raw = req.params.get("path", "")
        segments = [unquote(s) for s in raw.removesuffix("/").split("/")[1:]]
        shown = "/" + "/".join(segments)
        if len(segments) < minimum_segments or segments[0] != "Volumes":
            where = "inside a volume" if minimum_segments > VOLUME_SEGMENTS else "a volume or a folder in one"
            raise invalid_parameter(
                f"Invalid path '{unquote(raw)}': the Files API expects {where}: "
                "/Volumes/<catalog>/<schema>/<volume>/<path>"
            )
        disk = confined(self.root, segments[1:], shown)
        catalog, schema, volume = segments[1:VOLUME_SEGMENTS]
        if self._volume_exists is not None and not self._volume_exists(catalog, schema, volume):
            # A path in a volume that does not exist: the wording is Unity Catalog's for a missing volume (see
            # unity_catalog.py); which status and code the Files API itself gives is not in the sources read.
            raise ApiError(404, "NOT_FOUND", f"Volume '{catalog}.{schema}.{volume}' does not exist.")
        return disk, shown

    def _existing_file(self, req: Request) -> tuple[Path, str]:
        disk, shown = self._volume_path(req, VOLUME_SEGMENTS + 1)
        if not disk.is_file():
            kind = "is a directory, not a file" if disk.is_dir() else "does not exist"
            raise ApiError(404, "NOT_FOUND", f"The file {shown} {kind}.")
        return disk, shown

    def _existing_directory(self, req: Request, minimum_segments: int) -> tuple[Path, str]:
        disk, shown = self._volume_path(req, minimum_segments)
        if not disk.is_dir():
            kind = "is a file, not a directory" if disk.exists() else "does not exist"
            raise ApiError(404, "NOT_FOUND", f"The directory {shown} {kind}.")
        return disk, shown


def _already_exists(message: str) -> ApiError:
    return ApiError(409, "ALREADY_EXISTS", message)


def _make_folder(disk: Path, shown: str) -> None:
    try:
        disk.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise _already_exists(f"A file is in the way of a directory of {shown}") from None


def _file_headers(mtime: float) -> dict[str, str]:
    return {"Last-Modified": formatdate(mtime, usegmt=True), "Accept-Ranges": "bytes"}


def _entry(child: Path, folder: str) -> dict[str, Any]:
    """A DirectoryEntry; folder paths end with '/' as the Files API writes them (a guess from its examples)."""
    if child.is_dir():
        return {"path": f"{folder}/{child.name}/", "is_directory": True, "name": child.name}
    stat = child.stat()
    return {
        "path": f"{folder}/{child.name}",
        "is_directory": False,
        "file_size": stat.st_size,
        "last_modified": int(stat.st_mtime * 1000),
        "name": child.name,
    }


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single `Range: bytes=...` request; None serves the whole file (RFC 9110 allows it
    for forms not understood); 416 when the range lies outside the file."""
    match = _RANGE.match((header or "").strip())
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        start, end = max(size - int(last), 0), size - 1  # suffix range: the last N bytes
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise ApiError(
            416,
            "INVALID_PARAMETER_VALUE",
            f"Range '{header}' is outside the file ({size} bytes)",
            {"Content-Range": f"bytes */{size}"},
        )
    return start, end


def _check_unmodified_since(header: str | None, mtime: float, shown: str) -> None:
    if not header:
        return
    try:
        limit = parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return  # an invalid date is ignored, as RFC 9110 asks
    if int(mtime) > limit:
        raise ApiError(412, "FAILED_PRECONDITION", f"The file {shown} was modified after {header}")
