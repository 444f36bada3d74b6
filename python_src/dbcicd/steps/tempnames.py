"""Names of temporary Git folders: unique across concurrent builds and retries, dated, and marked as dbcicd's.

`dbcicd-<repo>-b<build id>-a<job attempt>-<UTC yyyymmddThhmmssZ>-<6 random><6 mark>` — the build and attempt say who
made it, the timestamp says when (so `cleanup` needs no other state), the random part separates two steps of the
same attempt started in the same second, and the mark, a digest of everything before it, says dbcicd made the name.

Why the mark is in the name. `cleanup` must never delete a folder dbcicd did not make, and a name that merely looks
like ours (someone copying the pattern for a folder of their own) is not proof. The mark has to come with the folder
itself, in the same create call, because `cleanup` exists for the agent killed at any moment — also between creating a
folder and any second call that would mark it. What else the Repos and Workspace APIs could carry was weighed:
- a file written into the folder after creating it: a second call (a kill in between leaves an unmarked folder that
  `cleanup` would then keep for ever), an untracked change in the checkout the tests run in, and a file anyone can
  copy along with the folder's contents;
- the sparse-checkout patterns, the only free-form field `repos/create` stores: they change what is checked out
  (in cone mode a pattern list leaves out every folder not named);
- the branch, the URL, the provider: the user's, not ours to choose;
- who created it: `repos/get` does not say, and the identity dbcicd signs in as may make folders of its own.
The name is stored atomically with the folder, and its last six characters can only be right by computing them: a
hand-made name that matches the pattern is taken for ours by accident once in 2 billion. Folders named before the
mark existed (`...-<6 random>` only) are never deleted: delete them by hand.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from datetime import datetime, timezone

PREFIX = "dbcicd-"
_STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_NAME = re.compile(
    r"^(?P<body>dbcicd-(?P<repo>[a-z0-9][a-z0-9-]*)-b(?P<build>[a-z0-9]+)-a(?P<attempt>[0-9]+)"
    r"-(?P<stamp>[0-9]{8}T[0-9]{6}Z)-(?P<suffix>[a-z0-9]{6}))(?P<mark>[a-z0-9]{6})$"
)
_ALPHABET = string.ascii_lowercase + string.digits
_MARK_KEY = b"dbcicd temporary Git folder\x1f"


def _slug(text: str, limit: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].strip("-") or "repo"


def _mark(body: str) -> str:
    """Six base-36 characters digesting the rest of the name (36^6, about 2.2 billion, values)."""
    number = int.from_bytes(hashlib.sha256(_MARK_KEY + body.encode()).digest()[:8], "big")
    chars = []
    for _ in range(6):
        number, index = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[index])
    return "".join(chars)


def repo_name_from_url(url: str) -> str:
    """`https://host/org/my_repo.git` -> `my_repo` (the last path segment without `.git`)."""
    last = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return last[:-4] if last.endswith(".git") else last


def temporary_name(repo: str, build_id: str, job_attempt: str, now: datetime | None = None) -> str:
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    suffix = "".join(secrets.choice(_ALPHABET) for _ in range(6))
    build = re.sub(r"[^a-z0-9]", "", build_id.lower())[:20] or "local"
    attempt = job_attempt if job_attempt.isdigit() else "1"
    body = f"{PREFIX}{_slug(repo, 40)}-b{build}-a{attempt}-{now.strftime(_STAMP_FORMAT)}-{suffix}"
    return body + _mark(body)


def created_at(name: str) -> datetime | None:
    """When a temporary folder was made, from its name; None for names dbcicd did not make (no valid mark)."""
    match = _NAME.match(name)
    if not match or match["mark"] != _mark(match["body"]):
        return None
    try:
        return datetime.strptime(match["stamp"], _STAMP_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return None
