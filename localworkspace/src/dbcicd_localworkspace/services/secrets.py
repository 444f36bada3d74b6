"""Secrets API 2.0: Databricks-backed secret scopes, their secrets and ACLs, kept in the state folder.

Names, limits and error codes follow databricks-sdk 0.162 `service/workspace.py` (`SecretsAPI` docstrings: scope and
key names of letters, digits, '-', '_' and '.' up to 128 characters; values up to 128 KB; 1000 secrets per scope;
RESOURCE_ALREADY_EXISTS, RESOURCE_DOES_NOT_EXIST, INVALID_PARAMETER_VALUE, RESOURCE_LIMIT_EXCEEDED); messages and the
creator's MANAGE grant follow databricks/cli `libs/testserver/secret_scopes.go` and `secrets.go`. Notebooks read the
same store through dbutils.secrets (runtime/secrets.py), which redacts the values from their output.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..http.errors import ApiError, already_exists, invalid_parameter, not_found
from ..http.request import Request
from ..runtime import secret_store

NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
MAX_VALUE_BYTES = 128 * 1024
MAX_SECRETS_PER_SCOPE = 1000
PERMISSIONS = ("READ", "WRITE", "MANAGE")
BACKEND = "DATABRICKS"


class Secrets:
    """The handlers of /api/2.0/secrets/*; `file` is shared with the notebooks of the workspace."""

    def __init__(self, state_root: Path, user_name: str) -> None:
        self.file = state_root / secret_store.FILE_NAME
        self._user = user_name
        self._lock = threading.Lock()

    # --- scopes -------------------------------------------------------------------------------------------------
    def create_scope(self, req: Request) -> dict[str, Any]:
        scope = _name(req.field("scope", str), "scope")
        backend = req.field("scope_backend_type", str, BACKEND)
        if backend != BACKEND:
            # Azure Key Vault-backed scopes read their secrets from Key Vault, which the local workspace cannot reach.
            raise invalid_parameter(f"Invalid scope_backend_type {backend}: the local workspace has DATABRICKS scopes")
        manager = req.field("initial_manage_principal", str, "") or self._user

        def add(scopes: dict[str, Any]) -> None:
            if scope in scopes:
                raise already_exists(f"Scope {scope} already exists")
            scopes[scope] = {"backend_type": BACKEND, "acls": {manager: "MANAGE"}, "secrets": {}}

        return self._change(add)

    def list_scopes(self, req: Request) -> dict[str, Any]:
        scopes = secret_store.load(str(self.file))
        listed = [{"name": name, "backend_type": scopes[name]["backend_type"]} for name in sorted(scopes)]
        return {"scopes": listed} if listed else {}

    def delete_scope(self, req: Request) -> dict[str, Any]:
        scope = req.field("scope", str)

        def drop(scopes: dict[str, Any]) -> None:
            _scope(scopes, scope)
            del scopes[scope]

        return self._change(drop)

    # --- secrets ------------------------------------------------------------------------------------------------
    def put(self, req: Request) -> dict[str, Any]:
        """Exactly one of `string_value` (stored as its UTF-8 bytes) or `bytes_value` (base64); an existing key is
        overwritten."""
        scope = req.field("scope", str)
        key = _name(req.field("key", str), "key")
        given = [f for f in ("string_value", "bytes_value") if req.json().get(f) is not None]
        if len(given) != 1:
            raise invalid_parameter("Exactly one of string_value and bytes_value must be given")
        raw = req.field(given[0], str)
        if given[0] == "string_value":
            value = raw.encode("utf-8")
        else:
            try:
                value = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):
                raise invalid_parameter("bytes_value must be base64-encoded") from None
        if len(value) > MAX_VALUE_BYTES:
            raise invalid_parameter(f"The secret value is {len(value)} bytes; at most {MAX_VALUE_BYTES} are allowed")

        def store(scopes: dict[str, Any]) -> None:
            stored = _scope(scopes, scope)["secrets"]
            if key not in stored and len(stored) >= MAX_SECRETS_PER_SCOPE:
                raise ApiError(
                    400, "RESOURCE_LIMIT_EXCEEDED", f"Scope {scope} already holds {MAX_SECRETS_PER_SCOPE} secrets"
                )
            stored[key] = {"value": base64.b64encode(value).decode(), "updated": int(time.time() * 1000)}

        return self._change(store)

    def list(self, req: Request) -> dict[str, Any]:
        stored = _scope(secret_store.load(str(self.file)), req.arg("scope"))["secrets"]
        listed = [{"key": key, "last_updated_timestamp": stored[key]["updated"]} for key in sorted(stored)]
        return {"secrets": listed} if listed else {}

    def get(self, req: Request) -> dict[str, Any]:
        """The value, base64 (GetSecretResponse). SecretsAPI.get_secret refuses "normal users" outside notebooks with
        BAD_REQUEST; the local workspace's one user is served, as its permissions are not modelled."""
        scope, key = req.arg("scope"), req.arg("key")
        entry = _scope(secret_store.load(str(self.file)), scope)["secrets"].get(key)
        if entry is None:
            raise not_found(f"Secret {scope}/{key} not found")
        return {"key": key, "value": entry["value"]}

    def delete(self, req: Request) -> dict[str, Any]:
        scope, key = req.field("scope", str), req.field("key", str)

        def drop(scopes: dict[str, Any]) -> None:
            stored = _scope(scopes, scope)["secrets"]
            if key not in stored:
                raise not_found(f"Secret {scope}/{key} not found")
            del stored[key]

        return self._change(drop)

    # --- ACLs (recorded, not enforced: the local workspace has one user) ------------------------------------------
    def put_acl(self, req: Request) -> dict[str, Any]:
        scope, principal = req.field("scope", str), req.field("principal", str)
        permission = req.field("permission", str)
        if permission not in PERMISSIONS:
            raise invalid_parameter(f"Invalid permission {permission}: expected one of {', '.join(PERMISSIONS)}")

        def grant(scopes: dict[str, Any]) -> None:
            _scope(scopes, scope)["acls"][principal] = permission

        return self._change(grant)

    def list_acls(self, req: Request) -> dict[str, Any]:
        acls = _scope(secret_store.load(str(self.file)), req.arg("scope"))["acls"]
        return {"items": [{"principal": p, "permission": acls[p]} for p in sorted(acls)]}

    def get_acl(self, req: Request) -> dict[str, Any]:
        scope, principal = req.arg("scope"), req.arg("principal")
        acls = _scope(secret_store.load(str(self.file)), scope)["acls"]
        if principal not in acls:
            raise not_found(f"No ACL for principal {principal} in scope {scope}")
        return {"principal": principal, "permission": acls[principal]}

    def delete_acl(self, req: Request) -> dict[str, Any]:
        scope, principal = req.field("scope", str), req.field("principal", str)

        def drop(scopes: dict[str, Any]) -> None:
            acls = _scope(scopes, scope)["acls"]
            if principal not in acls:
                raise not_found(f"No ACL for principal {principal} in scope {scope}")
            del acls[principal]

        return self._change(drop)

    def _change(self, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Read the store, apply `change` (which may refuse by raising), write it back: one writer at a time."""
        with self._lock:
            scopes = secret_store.load(str(self.file))
            change(scopes)
            secret_store.save(str(self.file), scopes)
        return {}


def _name(value: str, what: str) -> str:
    if not NAME.fullmatch(value):
        raise invalid_parameter(
            f"Invalid {what} '{value}': use 1 to 128 letters, digits, dashes, underscores and periods"
        )
    return value


def _scope(scopes: dict[str, Any], scope: str) -> dict[str, Any]:
    found = scopes.get(scope)
    if found is None:
        raise not_found(f"Scope {scope} does not exist")
    return found
