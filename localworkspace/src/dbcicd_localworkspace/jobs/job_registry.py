"""The job registry: the jobs of the workspace, kept in a JSON file under the root so that they survive a restart,
as Git folders do (storage/repo_registry.py). Runs are not kept: a restart ends them, and their ids are gone.

The file is rewritten atomically after every change, so a crash leaves either the old registry or the new one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..storage.disk import atomic_write
from .permissions import owner_of_new_job

REGISTRY_VERSION = 1
JOBS_FILE = "jobs.json"  # in the workspace's state folder


@dataclass
class JobRecord:
    job_id: int
    creator: str
    created_ms: int
    settings: dict[str, Any]
    # The job's direct permissions (permissions.py); a registry written before they were kept has none: its jobs'
    # creators own them, as a new job's does.
    acl: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.acl:
            self.acl = owner_of_new_job(self.creator)


def load_jobs(file: Path) -> dict[int, JobRecord]:
    """The jobs saved in `file` by id (none when the file does not exist yet)."""
    if not file.exists():
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        records = [JobRecord(**item) for item in data["jobs"]]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise RuntimeError(
            f"The job registry {file} is unreadable ({err}); fix or delete it to start without jobs"
        ) from None
    return {record.job_id: record for record in records}


def save_jobs(file: Path, jobs: dict[int, JobRecord]) -> None:
    data = {"version": REGISTRY_VERSION, "jobs": [asdict(j) for j in sorted(jobs.values(), key=lambda j: j.job_id)]}
    atomic_write(file, json.dumps(data, indent=1).encode())
