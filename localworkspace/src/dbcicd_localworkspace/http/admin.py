"""Test-only endpoints outside /api, under `/__dbcicd/`: the fault rules, call counts, unrouted requests and private
Git remotes of the tenant whose token the request carries."""

from __future__ import annotations

from typing import Any

from .errors import ApiError, invalid_parameter
from .faults import FaultRule
from .request import Request
from .tenants import Tenant
from .unrouted import UnroutedLog

ADMIN_PREFIX = "/__dbcicd/"


def answer_admin(tenant: Tenant, unrouted: UnroutedLog, req: Request) -> Any:
    name = req.path[len(ADMIN_PREFIX) :].rstrip("/")
    if name == "faults":
        return _faults(tenant, req)
    if name == "calls" and req.method in ("GET", "DELETE"):
        return {"calls": tenant.take_calls(reset=req.method == "DELETE")}
    if name == "private-remotes" and req.method == "POST":  # cloning these needs a Git credential (git_credentials.py)
        tenant.workspace.git_credentials.mark_private(req.field("url", str), req.field("accepted_token", str, None))
        return {}
    if name == "unrouted" and req.method in ("GET", "DELETE"):
        taken = unrouted.drain(tenant.name) if req.method == "DELETE" else unrouted.requests(tenant.name)
        return {"requests": [r.describe() for r in taken]}
    raise _unknown(req)


def _faults(tenant: Tenant, req: Request) -> Any:
    if req.method == "GET":
        return {"rules": tenant.faults.describe()}
    if req.method == "DELETE":
        tenant.faults.replace([])
        return {}
    if req.method in ("POST", "PUT"):
        body = req.json()
        specs = body.get("rules", [body] if "route" in body else [])
        if not isinstance(specs, list):
            raise invalid_parameter("'rules' must be an array of fault rules")
        rules = [FaultRule.parse(spec) for spec in specs]
        (tenant.faults.replace if req.method == "PUT" else tenant.faults.add)(rules)
        return {"rules": tenant.faults.describe()}
    raise _unknown(req)


def _unknown(req: Request) -> ApiError:
    return ApiError(404, "ENDPOINT_NOT_FOUND", f"No admin endpoint '{req.method} {req.path}'")
