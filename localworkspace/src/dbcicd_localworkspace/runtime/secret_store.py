"""The workspace's secret scopes on disk: one JSON file that the Secrets API writes and notebooks read.

Standard library only: the notebook kernel reads it on every `dbutils.secrets` call, so a secret put while a run is
going is seen by the next call, as on Databricks. The file is replaced atomically and readable by its owner only.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from typing import Any

FILE_NAME = "secrets.json"


def load(path: str) -> dict[str, Any]:
    """{scope name: {"backend_type", "acls": {principal: permission}, "secrets": {key: {"value", "updated"}}}};
    `value` is base64 of the secret's bytes, `updated` milliseconds since the epoch. No file: no scopes."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


def save(path: str, scopes: dict[str, Any]) -> None:
    temp = f"{path}.{secrets.token_hex(6)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(scopes, fh)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def value_bytes(entry: dict[str, Any]) -> bytes:
    return base64.b64decode(entry["value"])
