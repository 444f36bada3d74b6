"""The Git inputs as written: repository URLs (credentials kept out, SSH URLs of hosted services as HTTPS), the Repos
API provider, Git folder and temporary folder paths, and how long a clone may take. Parsed and checked here, before
anything runs; steps/gitfolders.py makes and updates the Git folders they name."""

from __future__ import annotations

import contextlib
import re
from urllib.parse import urlsplit, urlunsplit

from ..errors import ConfigurationError

DEFAULT_CLONE_TIMEOUT_SECONDS = 600  # what the Databricks Terraform provider gives a clone (v1.130.0)

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
