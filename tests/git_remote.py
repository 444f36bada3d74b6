"""Git remotes for tests and benchmarks: a bare repository to clone from, and a work tree that pushes to it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
            "PATH": os.environ["PATH"],
            "HOME": str(cwd),
        },
    ).stdout.strip()


class GitRemote:
    """A bare repository to clone from, plus a work tree to push new commits, branches and tags to it."""

    def __init__(self, base: Path) -> None:
        self.bare = base / "remote.git"
        self.work = base / "work"
        git("init", "--quiet", "--bare", "--initial-branch=main", str(self.bare), cwd=base)
        git("clone", "--quiet", str(self.bare), str(self.work), cwd=base)
        git("checkout", "--quiet", "-B", "main", cwd=self.work)

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def commit(self, files: dict[str, str], message: str = "change", branch: str = "main") -> str:
        """Write files (path -> text) on `branch` (created from the current HEAD if new), commit, push; the sha."""
        git("checkout", "--quiet", "-B", branch, cwd=self.work)
        for rel, text in files.items():
            target = self.work / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git("add", "--all", cwd=self.work)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work)
        git("push", "--quiet", "--force", "origin", branch, cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def tag(self, name: str, ref: str = "HEAD") -> str:
        git("tag", "--force", name, ref, cwd=self.work)
        git("push", "--quiet", "--force", "origin", f"refs/tags/{name}", cwd=self.work)
        return git("rev-list", "-n", "1", name, cwd=self.work)
