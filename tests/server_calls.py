"""When calls reach a local workspace: for tests that time what a task does, or act at a given moment of it."""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Iterator
from contextlib import contextmanager

from dbcicd_localworkspace import LocalWorkspaceServer, Tenant


@contextmanager
def arrivals(workspace: LocalWorkspaceServer | Tenant, route: str = "* *") -> Iterator[list[float]]:
    """The monotonic times at which calls matching `route` (`METHOD /path` with `*` wildcards) arrive at a tenant
    (a server: its default tenant), while active."""
    tenant = workspace.default_tenant if isinstance(workspace, LocalWorkspaceServer) else workspace
    times: list[float] = []
    original = tenant.count

    def count(method: str, path: str) -> None:
        if fnmatch.fnmatchcase(f"{method} {path}", route):
            times.append(time.monotonic())
        original(method, path)

    tenant.count = count  # type: ignore[method-assign]
    try:
        yield times
    finally:
        tenant.count = original  # type: ignore[method-assign]
