"""Disk helpers shared by the file services: writes that never show half a file, and paths that stay in a root.

Notebooks run while clients upload files, so a reader must see either the old content or the new one, never a
truncated mix; and every client-supplied path must land inside the folder that backs its API.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from ..http.errors import invalid_parameter

TEMP_PREFIX = ".dbcicd-tmp-"


def atomic_write(target: Path, data: bytes) -> None:
    """Replace `target` with `data` in one step (write a sibling temporary file, then rename it over)."""
    temp = target.with_name(f"{TEMP_PREFIX}{secrets.token_hex(6)}-{target.name}")
    try:
        with temp.open("wb") as fh:
            fh.write(data)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def is_temporary(path: Path) -> bool:
    """Whether a disk entry is an in-flight `atomic_write` file (hidden from listings)."""
    return path.name.startswith(TEMP_PREFIX)


def confined(root: Path, segments: Sequence[str], shown: str, what: str = "path") -> Path:
    """`root/segment/...`, refusing segments that could leave the root (`..`, separators, NUL, symlinks out).

    `shown` is the path as the client wrote it, for the error message.
    """
    for segment in segments:
        if segment in ("", ".", "..") or "/" in segment or "\\" in segment or "\x00" in segment:
            raise invalid_parameter(
                f"Invalid {what} '{shown}': segments must be plain names ('.', '..' and empty segments are not allowed)"
            )
    disk = root.joinpath(*segments)
    if not disk.resolve().is_relative_to(root.resolve()):
        raise invalid_parameter(f"Invalid {what} '{shown}': it leads outside the storage root")
    return disk
