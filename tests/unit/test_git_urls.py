"""Git URLs a developer's clone has: SSH origins rewritten to the HTTPS URL Git folders need where that is safe,
refused naming the input where it is not, and local repositories needing no provider."""

from __future__ import annotations

import pytest

from dbcicd.errors import ConfigurationError
from dbcicd.options.git import same_repository
from dbcicd.options.names import CLI_NAMES, TASK_NAMES, Names
from dbcicd.options.parse import GitSource, parse_options
from dbcicd.options.request import TaskRequest


def _git(url: str, names: Names = TASK_NAMES, **inputs: str) -> GitSource:
    request = TaskRequest({"command": "test", "notebooks": "tests/t", "gitUrl": url, "branch": "main", **inputs})
    git = parse_options(request, names).git
    assert git is not None
    return git


@pytest.mark.parametrize(
    ("ssh", "https", "provider"),
    [
        ("git@github.com:org/repo.git", "https://github.com/org/repo.git", "gitHub"),
        ("ssh://git@github.com/org/repo.git", "https://github.com/org/repo.git", "gitHub"),
        ("ssh://git@ssh.github.com:443/org/repo.git", "https://github.com/org/repo.git", "gitHub"),
        ("git@gitlab.com:group/sub/repo.git", "https://gitlab.com/group/sub/repo.git", "gitLab"),
        ("git@bitbucket.org:team/repo.git", "https://bitbucket.org/team/repo.git", "bitbucketCloud"),
        ("git@ssh.dev.azure.com:v3/org/proj/repo", "https://dev.azure.com/org/proj/_git/repo", "azureDevOpsServices"),
        (
            "ssh://git@ssh.dev.azure.com/v3/org/My%20Project/repo",
            "https://dev.azure.com/org/My%20Project/_git/repo",
            "azureDevOpsServices",
        ),
        (
            "org@vs-ssh.visualstudio.com:v3/org/proj/repo",
            "https://dev.azure.com/org/proj/_git/repo",
            "azureDevOpsServices",
        ),
    ],
)
def test_ssh_urls_of_hosted_services_become_https(ssh: str, https: str, provider: str) -> None:
    git = _git(ssh)
    assert (git.url, git.provider) == (https, provider)
    assert git.note == f"Using {https} for the SSH URL {ssh}: Databricks Git folders clone over HTTPS only"
    assert same_repository(ssh, https)


@pytest.mark.parametrize("url", ["git@git.example.com:org/repo.git", "ssh://git@bitbucket.corp:7999/proj/repo.git"])
def test_ssh_urls_of_other_hosts_are_refused_naming_the_input(url: str) -> None:
    with pytest.raises(ConfigurationError, match=f"gitUrl '{url}' is an SSH URL.*HTTPS only"):
        _git(url)
    with pytest.raises(ConfigurationError, match=f"--git-url '{url}' is an SSH URL"):
        _git(url, CLI_NAMES)


@pytest.mark.parametrize("url", ["file:///srv/git/repo.git", "/srv/git/repo.git", "../repo.git"])
def test_local_repositories_need_no_provider(url: str) -> None:
    git = _git(url)
    assert (git.url, git.provider, git.note) == (url, "gitHub", "")


def test_https_urls_are_left_alone() -> None:
    git = _git("https://github.com/org/repo")
    assert (git.url, git.note) == ("https://github.com/org/repo", "")
    assert _git("https://git.example.com/org/repo", gitProvider="gitLabEnterpriseEdition").provider == (
        "gitLabEnterpriseEdition"
    )
