"""The CLI in a developer's clone: local remotes without --git-provider, and SSH origins. Through the CLI, against
the local workspace."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient

from dbcicd.entry.cli import main
from dbcicd.localworkspace import Tenant
from git_remote import GitRemote, git

PASSING = "# Databricks notebook source\ndbutils.notebook.exit('ok')\n"


def _parent() -> str:
    return f"/Repos/clone-{time.time_ns() % 10**9}"


def _clone(remote: GitRemote, into: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A developer's clone of `remote` (origin: the bare repository's path, as `git clone /srv/x.git` leaves it),
    made the working directory."""
    checkout = into / "checkout"
    git("clone", "--quiet", str(remote.bare), str(checkout), cwd=into)
    monkeypatch.chdir(checkout)
    return checkout


def test_file_url_needs_no_git_provider(
    cli_env: Path, make_remote: Callable[..., Any], client: WorkspaceClient, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file:// remote, what every offline trial starts with, works without --git-provider."""
    remote = make_remote({"tests/test_a.py": PASSING})
    parent = _parent()
    code = main(["test", "--git-url", remote.url, "--branch", "main", "--temp-folder", parent, "-n", "tests/test_a"])
    out = capsys.readouterr()
    assert code == 0, out
    assert "tests_test_a: SUCCESS" in out.out


def test_clone_with_a_path_origin_tests_its_head(
    cli_env: Path, make_remote: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In a clone whose origin is a local path, `dbcicd test -n ...` needs no other flag: URL, branch and commit come
    from the checkout, and the Git folder is at its HEAD."""
    remote = make_remote({"tests/test_a.py": PASSING})
    checkout = _clone(remote, cli_env, monkeypatch)
    code = main(["test", "--temp-folder", _parent(), "-n", "tests/test_a"])
    out = capsys.readouterr()
    assert code == 0, out
    assert f"headCommit={git('rev-parse', 'HEAD', cwd=checkout)}" in out.out
    assert "WARNING" not in out.out


def test_ssh_url_of_an_unknown_host_asks_for_https(
    cli_env: Path, isolated_workspace: Tenant, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An SSH URL no rewrite is safe for is refused before any call, saying Git folders need HTTPS — not 'cannot
    tell the Git provider'."""
    monkeypatch.setenv("DATABRICKS_TOKEN", isolated_workspace.token)
    url = "git@git.example.com:team/project.git"
    assert main(["test", "--git-url", url, "--branch", "main", "-n", "tests/test_a"]) == 2
    err = capsys.readouterr().err
    assert f"--git-url '{url}' is an SSH URL" in err and "clone over HTTPS only" in err
    assert "Cannot tell the Git provider" not in err
    assert not [call for call in isolated_workspace.calls if "/repos" in call or "/jobs/" in call]
