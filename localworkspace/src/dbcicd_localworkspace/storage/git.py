"""Real git checkouts for Git folders and `git_source` runs, through the `git` command.

Every failure becomes a `GitError` carrying git's own message with any credentials in URLs masked, so that a
token embedded in a clone URL (`https://user:token@host/...`) never reaches a response or a log.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from ..runtime import lifeline

_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
GIT_TIMEOUT_SECONDS = 300


class GitError(Exception):
    """A git command failed; the message is git's, credentials masked."""


def mask_credentials(text: str) -> str:
    """`https://user:secret@host/x` -> `https://***@host/x`."""
    return _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # Never prompt (there is nobody to answer) and never read the user's global hooks or templates.
    env.update(GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true", GCM_INTERACTIVE="never", LC_ALL="C")
    return env


def run_git(*args: str, cwd: Path | None = None) -> str:
    """Run git and return its stdout; raise GitError with its (masked) stderr on failure.

    On the workspace's lifeline (runtime/lifeline.py): a clone of a remote that stalls ends with a killed workspace
    rather than waiting on the network by itself."""
    command = ["git", "-c", "advice.detachedHead=false", "-c", "core.hooksPath=/dev/null", *args]
    try:
        process = lifeline.start(
            command, cwd=cwd, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    try:
        out, err = process.communicate(timeout=GIT_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        lifeline.kill_tree(process)
        process.wait()
        raise GitError(f"git {args[0]} did not finish within {GIT_TIMEOUT_SECONDS} s") from None
    stdout, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    if process.returncode != 0:
        message = (stderr or stdout).strip() or f"git {args[0]} exited with {process.returncode}"
        raise GitError(mask_credentials(message))
    return stdout


def clone(url: str, dest: Path, sparse_patterns: list[str] | None = None) -> None:
    """Clone `url` into `dest` (which must not exist) and check out its default branch."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    run_git("clone", "--quiet", "--no-checkout", "--", url, str(dest))
    if sparse_patterns:
        run_git("sparse-checkout", "set", "--cone", "--", *sparse_patterns, cwd=dest)
    if _has_head(dest):
        run_git("checkout", "--quiet", cwd=dest)


def _has_head(repo: Path) -> bool:
    try:
        run_git("rev-parse", "--verify", "--quiet", "HEAD", cwd=repo)
        return True
    except GitError:
        return False  # an empty repository has no commit to check out


def checkout_branch(repo: Path, branch: str) -> None:
    """Fetch and check out `branch` at the remote's tip (the same branch again = pull)."""
    try:
        run_git(
            "fetch",
            "--quiet",
            "--prune",
            "origin",
            f"+refs/heads/{branch}:refs/remotes/origin/{branch}",
            cwd=repo,
        )
    except GitError as err:
        if "couldn't find remote ref" in str(err):
            raise GitError(f"Branch '{branch}' does not exist in the remote repository") from None
        raise
    run_git("checkout", "--quiet", "--force", "-B", branch, f"refs/remotes/origin/{branch}", cwd=repo)


def checkout_tag(repo: Path, tag: str) -> None:
    """Fetch and check out `tag` as a detached HEAD."""
    try:
        run_git("fetch", "--quiet", "origin", f"+refs/tags/{tag}:refs/tags/{tag}", cwd=repo)
    except GitError as err:
        if "couldn't find remote ref" in str(err):
            raise GitError(f"Tag '{tag}' does not exist in the remote repository") from None
        raise
    run_git("checkout", "--quiet", "--force", "--detach", f"refs/tags/{tag}^{{commit}}", cwd=repo)


def checkout_commit(repo: Path, commit: str) -> None:
    """Check out an exact commit (fetched if the clone does not have it yet) as a detached HEAD."""
    if not re.fullmatch(r"[0-9a-fA-F]{4,64}", commit):
        raise GitError(f"'{commit}' is not a commit hash")
    try:
        run_git("cat-file", "-e", f"{commit}^{{commit}}", cwd=repo)
    except GitError:
        try:
            run_git("fetch", "--quiet", "origin", commit, cwd=repo)
        except GitError:
            raise GitError(f"Commit '{commit}' does not exist in the remote repository") from None
    run_git("checkout", "--quiet", "--force", "--detach", commit, cwd=repo)


def head_commit(repo: Path) -> str | None:
    """The commit HEAD points at, or None for an empty repository."""
    return run_git("rev-parse", "HEAD", cwd=repo).strip() if _has_head(repo) else None


def current_branch(repo: Path) -> str | None:
    """The checked-out branch, or None on a detached HEAD."""
    try:
        return run_git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=repo).strip() or None
    except GitError:
        return None
