"""The workspace's folder is private to its user: it holds the server's token, the Git credentials clients stored,
the notebooks' files and their output, and whoever can write its notebooks runs code as that user."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def private_folder(folder: Path) -> Path:
    """Create `folder` readable, writable and enterable by its owner only (0700), or make an existing one so.

    Only the folder itself: what it holds is out of others' reach through it. On Windows, where modes do not govern
    access, the folder keeps the permissions it inherits."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix" and stat.S_IMODE(folder.stat().st_mode) & 0o077:
        folder.chmod(0o700)
    return folder
