"""Databricks Git folders (Repos API): ensure, switch, verify, and temporary ones that never outlive the step.

A Git folder is found by its path through the Workspace API, whatever kind it is: a standard Git folder is a REPO
object; one with Git CLI access — what Databricks makes outside /Repos since the Git CLI rollout — is a DIRECTORY whose
`directory_info.is_git_folder` is true (databricks-sdk `service/workspace.py`, `DirectoryInfo`). Both are served by the
Repos API under the object id that get-status answers; databricks/cli dropped its own `!= REPO` check for this
(24aafba64c, #6181: "the repos API is the authority on whether the target is a repo"), and reads a Git CLI folder's
branch, commit and URL from repos/get, as get-status does not carry them (235710e912, #6303).

Creating a Git folder clones before Databricks answers, and updating one checks out (pulls) first, so both get a
timeout sized for git rather than the SDK's 60 s: a real clone took ~64 s (databricks/cli da265cc5ae), and the
Databricks Terraform provider gives these calls 600 s (v1.130.0). A create whose answer is lost — timed out (as
databricks-sdk 0.167 leaves it), or re-sent after the timeout (as 0.162 does, `_BaseClient._is_retryable`) and told
its path is taken — waits for the folder its first attempt is still cloning.
"""

from __future__ import annotations

import contextlib
import functools
import posixpath
import time
from dataclasses import dataclass

import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError, NotFound, ResourceAlreadyExists
from databricks.sdk.service.workspace import ObjectInfo, ObjectType, SparseCheckout

from ..connect.apicalls import named_like, refused
from ..errors import ConfigurationError, RunFailed
from ..options.build import GitRef
from ..options.git import DEFAULT_CLONE_TIMEOUT_SECONDS, public_url, same_repository
from ..output import Output


@dataclass(frozen=True)
class GitFolder:
    """A Git folder as the Repos API describes it."""

    id: int
    path: str
    url: str
    branch: str | None
    head_commit: str | None

    @classmethod
    def from_sdk(cls, info: object) -> GitFolder:
        return cls(
            id=int(info.id),  # type: ignore[attr-defined]
            path=info.path or "",  # type: ignore[attr-defined]
            url=info.url or "",  # type: ignore[attr-defined]
            branch=info.branch or None,  # type: ignore[attr-defined]
            head_commit=info.head_commit_id or None,  # type: ignore[attr-defined]
        )


TEMP_FOLDER_NAME = "dbcicd-temp"
_POLL_SECONDS = (0.5, 5.0)  # first and longest pause while waiting for a folder a lost create is still cloning


def default_temp_parent(user_name: str) -> str:
    """The default `tempFolder`: a folder in the caller's own home, `/Users/<user name>/dbcicd-temp`. Every identity,
    a service principal too, has a home folder it manages; a top-level folder of /Repos (the old default, /Repos/ci)
    exists only once someone has made it and granted the principal access, and Git folders made outside /Repos are
    the kind Databricks makes from now on."""
    return f"/Users/{user_name}/{TEMP_FOLDER_NAME}"


def _plain_folder(status: ObjectInfo) -> bool:
    """A folder that says it is not a Git folder. A DIRECTORY without `directory_info` may still be one (the field is
    new), so only Repos API's answer settles that."""
    return status.directory_info is not None and status.directory_info.is_git_folder is False


class GitFolders:
    """Git folder operations through the SDK, with errors a pipeline user can act on. `clone_timeout`: seconds the
    calls that run git on the Databricks side (create, update) may take to answer."""

    def __init__(
        self,
        client: WorkspaceClient,
        output: Output,
        clone_timeout: float = DEFAULT_CLONE_TIMEOUT_SECONDS,
        timeout_setting: str = "input cloneTimeoutSeconds",
    ) -> None:
        self.client = client
        self.output = output
        self.clone_timeout = clone_timeout
        self.timeout_setting = timeout_setting

    @functools.cached_property
    def _git_client(self) -> WorkspaceClient:
        """The client for calls that clone or check out: same credentials and reach, `clone_timeout` to answer."""
        config = self.client.config.copy()
        config.http_timeout_seconds = self.clone_timeout
        return named_like(WorkspaceClient(config=config), self.client)

    def find(self, path: str) -> GitFolder | None:
        """The Git folder at `path` (of either kind, see the module), None if nothing is there; an error if something
        else is."""
        try:
            status = self.client.workspace.get_status(path)
        except NotFound:
            return None
        if status.object_type in (ObjectType.REPO, ObjectType.DIRECTORY) and not _plain_folder(status):
            try:
                return GitFolder.from_sdk(self.client.repos.get(int(status.object_id)))  # type: ignore[arg-type]
            except NotFound:
                if status.object_type == ObjectType.REPO:
                    raise
        kind = status.object_type.value.lower() if status.object_type else "object"
        raise ConfigurationError(f"{path} exists and is a {kind}, not a Git folder. Choose another repoPath.")

    def create(self, path: str, url: str, provider: str, sparse: list[str]) -> GitFolder:
        """Create a Git folder (its parent folder too); the clone happens on the Databricks side, before it answers.
        An answer that does not come within `clone_timeout` raises `requests.Timeout` (the clone may go on)."""
        self.client.workspace.mkdirs(posixpath.dirname(path))
        try:
            info = self._git_client.repos.create(
                url=public_url(url),
                provider=provider,
                path=path,
                sparse_checkout=SparseCheckout(patterns=sparse) if sparse else None,
            )
        except ResourceAlreadyExists:
            raise
        except DatabricksError as err:
            failed = f"Creating the Git folder {path} from {public_url(url)} failed: {err}"
            if refused(err):  # a 4xx: the URL, the provider, the path or the credentials; no folder was made
                raise ConfigurationError(
                    f"{failed}. The workspace clones the repository itself: check the Git URL and provider, and that "
                    "the workspace can reach the repository."
                ) from err
            raise RunFailed(failed) from err
        self.output.info(f"Created Git folder {path} (id {info.id}) from {public_url(url)}")
        return GitFolder.from_sdk(info)

    def ensure(self, path: str, url: str, provider: str, sparse: list[str], *, new_path: bool = False) -> GitFolder:
        """The Git folder at `path` for `url`: found, or created. Refuses a folder of another repository.

        `new_path`: nobody else uses `path` (a temporary folder's unique name), so it is not looked up first. A
        folder found there anyway was made by this very create: the SDK re-sent it after its answer was lost.
        """
        existing = None if new_path else self.find(path)
        if existing is None:
            try:
                return self.create(path, url, provider, sparse)
            except (ResourceAlreadyExists, requests.Timeout) as err:
                # Another build created it a moment ago, or this create's first attempt, still cloning, did.
                existing = self._await_folder(path, url, err)
        if not same_repository(existing.url, url):
            raise ConfigurationError(
                f"{path} is a Git folder of {existing.url}, not of {public_url(url)}. "
                "Use another repoPath, or delete that folder first."
            )
        return existing

    def _await_folder(self, path: str, url: str, lost: Exception) -> GitFolder:
        """The Git folder a create whose answer was lost makes: a clone under way shows nothing at `path` until it
        is complete, so look for it as long as a failing call is retried (the client's retry budget)."""
        if isinstance(lost, requests.Timeout):
            self.output.warning(
                f"Creating the Git folder {path} did not answer within {self.clone_timeout:g} s; waiting for the "
                "clone to finish"
            )
        budget = self.client.config.retry_timeout_seconds or DEFAULT_CLONE_TIMEOUT_SECONDS
        deadline = time.monotonic() + budget
        pause = _POLL_SECONDS[0]
        while True:
            found = self.find(path)
            if found is not None:
                return found
            if time.monotonic() + pause > deadline:
                break
            time.sleep(pause)
            pause = min(pause * 2, _POLL_SECONDS[1])
        if isinstance(lost, ResourceAlreadyExists):
            raise lost
        raise RunFailed(
            f"Creating the Git folder {path} from {public_url(url)} did not answer within {self.clone_timeout:g} s, "
            f"and the folder has not appeared {budget:g} s later. A large repository may need longer: raise "
            f"{self.timeout_setting}, or clone less with sparseCheckout. `cleanup` deletes the folder if it appears "
            "later."
        ) from lost

    def checkout(self, folder: GitFolder, ref: GitRef) -> GitFolder:
        """Switch to a branch (pulling its latest commit) or a tag (detached)."""
        try:
            self._git_client.repos.update(folder.id, **{ref.kind: ref.name})  # type: ignore[arg-type]
        except requests.Timeout as err:
            raise RunFailed(
                f"Checking out {ref} in {folder.path} did not answer within {self.clone_timeout:g} s: raise "
                f"{self.timeout_setting} for a repository this large"
            ) from err
        except DatabricksError as err:
            if not refused(err):  # the service failed, not the ref
                raise RunFailed(f"Cannot check out {ref} in {folder.path}: {err}") from err
            raise ConfigurationError(
                f"Cannot check out {ref} in {folder.path}: {err}. Check input '{ref.kind}' (by default the branch "
                f"being built) and that the {ref.kind} exists in {public_url(folder.url)}."
            ) from err
        # PATCH answers nothing in the SDK's model: read the folder back for its head commit.
        updated = GitFolder.from_sdk(self.client.repos.get(folder.id))
        head = (updated.head_commit or "?")[:12]
        self.output.info(f"{folder.path} is at {ref} ({head})")
        return updated

    @staticmethod
    def verify_head(folder: GitFolder, ref: GitRef, expected_commit: str, local: bool = False) -> None:
        """Fail when the folder's head is not the commit being built (the branch moved on since). `local`: the
        commit is a developer's (the CLI outside a pipeline), so there is no build to re-run: the remote has a commit
        the checkout has not fetched yet (the checkout's own unpushed commits are refused before this, by
        entry/localgit.py)."""
        if not expected_commit or not folder.head_commit:
            return
        if folder.head_commit.lower().startswith(expected_commit.lower()):
            return
        if local:
            advice = (
                f"{ref} has a newer commit on the remote than your checkout has seen. A Git folder can only follow a "
                "branch's latest commit: pull it (git pull) and run again, or run the exact commit with `run` "
                "without --repo-path."
            )
        else:
            advice = (
                f"{ref} has moved on since the build started. A Git folder can only follow a branch's latest commit; "
                "re-run the build for the newer commit, or run from the exact commit with `run` without repoPath."
            )
        raise RunFailed(
            f"The Git folder {folder.path} is at {folder.head_commit[:12]}, this build is {expected_commit[:12]}: "
            + advice
        )

    def delete(self, folder_id: int) -> None:
        with contextlib.suppress(NotFound):
            self.client.repos.delete(folder_id)

    def delete_at(self, path: str) -> bool:
        """Delete the Git folder at `path` if there is one (also when its creation was interrupted)."""
        try:
            folder = self.find(path)
        except ConfigurationError:
            self.output.warning(f"Left {path} in place: something else than a Git folder is there")
            return False
        if folder is None:
            return False
        self.delete(folder.id)
        return True
