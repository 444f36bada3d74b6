"""The record of requests no route answered.

Such a request still gets Databricks' answer for an unknown endpoint, which databricks-sdk raises as NotFound and
callers often read as "nothing there". Recorded, it cannot hide that a client called an endpoint the local workspace
does not model: the test suite fails every test that leaves one behind (tests/conftest.py).
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class UnroutedRequest:
    method: str
    path: str
    time: float  # seconds since the epoch
    tenant: str  # the name of the tenant whose token the request carried

    def describe(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class UnroutedLog:
    """Every unrouted request of one server, of all its tenants; thread-safe. It outlives the tenants, so a test
    can still be told about its own tenant's requests after that tenant is closed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[UnroutedRequest] = []

    def record(self, tenant: str, method: str, path: str) -> None:
        with self._lock:
            self._requests.append(UnroutedRequest(method, path, time.time(), tenant))

    def requests(self, tenant: str | None = None) -> list[UnroutedRequest]:
        """The requests recorded so far (of one tenant, or of all), oldest first."""
        with self._lock:
            return [r for r in self._requests if tenant is None or r.tenant == tenant]

    def drain(self, tenant: str | None = None) -> list[UnroutedRequest]:
        """The requests recorded so far (of one tenant, or of all), removed from the record."""
        taken: list[UnroutedRequest] = []
        kept: list[UnroutedRequest] = []
        with self._lock:
            for r in self._requests:
                (taken if tenant is None or r.tenant == tenant else kept).append(r)
            self._requests = kept
        return taken
