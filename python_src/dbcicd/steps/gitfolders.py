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
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError, NotFound, ResourceAlreadyExists
from databricks.sdk.service.workspace import ObjectInfo, ObjectType, SparseCheckout

from ..connect.apicalls import named_like, refused
from ..errors import ConfigurationError, RunFailed
from ..options.build import GitRef
from ..output import Output

# Host -> Repos API provider, as the Databricks Terraform provider guesses it.
_PROVIDERS_BY_HOST = {
    "github.com": "gitHub",
    "dev.azure.com": "azureDevOpsServices",
    "gitlab.com": "gitLab",
    "bitbucket.org": "bitbucketCloud",
}
PROVIDERS = (
    "gitHub",
    "gitHubEnterprise",
    "bitbucketCloud",
    "bitbucketServer",
    "gitLab",
    "gitLabEnterpriseEdition",
    "azureDevOpsServices",
    "awsCodeCommit",
)


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


def public_url(url: str) -> str:
    """The URL without credentials: `https://user:token@host/x` -> `https://host/x` (never sent to Databricks)."""
    parts = urlsplit(url.strip())
    if parts.scheme in ("http", "https") and "@" in parts.netloc:
        parts = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1])
    return urlunsplit(parts)


def is_local(url: str) -> bool:
    """A repository on this machine's file system: a `file://` URL or a path (what `git clone /srv/x.git` leaves as
    origin). Only a local workspace can clone it; a Databricks workspace cannot reach this machine's disk."""
    url = url.strip()
    if url.lower().startswith("file://") or re.match(r"^[A-Za-z]:[\\/]", url):  # a URL, a Windows drive path
        return True
    return url.startswith(("/", "./", "../")) and "://" not in url


# `git@github.com:org/repo.git` (scp-like, as git documents it: no scheme, a colon before the first slash) and
# `ssh://git@host[:port]/path`.
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/\s]+)@)?(?P<host>[^:/\s]+):(?P<path>[^/].*)$")
_SSH_SCHEMES = ("ssh", "git+ssh", "ssh+git")
# SSH host -> HTTPS clone URL of the same repository, for the hosted services whose two URLs are documented to name
# one repository: GitHub, GitLab and Bitbucket serve `org/repo` under both; Azure Repos' SSH `v3/org/project/repo`
# is `https://dev.azure.com/org/project/_git/repo` (Microsoft, "Use SSH key authentication" for Azure Repos).
_HTTPS_FOR_SSH_HOST = {
    "github.com": "https://github.com/{path}",
    "ssh.github.com": "https://github.com/{path}",  # GitHub's SSH over port 443
    "gitlab.com": "https://gitlab.com/{path}",
    "bitbucket.org": "https://bitbucket.org/{path}",
}
_AZURE_SSH_HOSTS = ("ssh.dev.azure.com", "vs-ssh.visualstudio.com")


def _ssh_parts(url: str) -> tuple[str, str] | None:
    """(host, path) of an SSH Git URL in either form, None for any other URL."""
    url = url.strip()
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme.lower() not in _SSH_SCHEMES:
            return None
        return (parts.hostname or "").lower(), parts.path.lstrip("/")
    if is_local(url):
        return None
    scp = _SCP_LIKE.match(url)
    return (scp["host"].lower(), scp["path"]) if scp else None


def https_url(url: str, what: str = "gitUrl") -> tuple[str, str]:
    """The URL a Git folder can clone, and a note for the log when it was rewritten ('' otherwise).

    Databricks Git folders authenticate to the Git provider with a personal access token or OAuth (docs.databricks.com,
    "Set up Databricks Git folders"), i.e. over HTTPS: an SSH origin — what a developer's clone usually has — cannot be
    cloned. For github.com, gitlab.com, bitbucket.org and Azure Repos the HTTPS URL of the same repository follows
    from the SSH one, so it is used instead, saying so; for any other host (a self-hosted server may serve SSH and
    HTTPS under different paths or ports) guessing is not safe, so the error asks for the HTTPS URL. `what` names the
    input in errors."""
    ssh = _ssh_parts(url)
    if ssh is None:
        return url.strip(), ""
    host, path = ssh
    rewritten = ""
    if host in _HTTPS_FOR_SSH_HOST and path:
        rewritten = _HTTPS_FOR_SSH_HOST[host].format(path=path)
    elif host in _AZURE_SSH_HOSTS:
        azure = re.fullmatch(r"v3/([^/]+)/([^/]+)/([^/]+?)(?:\.git)?/?", path)
        if azure:
            rewritten = "https://dev.azure.com/{}/{}/_git/{}".format(*azure.groups())
    if not rewritten:
        raise ConfigurationError(
            f"{what} '{url.strip()}' is an SSH URL, and Databricks Git folders clone over HTTPS only (they sign in to "
            f"the Git provider with a token, not an SSH key). Set {what} to the repository's HTTPS clone URL "
            f"(https://{host}/..., as the server shows it under Clone)"
        )
    return rewritten, f"Using {rewritten} for the SSH URL {url.strip()}: Databricks Git folders clone over HTTPS only"


def same_repository(a: str, b: str) -> bool:
    """Whether two Git URLs name the same repository (case, credentials, `.git`, slashes, and the SSH form of a
    hosted service's HTTPS URL aside)."""

    def key(url: str) -> str:
        with contextlib.suppress(ConfigurationError):  # an SSH URL of another host is compared as it is written
            url = https_url(url)[0]
        url = public_url(url).rstrip("/")
        url = url[:-4] if url.endswith(".git") else url
        parts = urlsplit(url)
        return urlunsplit(parts._replace(netloc=parts.netloc.lower(), scheme=parts.scheme.lower()))

    return key(a) == key(b)


# The provider sent for a local repository. Databricks cannot clone one at all; the local workspace clones any URL git
# can reach and accepts any provider for it (it checks the name, guessing nothing for a path), so the value only has
# to be a valid name. gitHub is the one the examples use.
LOCAL_PROVIDER = "gitHub"


def provider_for(url: str, explicit: str = "", what: str = "gitProvider") -> str:
    """The Repos API provider: the `gitProvider` input (any casing), else guessed from the URL's host, else for a
    local repository (`file://`, a path) `LOCAL_PROVIDER`. `what` names the input in errors (its CLI flag on the
    command line)."""
    if explicit:
        for name in PROVIDERS:
            if name.lower() == explicit.strip().lower():
                return name
        raise ConfigurationError(f"{what} '{explicit}' is not a Git provider Databricks knows: {', '.join(PROVIDERS)}")
    if is_local(url):
        return LOCAL_PROVIDER
    host = (urlsplit(url).hostname or "").lower()
    if host.endswith(".visualstudio.com"):
        return "azureDevOpsServices"
    if host in _PROVIDERS_BY_HOST:
        return _PROVIDERS_BY_HOST[host]
    raise ConfigurationError(
        f"Cannot tell the Git provider of '{public_url(url)}'. Set {what} to one of: " + ", ".join(PROVIDERS)
    )


def _workspace_path(path: str, what: str, example: str) -> list[str]:
    """The parts of an absolute workspace path without `..`; the `/Workspace` prefix notebooks see is accepted."""
    path = path.strip().rstrip("/")
    if path == "/Workspace" or path.startswith("/Workspace/"):
        path = path[len("/Workspace") :]
    parts = path.split("/")
    if not path.startswith("/") or any(p in ("", ".", "..") for p in parts[1:]):
        raise ConfigurationError(
            f"{what} '{path}' must be an absolute workspace path without '.' or '..' parts, such as {example}"
        )
    return parts


def check_folder_path(path: str, what: str = "repoPath") -> str:
    """A Git folder path Databricks accepts: absolute, no `..`, and under /Repos exactly `/Repos/<folder>/<name>`."""
    parts = _workspace_path(path, what, "/Repos/ci/my-project")
    if parts[1] == "Repos" and len(parts) != 4:
        raise ConfigurationError(
            f"{what} '{'/'.join(parts)}' is not allowed: Git folders under /Repos must be exactly "
            "/Repos/<folder>/<name>, e.g. /Repos/ci/my-project"
        )
    return "/".join(parts)


def check_temp_parent(path: str, what: str = "tempFolder") -> str:
    """The `tempFolder` input: where temporary Git folders go; under /Repos exactly `/Repos/<folder>`. Empty stays
    empty: the default, `default_temp_parent`, is known only once signed in."""
    if not path.strip():
        return ""
    parts = _workspace_path(path, what, "/Repos/ci")
    if parts[1] == "Repos" and len(parts) != 3:
        raise ConfigurationError(
            f"{what} '{'/'.join(parts)}' is not allowed: under /Repos it must be exactly /Repos/<folder> "
            "(e.g. /Repos/ci), because Git folders there must be /Repos/<folder>/<name>"
        )
    return "/".join(parts)


DEFAULT_CLONE_TIMEOUT_SECONDS = 600  # what the Databricks Terraform provider gives a clone (v1.130.0)
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
