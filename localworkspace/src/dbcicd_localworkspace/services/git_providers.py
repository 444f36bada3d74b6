"""What the Repos API derives from a Git URL: the provider (checked or guessed) and the default folder name."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..http.errors import invalid_parameter

# Databricks' provider names, in their canonical casing; clients may send any casing.
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
_BY_LOWER = {p.lower(): p for p in PROVIDERS}

# Host -> provider, as the Terraform provider guesses it when `provider` is left out.
_HOST_RULES = (
    (re.compile(r"(^|\.)github\.com$"), "gitHub"),
    (re.compile(r"^dev\.azure\.com$|\.visualstudio\.com$"), "azureDevOpsServices"),
    (re.compile(r"(^|\.)gitlab\.com$"), "gitLab"),
    (re.compile(r"(^|\.)bitbucket\.org$"), "bitbucketCloud"),
)
# `git@github.com:org/repo.git`: scp-like syntax, no scheme.
_SCP_LIKE = re.compile(r"^(?:[^@/\s]+@)?(?P<host>[^:/\s]+):(?P<path>.+)$")


def canonical_provider(value: str) -> str:
    """The canonical spelling of a provider name sent in any casing; 400 listing the choices otherwise."""
    found = _BY_LOWER.get(value.strip().lower())
    if found is None:
        raise invalid_parameter(f"Invalid Git provider '{value}'. Supported providers: {', '.join(PROVIDERS)}")
    return found


def _host_and_path(url: str) -> tuple[str, str]:
    if "://" in url:
        parts = urlsplit(url)
        return (parts.hostname or "").lower(), parts.path
    scp = _SCP_LIKE.match(url)
    if scp and not url.startswith(("/", ".")):
        return scp.group("host").lower(), scp.group("path")
    return "", url  # a local path


def guess_provider(url: str) -> str | None:
    """The provider implied by a well-known host, or None (self-hosted servers and local paths)."""
    host, _ = _host_and_path(url)
    for pattern, provider in _HOST_RULES:
        if pattern.search(host):
            return provider
    return None


def repo_name_from_url(url: str) -> str | None:
    """The last path segment without `.git` (`https://host/org/demo.git` -> `demo`), as Databricks names folders."""
    _, path = _host_and_path(url)
    name = path.rstrip("/").rsplit("/", 1)[-1]
    if name.endswith(".git"):
        name = name[: -len(".git")]
    return name if name not in ("", ".", "..") else None
