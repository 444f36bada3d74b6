"""Tenants: isolated workspaces behind one server, each reached with its own bearer token.

A tenant has its own `LocalWorkspace` (its own root folder: Git folders, jobs, runs, DBFS, volumes), its own OAuth
service principal, fault rules and call counts, so tests sharing a server see neither each other's state nor each
other's faults and traffic. The server's first tenant, the default one, lives in the server's root and answers the
server's token; the others live under `<root>/tenants/`.

Tenants are test tooling, not a model of Databricks, where a host serves one workspace. Nothing the product relies on
depends on them: each tenant answers as a workspace of its own would.
"""

from __future__ import annotations

import hmac
import secrets
import shutil
import tempfile
import threading
from collections import Counter
from pathlib import Path

from ..services.oauth import OAuth, OAuthClient
from ..workspace import LocalWorkspace
from . import token_directory
from .faults import FaultInjector, FaultRule
from .router import Router
from .routes import build_router

DEFAULT_TENANT = "default"
TENANTS_FOLDER = "tenants"


def new_token() -> str:
    return "dapi-local-" + secrets.token_hex(16)


class Tenant:
    """One workspace of a server: what its bearer token reaches, and the record of the calls made with it."""

    def __init__(
        self,
        name: str,
        root: Path,
        host: str,
        token: str,
        oauth: OAuthClient,
        faults: list[FaultRule] | None = None,
        spark_remote: str = "",
    ) -> None:
        self.name = name
        self.root = root
        self.host = host
        self.token = token
        self.oauth = oauth
        self.workspace = LocalWorkspace(root, host=host, spark_remote=spark_remote)
        self.router: Router = build_router(self.workspace)
        self.faults = FaultInjector(faults)
        self.calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()

    def environment(self) -> dict[str, str]:
        """The variables a Databricks client needs to talk to this tenant."""
        return {"DATABRICKS_HOST": self.host, "DATABRICKS_TOKEN": self.token}

    def count(self, method: str, path: str) -> None:
        with self._calls_lock:
            self.calls[f"{method} {path}"] += 1

    def take_calls(self, reset: bool) -> dict[str, int]:
        """The call counts per endpoint, cleared when `reset`."""
        with self._calls_lock:
            snapshot = dict(self.calls)
            if reset:
                self.calls.clear()
        return snapshot

    def close(self) -> None:
        """Stop every active run of this tenant (killing its processes)."""
        self.workspace.close()


class Tenants:
    """The tenants of one server by token; thread-safe, as tests open and close tenants while requests arrive."""

    def __init__(
        self, root: Path, host: str, oauth: OAuth, token: str, faults: list[FaultRule], spark_remote: str = ""
    ) -> None:
        self._root = root
        self._spark_remote = spark_remote
        self._host = host
        self._oauth = oauth
        self._lock = threading.Lock()
        self.default = Tenant(DEFAULT_TENANT, root, host, token, oauth.register(token), faults, spark_remote)
        self._by_token: dict[str, Tenant] = {token: self.default}
        token_directory.register(token, host)

    def new(self) -> Tenant:
        """A tenant with a fresh token, client credentials and an empty root of its own."""
        folder = self._root / TENANTS_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="tenant-", dir=folder))  # never the folder of an earlier server's tenant
        token = new_token()
        tenant = Tenant(root.name, root, self._host, token, self._oauth.register(token), None, self._spark_remote)
        with self._lock:
            self._by_token[token] = tenant
        token_directory.register(token, self._host)
        return tenant

    def close(self, tenant: Tenant) -> None:
        """Retire a tenant made by `new()`: its token and credentials stop working, its runs stop, its root goes."""
        if tenant is self.default:
            raise ValueError("The default tenant lives as long as its server")
        with self._lock:
            if self._by_token.pop(tenant.token, None) is None:
                return
        token_directory.unregister(tenant.token)
        self._oauth.unregister(tenant.oauth)
        tenant.close()
        shutil.rmtree(tenant.root, ignore_errors=True)

    def close_all(self) -> None:
        with self._lock:
            others = [t for t in self._by_token.values() if t is not self.default]
        for tenant in others:
            self.close(tenant)
        token_directory.unregister(self.default.token)
        self.default.close()

    def by_authorization(self, header: str | None) -> Tenant | None:
        """The tenant whose token `Authorization: Bearer <token>` carries, or None."""
        scheme, _, token = (header or "").partition(" ")
        if scheme != "Bearer":
            return None
        with self._lock:
            candidates = list(self._by_token.items())
        # Compared in constant time, every token: a timing difference must not tell how much of a token was right.
        found = None
        for known, tenant in candidates:
            if hmac.compare_digest(token.encode(), known.encode()):
                found = tenant
        return found

    def by_token(self, token: str) -> Tenant | None:
        with self._lock:
            return self._by_token.get(token)
