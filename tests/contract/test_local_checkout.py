"""The CLI in a developer's clone: local remotes without --git-provider, SSH origins, and honest diagnoses of a
checkout that is ahead of its remote or has uncommitted changes. Through the CLI, against the local workspace."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient

from dbcicd.entry.cli import main
from dbcicd_localworkspace import Tenant
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


def _commit_locally(checkout: Path, name: str, text: str) -> str:
    (checkout / name).write_text(text)
    git("add", name, cwd=checkout)
    git("commit", "--quiet", "-m", f"add {name}", cwd=checkout)
    return git("rev-parse", "HEAD", cwd=checkout)


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


def test_unpushed_commit_says_push_first(
    cli_env: Path,
    make_remote: Callable[..., Any],
    isolated_workspace: Tenant,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A local branch ahead of origin is a configuration error (exit 2) saying to push first, found before anything
    is made in the workspace — not a run that fails because the branch 'moved on'."""
    monkeypatch.setenv("DATABRICKS_TOKEN", isolated_workspace.token)
    remote = make_remote({"tests/test_a.py": PASSING})
    checkout = _clone(remote, cli_env, monkeypatch)
    head = _commit_locally(checkout, "tests/test_b.py", PASSING)
    code = main(["test", "--git-provider", "gitHub", "--temp-folder", _parent(), "-n", "tests/test_b"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"Cannot test {head[:12]}" in err and "1 commit(s) ahead of origin/main" in err and "push first" in err
    assert "moved on" not in err
    assert not [call for call in isolated_workspace.calls if "/repos" in call or "/jobs/" in call]


def test_branch_not_on_origin_says_push_it(
    cli_env: Path, make_remote: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = make_remote({"tests/test_a.py": PASSING})
    checkout = _clone(remote, cli_env, monkeypatch)
    git("checkout", "--quiet", "-b", "feature/x", cwd=checkout)
    assert main(["test", "--git-provider", "gitHub", "--temp-folder", _parent(), "-n", "tests/test_a"]) == 2
    err = capsys.readouterr().err
    assert "branch 'feature/x' is not on origin: push it first (git push -u origin feature/x)" in err


def test_uncommitted_changes_are_a_warning(
    cli_env: Path, make_remote: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Changes not committed are not tested, and the log says so, naming them; the committed HEAD is tested."""
    remote = make_remote({"tests/test_a.py": PASSING})
    checkout = _clone(remote, cli_env, monkeypatch)
    (checkout / "tests/test_a.py").write_text(PASSING + "raise ValueError('not tested')\n")
    (checkout / "tests/test_new.py").write_text(PASSING)
    code = main(["test", "--git-provider", "gitHub", "--temp-folder", _parent(), "-n", "tests/test_a"])
    out = capsys.readouterr()
    assert code == 0, out
    warning = next(line for line in out.out.splitlines() if line.startswith("WARNING"))
    assert "2 uncommitted change(s)" in warning and "are not tested" in warning
    assert "tests/test_a.py" in warning and "tests/test_new.py" in warning


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


def test_remote_ahead_of_what_the_checkout_saw_says_pull(
    cli_env: Path, make_remote: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Someone pushed since this checkout last fetched: the Git folder gets the newer commit, and the error says to
    pull — there is no build to re-run outside a pipeline."""
    remote = make_remote({"tests/test_a.py": PASSING})
    checkout = _clone(remote, cli_env, monkeypatch)
    newer = remote.commit({"b.txt": "2"}, "pushed by someone else")
    code = main(["test", "--git-provider", "gitHub", "--temp-folder", _parent(), "-n", "tests/test_a"])
    err = capsys.readouterr().err
    assert code == 1, err
    head = git("rev-parse", "HEAD", cwd=checkout)
    assert f"is at {newer[:12]}, this build is {head[:12]}" in err and "git pull" in err
    assert "re-run the build" not in err


def test_a_mistyped_notebook_is_refused_from_the_checkout_before_a_git_folder_is_made(
    cli_env: Path,
    make_remote: Callable[..., Any],
    isolated_workspace: Tenant,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`-n tests/test_trian` in a clone: exit 2 before any Git folder is made, every mistake at once, each saying
    what was meant (edit distance) and what the folder it points into holds — not the notebooks of another folder."""
    monkeypatch.setenv("DATABRICKS_TOKEN", isolated_workspace.token)
    files = {"tests/test_train.py": PASSING, "tests/test_score.py": PASSING, "examples/a/b.py": PASSING}
    _clone(make_remote(files), cli_env, monkeypatch)
    code = main(
        ["test", "--git-provider", "gitHub", "--temp-folder", _parent(), "-n", "tests/test_trian", "-n", "it/*"]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert "2 inputs need fixing" in err
    assert "'tests/test_trian' does not exist in commit " in err and "did you mean tests/test_train" in err
    assert "2 notebooks in tests/, e.g. tests/test_score, tests/test_train" in err
    assert "'it/*' matches no notebook in commit " in err
    assert not [call for call in isolated_workspace.calls if "/repos" in call or "/jobs/" in call]
