"""The local workspace's cache: what it keeps for Spark across workspace roots, as Ivy keeps its own cache.

`$XDG_CACHE_HOME/dbcicd-localworkspace` (`~/.cache/...` without it, the XDG Base Directory Specification's default,
specifications.freedesktop.org/basedir-spec/latest/), or `%LOCALAPPDATA%\\dbcicd-localworkspace` on Windows. It
holds the class path Spark's resolver found for a set of Maven packages (packages.py) and the JVM's class archives
(class_archive.py); deleting it is always safe, the next Spark server start builds again what it needs.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

NAME = "dbcicd-localworkspace"


def folder() -> Path | None:
    """The cache folder, made when missing; None when it cannot be (the caller then works without the cache)."""
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        base = Path(os.environ["LOCALAPPDATA"])
    else:
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"  # a relative one is to be ignored
    path = base / NAME
    with contextlib.suppress(OSError):
        path.mkdir(parents=True, exist_ok=True)
        return path
    return None
