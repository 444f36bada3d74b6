"""A job's permissions, as the Permissions API for jobs keeps them: GET, PUT (set) and PATCH (update) of
`/api/2.0/permissions/jobs/{job_id}` (docs.databricks.com/api/workspace/jobs/getpermissions, /setpermissions,
/updatepermissions; databricks-sdk JobsAPI.get_permissions, set_permissions, update_permissions). `databricks bundle
deploy` sets a job's `permissions:` through it: the direct engine's permissions resource calls Permissions.Set, the
PUT, with the object type and id of `/jobs/<job id>` (databricks/cli bundle/direct/dresources/permissions.go,
DoCreate and DoUpdate).

What is kept: the job's direct access control list, one level per user, group or service principal. "The job creator
has the IS OWNER permission by default" (docs.databricks.com/security/auth/access-control/jobs-acl), so a new job's
list holds its creator as owner. PUT "sets permissions on an object, replacing existing permissions if they exist"
and PATCH updates the principals it names (databricks-sdk JobsAPI docstrings).

Not settled by a public source, so chosen here and marked as such: a PUT that names no IS_OWNER keeps the current
owner (a job always has one, per the jobs-acl page, which only ever transfers ownership); the answer's `object_type`
is "job"; more than one owner is refused with an error of ours. Not modelled: permissions inherited from the
workspace (admins' CAN_MANAGE on every job), `display_name`, the checks of who may change permissions (the local
workspace's one user may), and whether the principals named exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..http.errors import invalid_parameter

# databricks-sdk jobs.JobPermissionLevel.
LEVELS = ("CAN_MANAGE", "CAN_MANAGE_RUN", "CAN_VIEW", "IS_OWNER")
OWNER = "IS_OWNER"
# databricks-sdk jobs.JobAccessControlRequest: each entry names one principal by one of these.
PRINCIPALS = ("user_name", "group_name", "service_principal_name")

Entry = dict[str, str]  # one principal field and `permission_level`
Change = Callable[[list[Entry], list[Entry]], list[Entry]]  # (current, given) -> new: `replaced` or `updated`


def owner_of_new_job(creator: str) -> list[Entry]:
    return [{"user_name": creator, "permission_level": OWNER}]


def parse_acl(body: dict[str, Any]) -> list[Entry]:
    """The request's `access_control_list`, each entry checked: one principal, a level jobs have."""
    given = body.get("access_control_list", [])
    if not isinstance(given, list):
        raise invalid_parameter("Invalid access_control_list: expected a list of access control entries")
    entries = []
    for index, item in enumerate(given):
        where = f"access_control_list[{index}]"
        if not isinstance(item, dict):
            raise invalid_parameter(f"Invalid {where}: expected an object")
        named = [p for p in PRINCIPALS if item.get(p)]
        if len(named) != 1 or not isinstance(item[named[0]], str):
            raise invalid_parameter(f"Invalid {where}: give exactly one of {', '.join(PRINCIPALS)}")
        level = item.get("permission_level")
        if level not in LEVELS:
            raise invalid_parameter(f"Invalid {where}.permission_level {level!r}: one of {', '.join(LEVELS)}")
        entries.append({named[0]: item[named[0]], "permission_level": level})
    return entries


def replaced(current: list[Entry], given: list[Entry]) -> list[Entry]:
    """PUT: the given list, with the current owner kept when it names none (see the module's docstring)."""
    if any(entry["permission_level"] == OWNER for entry in given):
        return _one_owner(given)
    return _one_owner([entry for entry in current if entry["permission_level"] == OWNER] + given)


def updated(current: list[Entry], given: list[Entry]) -> list[Entry]:
    """PATCH: each principal named takes its new level; the others keep theirs."""
    named = {_principal(entry) for entry in given}
    return _one_owner([entry for entry in current if _principal(entry) not in named] + given)


def as_json(job_id: int, entries: list[Entry]) -> dict[str, Any]:
    """databricks-sdk jobs.JobPermissions: `object_id` is `/jobs/<id>`, the form databricks/cli parses
    (dresources/permissions.go, parsePermissionsID)."""
    acl = []
    for entry in entries:
        (field, name), level = _principal(entry), entry["permission_level"]
        acl.append({field: name, "all_permissions": [{"permission_level": level, "inherited": False}]})
    return {"object_id": f"/jobs/{job_id}", "object_type": "job", "access_control_list": acl}


def _principal(entry: Entry) -> tuple[str, str]:
    field = next(p for p in PRINCIPALS if p in entry)
    return field, entry[field]


def _one_owner(entries: list[Entry]) -> list[Entry]:
    if sum(1 for entry in entries if entry["permission_level"] == OWNER) > 1:
        raise invalid_parameter("Invalid access_control_list: a job has exactly one IS_OWNER")
    return entries
