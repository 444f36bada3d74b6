"""Names of temporary Git folders: unique across concurrent builds and retries, and dated for `cleanup`.

`dbcicd-<repo>-b<build id>-a<job attempt>-<UTC yyyymmddThhmmssZ>-<6 random>` — the build and attempt say who made
it, the timestamp says when (so `cleanup` needs no other state), the random suffix separates two steps of the same
attempt started in the same second. `cleanup` only ever touches names that match this pattern.
"""

from __future__ import annotations

import re
import secrets
import string
from datetime import datetime, timezone

PREFIX = "dbcicd-"
_STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_NAME = re.compile(
    r"^dbcicd-(?P<repo>[a-z0-9][a-z0-9-]*)-b(?P<build>[a-z0-9]+)-a(?P<attempt>[0-9]+)"
    r"-(?P<stamp>[0-9]{8}T[0-9]{6}Z)-(?P<suffix>[a-z0-9]{6})$"
)
_ALPHABET = string.ascii_lowercase + string.digits


def _slug(text: str, limit: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].strip("-") or "repo"


def repo_name_from_url(url: str) -> str:
    """`https://host/org/my_repo.git` -> `my_repo` (the last path segment without `.git`)."""
    last = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return last[:-4] if last.endswith(".git") else last


def temporary_name(repo: str, build_id: str, job_attempt: str, now: datetime | None = None) -> str:
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    suffix = "".join(secrets.choice(_ALPHABET) for _ in range(6))
    build = re.sub(r"[^a-z0-9]", "", build_id.lower())[:20] or "local"
    attempt = job_attempt if job_attempt.isdigit() else "1"
    return f"{PREFIX}{_slug(repo, 40)}-b{build}-a{attempt}-{now.strftime(_STAMP_FORMAT)}-{suffix}"


def created_at(name: str) -> datetime | None:
    """When a temporary folder was made, from its name; None for names this tool did not make."""
    match = _NAME.match(name)
    if not match:
        return None
    try:
        return datetime.strptime(match["stamp"], _STAMP_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return None
