"""Repos API 2.0 (Git folders): real git checkouts inside the workspace tree.

A clone is made in a staging folder and renamed into place only once it is complete, so the workspace never shows
half a Git folder and a failed clone leaves nothing behind. Operations on one Git folder are serialised by a lock
of its own; the service-wide lock only guards the registry and is never held while git runs, so a slow fetch in
one Git folder does not stall the others.

Where a Git folder is made decides its kind, as on Databricks since the Git CLI rollout: under /Repos a standard Git
folder (a REPO object, listed by repos/list); anywhere else (`/Users/<me>/...`, `/Shared/...`) a Git folder with Git
CLI access, which the workspace shows as a DIRECTORY with `directory_info.is_git_folder: true` and repos/list leaves
out (databricks-sdk `service/workspace.py`: `DirectoryInfo.is_git_folder`, and the deprecation note of `Repos.list`:
"repos with the Git CLI enabled are not included in its results"). databricks/cli's test server models the same
split (`isGitCliFolder` in libs/testserver/fake_workspace.go).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import secrets
import shutil
import threading
import time
from pathlib import Path, PurePosixPath
from typing import Any

from ..http.errors import ApiError, already_exists, invalid_parameter, not_found
from ..http.paging import decode_token, encode_token
from ..http.request import Request, typed_field
from ..storage import git
from ..storage.repo_registry import RepoRecord, RepoRegistry
from ..storage.workspace_fs import HIDDEN_NAMES, WorkspaceTree, normalize_path
from .git_providers import canonical_provider, guess_provider, repo_name_from_url

PAGE_SIZE = 20
REPOS_FOLDER = "Repos"
REGISTRY_FILE = "repos.json"
STAGING_FOLDER = "repo-staging"


class Repos:
    """The handlers of /api/2.0/repos, plus `delete_git_folders_under` for workspace/delete."""

    def __init__(self, tree: WorkspaceTree, state_root: Path, user_name: str) -> None:
        self.tree = tree
        self.user_name = user_name
        self._staging = state_root / STAGING_FOLDER
        shutil.rmtree(self._staging, ignore_errors=True)  # clones a previous process left half-made
        self._lock = threading.Lock()
        self._registry = RepoRegistry.load(state_root / REGISTRY_FILE)
        self._pending: set[str] = set()  # paths being cloned into right now
        self._repo_locks: dict[int, threading.Lock] = {}
        self.check_git_access = lambda url, provider: None  # set by LocalWorkspace: git_credentials.check_access
        self._restore()

    def _restore(self) -> None:
        """Re-register the Git folders of a previous run whose checkout is still on disk."""
        records = self._registry.records
        gone = [rid for rid, r in records.items() if not self.tree.disk_path(r.path).is_dir()]
        for rid in gone:
            del records[rid]
        for record in records.values():
            self.tree.mark_repo(record.path, record.id)
            self._repo_locks[record.id] = threading.Lock()
        if gone:
            self._registry.save()

    # --- handlers --------------------------------------------------------------------------------------------
    def create(self, req: Request) -> dict[str, Any]:
        url = req.field("url", str).strip()
        if not url:
            raise invalid_parameter("Missing required field: url")
        provider = self._provider(req.field("provider", str, ""), url)
        sparse = _sparse_patterns(req.json().get("sparse_checkout"))
        path = self._target_path(req.field("path", str, ""), url)
        self._reserve(path)
        try:
            return self._clone(path, url, provider, sparse, slow_by=req.take_work_delay()).info()
        finally:
            with self._lock:
                self._pending.discard(path)

    def get(self, req: Request) -> dict[str, Any]:
        repo_id = _repo_id(req)
        with self._lock:
            return self._require(repo_id).info()

    def list(self, req: Request) -> dict[str, Any]:
        prefix = _strip_workspace_prefix(req.arg("path_prefix", str, ""))
        if prefix in ("", "/"):
            prefix = f"/{REPOS_FOLDER}/"  # Databricks serves the /Repos folders when no real prefix is given
        after = decode_token(req.arg("next_page_token", str, ""), "next_page_token")
        with self._lock:
            matching = [
                r for r in self._registry.by_path() if not r.git_cli and r.path.startswith(prefix) and r.path > after
            ]
            page = [r.info() for r in matching[:PAGE_SIZE]]
        out: dict[str, Any] = {"repos": page} if page else {}
        if len(matching) > PAGE_SIZE:
            out["next_page_token"] = encode_token(page[-1]["path"])
        return out

    def update(self, req: Request) -> dict[str, Any]:
        repo_id = _repo_id(req)
        branch = req.field("branch", str, "").strip()
        tag = req.field("tag", str, "").strip()
        req.field("dangerously_force_discard_all", bool, False)  # type-checked only: updates here always discard
        sparse = _sparse_patterns(req.json().get("sparse_checkout"))
        if branch and tag:
            raise invalid_parameter("Only one of branch or tag can be given, not both")
        if not branch and not tag and sparse is None:
            raise invalid_parameter("Nothing to update: give a branch, a tag or sparse_checkout")
        with self._repo_lock(repo_id):
            with self._lock:
                record = self._require(repo_id)  # it may have been deleted while this call waited
            if sparse is not None and record.sparse_patterns is None:
                raise invalid_parameter(
                    f"Sparse checkout is not enabled for repo {repo_id}: it can only be chosen when the Git folder "
                    "is created"
                )
            checkout = self.tree.disk_path(record.path)
            if branch or tag:  # a fetch from the remote
                self.check_git_access(record.url, record.provider)
            try:
                if sparse is not None:
                    git.run_git("sparse-checkout", "set", "--cone", "--", *sparse, cwd=checkout)
                if branch:
                    git.checkout_branch(checkout, branch)
                elif tag:
                    git.checkout_tag(checkout, tag)
                head_branch, head = git.current_branch(checkout), git.head_commit(checkout)
            except git.GitError as err:
                raise invalid_parameter(str(err)) from None
            with self._lock:
                if sparse is not None:
                    record.sparse_patterns = sparse
                record.branch, record.head_commit_id = head_branch, head
                self._registry.save()
                return record.info()

    def delete(self, req: Request) -> dict[str, Any]:
        self._delete(_repo_id(req))
        return {}

    # --- used by the workspace API ------------------------------------------------------------------------------
    def is_git_cli_folder(self, path: str) -> bool:
        """Whether the Git folder rooted at `path` has Git CLI access (shown as a DIRECTORY, see the module)."""
        with self._lock:
            record = self._registry.find_path(normalize_path(path))
        return record is not None and record.git_cli

    def delete_git_folders_under(self, path: str) -> int:
        """Delete every Git folder at or below a workspace path (workspace/delete of a Git folder or its parent)."""
        clean = normalize_path(path)
        with self._lock:
            ids = [r.id for r in self._registry.records.values() if r.path == clean or r.path.startswith(clean + "/")]
        for repo_id in ids:
            with contextlib.suppress(ApiError):  # deleted by a concurrent call meanwhile
                self._delete(repo_id)
        return len(ids)

    # --- internals ----------------------------------------------------------------------------------------------
    def _provider(self, given: str, url: str) -> str:
        if given.strip():
            return canonical_provider(given)
        guessed = guess_provider(url)
        if guessed is None:
            raise invalid_parameter(
                f"Missing required field: provider (it cannot be inferred from the URL '{git.mask_credentials(url)}')"
            )
        return guessed

    def _target_path(self, given: str, url: str) -> str:
        if not given.strip():
            name = repo_name_from_url(url)
            if name is None:
                masked = git.mask_credentials(url)
                raise invalid_parameter(f"Cannot derive a folder name from url '{masked}': give a path")
            given = f"/{REPOS_FOLDER}/{self.user_name}/{name}"
        path = normalize_path(given, "path")
        parts = PurePosixPath(path).parts[1:]
        if HIDDEN_NAMES.intersection(parts):
            raise invalid_parameter(f"Invalid path '{path}': it names Git metadata")
        if parts[:1] == (REPOS_FOLDER,) and len(parts) != 3:
            raise invalid_parameter(
                f"Invalid path '{path}': a Git folder in /{REPOS_FOLDER} must be at "
                f"/{REPOS_FOLDER}/{{folder}}/{{repo-name}}"
            )
        if len(parts) < 2:
            raise invalid_parameter(f"Invalid path '{path}': a Git folder cannot be created at the top level")
        return path

    def _reserve(self, path: str) -> None:
        """Claim a free path whose parent folder exists, or raise the error Databricks gives."""
        with self._lock:
            containing = self.tree.repo_containing(path)
            if containing is not None and containing[0] != path:
                raise invalid_parameter(f"Invalid path '{path}': it is inside the Git folder {containing[0]}")
            if containing is not None or path in self._pending:
                raise already_exists(
                    f"Repo {path} already exists. If you would like to create two repos from the same remote Git "
                    "repo, rename the first repo before creating the second one."
                )
            if self.tree.locate(path) is not None:
                raise already_exists(f"Path ({path}) already exists.")
            parent = posixpath.dirname(path)
            if not self.tree.disk_path(parent).is_dir():
                raise not_found(f"Parent directory {parent} does not exist. Create it first with workspace/mkdirs.")
            self._pending.add(path)

    def _clone(self, path: str, url: str, provider: str, sparse: list[str] | None, slow_by: float = 0) -> RepoRecord:
        """Clone into staging, then move into place. `slow_by`: seconds a fault rule adds to the clone, which on
        Databricks happens before repos/create answers (databricks/cli da265cc5ae: a clone took ~64 s there)."""
        staging = self._staging / secrets.token_hex(8)
        try:
            self.check_git_access(url, provider)
            git.clone(url, staging, sparse)
            time.sleep(slow_by)
            branch, head = git.current_branch(staging), git.head_commit(staging)
            with self._lock:
                target = self.tree.disk_path(path)
                if self.tree.locate(path) is not None:
                    raise already_exists(f"Path ({path}) already exists.")  # created meanwhile by workspace/import
                os.replace(staging, target)
                record = RepoRecord(
                    id=self._registry.new_id(),
                    path=path,
                    url=git.mask_credentials(url),
                    provider=provider,
                    sparse_patterns=sparse,
                    branch=branch,
                    head_commit_id=head,
                    git_cli=PurePosixPath(path).parts[1:2] != (REPOS_FOLDER,),
                )
                self._registry.records[record.id] = record
                self._repo_locks[record.id] = threading.Lock()
                self.tree.mark_repo(path, record.id)
                self._registry.save()
                return record
        except git.GitError as err:
            raise invalid_parameter(f"Failed to clone repo: {err}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _delete(self, repo_id: int) -> None:
        with self._repo_lock(repo_id):
            with self._lock:
                record = self._registry.records.pop(repo_id, None)
                if record is None:
                    raise _repo_not_found()
                self._repo_locks.pop(repo_id, None)
                # Moved aside first, so the folder disappears from the workspace at once, not file by file.
                doomed = self._staging / f"deleted-{repo_id}"
                self._staging.mkdir(parents=True, exist_ok=True)
                os.replace(self.tree.disk_path(record.path), doomed)
                self.tree.unmark_repo(record.path)
                self._registry.save()
            shutil.rmtree(doomed, ignore_errors=True)

    def _require(self, repo_id: int) -> RepoRecord:
        record = self._registry.records.get(repo_id)
        if record is None:
            raise _repo_not_found()
        return record

    def _repo_lock(self, repo_id: int) -> threading.Lock:
        with self._lock:
            lock = self._repo_locks.get(repo_id)
        if lock is None:
            raise _repo_not_found()
        return lock


def _repo_not_found() -> ApiError:
    return not_found("Repo could not be found")


def _repo_id(req: Request) -> int:
    raw = req.params["repo_id"]
    if not raw.isdigit():
        raise invalid_parameter(f"Invalid repo_id '{raw}': expected a numeric Git folder id")
    return int(raw)


def _sparse_patterns(value: Any) -> list[str] | None:
    """`sparse_checkout.patterns` (cone patterns: folder paths), or None when sparse checkout is not asked for."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_parameter("Invalid value for field sparse_checkout: expected an object with 'patterns'")
    patterns = typed_field(value, "patterns", list, where="sparse_checkout.")
    if not patterns or not all(isinstance(p, str) and p.strip() for p in patterns):
        raise invalid_parameter("Invalid value for field sparse_checkout.patterns: expected folder names, e.g. ['src']")
    return [p.strip() for p in patterns]


def _strip_workspace_prefix(prefix: str) -> str:
    """`/Workspace/Repos/x` and `/Repos/x` name the same place."""
    if prefix == "/Workspace" or prefix.startswith("/Workspace/"):
        return prefix[len("/Workspace") :] or "/"
    return prefix
