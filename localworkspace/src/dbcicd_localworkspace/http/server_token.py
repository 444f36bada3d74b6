"""The server's token (the default tenant's): kept under the root, so a restart with the same `--root` answers the
token clients already hold, as a workspace's personal access token outlives a browser session.

The file is readable by its owner only: it is the one credential of the workspace. `--token` (or
DBCICD_LOCAL_TOKEN) sets it, and the token given becomes the stored one.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .tenants import new_token

TOKEN_FILE = Path("state") / "server-token"


def server_token(root: Path, given: str | None) -> str:
    """`given` when set, else the token an earlier start stored under `root`, else a new one; stored either way."""
    file = root / TOKEN_FILE
    if not given:
        try:
            stored = file.read_text(encoding="utf-8").strip()
        except OSError:
            stored = ""
        if stored:
            return stored
    token = given or new_token()
    _store(file, token)
    return token


def _store(file: Path, token: str) -> None:
    """Write the token in one step, the file never readable by others (not even for a moment)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    partial = file.with_name(f".{file.name}.{secrets.token_hex(6)}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as fh:
            fh.write(token + "\n")
        os.replace(partial, file)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
