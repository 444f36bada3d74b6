"""The Git folder registry: which folders are Git folders, under which ids, kept in a JSON file across restarts.

Ids are int64 like Databricks' (16 digits, below 2**53 so JavaScript clients keep them exact), drawn at random
and never reused while the registry holds them. The file is rewritten atomically after every change, so a crash
leaves either the old registry or the new one.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .disk import atomic_write

REGISTRY_VERSION = 1
_MIN_ID = 10**15
_MAX_ID = 2**53 - 1


@dataclass
class RepoRecord:
    """One Git folder. `branch` is None on a detached HEAD; `head_commit_id` is None for an empty repository.

    `git_cli`: a Git folder with Git CLI access, what Databricks makes outside /Repos since the Git CLI rollout: the
    workspace shows it as a DIRECTORY with `directory_info.is_git_folder` (databricks-sdk, `ObjectInfo.directory_info`),
    repos/list leaves it out, and repos/get, update and delete serve it by its object id like any Git folder
    (databricks/cli 24aafba64c, #6181). Records saved before the field existed load as standard Git folders — as Git
    folders made before the rollout stay REPO objects."""

    id: int
    path: str
    url: str
    provider: str
    sparse_patterns: list[str] | None = None
    branch: str | None = None
    head_commit_id: str | None = None
    git_cli: bool = False

    def info(self) -> dict[str, Any]:
        """The RepoInfo shape of repos/get, repos/list and repos/create (absent fields are left out)."""
        out: dict[str, Any] = {"id": self.id, "path": self.path, "url": self.url, "provider": self.provider}
        if self.branch:
            out["branch"] = self.branch
        if self.head_commit_id:
            out["head_commit_id"] = self.head_commit_id
        if self.sparse_patterns is not None:
            out["sparse_checkout"] = {"patterns": list(self.sparse_patterns)}
        return out


@dataclass
class RepoRegistry:
    """The records by id, persisted to `file`. Not thread-safe: the Repos service serialises access."""

    file: Path
    records: dict[int, RepoRecord] = field(default_factory=dict)

    @classmethod
    def load(cls, file: Path) -> RepoRegistry:
        """The registry saved in `file` (empty when the file does not exist yet)."""
        registry = cls(file)
        if not file.exists():
            return registry
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            for item in data["repos"]:
                record = RepoRecord(**item)
                registry.records[record.id] = record
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise RuntimeError(
                f"The Git folder registry {file} is unreadable ({err}); fix or delete it to start without Git folders"
            ) from None
        return registry

    def save(self) -> None:
        data = {"version": REGISTRY_VERSION, "repos": [asdict(r) for r in self.by_path()]}
        atomic_write(self.file, json.dumps(data, indent=1).encode())

    def new_id(self) -> int:
        while True:
            candidate = _MIN_ID + secrets.randbelow(_MAX_ID - _MIN_ID)
            if candidate not in self.records:
                return candidate

    def find_path(self, path: str) -> RepoRecord | None:
        return next((r for r in self.records.values() if r.path == path), None)

    def by_path(self) -> list[RepoRecord]:
        return sorted(self.records.values(), key=lambda r: r.path)
