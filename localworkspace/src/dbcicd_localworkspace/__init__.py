"""The local workspace: an offline stand-in for the Databricks REST API.

Git folders are real git checkouts and notebooks run in subprocesses, so a client that works here does the same
work it would do against a real workspace.
"""

from __future__ import annotations

from .http.faults import FaultRule
from .http.server import LocalWorkspaceServer
from .http.tenants import Tenant
from .http.unrouted import UnroutedRequest
from .workspace import LocalWorkspace

__all__ = ["FaultRule", "LocalWorkspace", "LocalWorkspaceServer", "Tenant", "UnroutedRequest"]
