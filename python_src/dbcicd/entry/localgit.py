"""Defaults from the local Git checkout, for the CLI outside a pipeline: the remote URL, branch and commit.

Inside Azure Pipelines the same facts come from pipeline variables; these fill in only what is still missing. A
Git folder can only check out what the remote has, so the checkout is also asked the two questions a developer's
clone raises and a pipeline's never does: is the commit being tested pushed, and is anything left uncommitted?
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigurationError
from ..options.build import GitRef, parse_ref
from ..options.git import is_local, same_repository
from ..options.names import CLI_NAMES

REMOTE = "origin"
LISTED_CHANGES = 5


def _git(*args: str, cwd: Path, strip: bool = True) -> str:
    """git's output ('' when it fails); `strip=False` keeps leading blanks that carry meaning (`git status`)."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    if done.returncode != 0:
        return ""
    return done.stdout.strip() if strip else done.stdout


def _count(commits: str, cwd: Path) -> int:
    return int(_git("rev-list", "--count", commits, cwd=cwd) or 0)


@dataclass(frozen=True)
class LocalCheckout:
    """What the checkout in a folder says about the build: origin's URL, the branch, HEAD, and its state."""

    top: Path
    url: str
    branch: str  # '' when HEAD is detached
    head: str

    @classmethod
    def read(cls, cwd: Path) -> LocalCheckout | None:
        """The checkout `cwd` is in; None outside a Git work tree."""
        if _git("rev-parse", "--is-inside-work-tree", cwd=cwd) != "true":
            return None
        top = Path(_git("rev-parse", "--show-toplevel", cwd=cwd) or cwd)
        url = _git("remote", "get-url", REMOTE, cwd=top)
        if url and is_local(url) and not url.lower().startswith("file://") and not Path(url).is_absolute():
            url = str((top / url).resolve())  # a relative remote path means nothing to the workspace cloning it
        branch = _git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=top)
        return cls(top, url, branch, _git("rev-parse", "HEAD", cwd=top))

    def variables(self) -> dict[str, str]:
        """Pipeline-variable equivalents of the checkout."""
        found = {
            "Build.Repository.Uri": self.url,
            "Build.SourceVersion": self.head,
            "Build.SourceBranch": f"refs/heads/{self.branch}" if self.branch else "",
            "Build.SourcesDirectory": str(self.top),
        }
        return {k: v for k, v in found.items() if v}

    def unpushed(self) -> str:
        """Why origin's branch is not at HEAD, as this checkout last saw origin ('' when it is): a Git folder checks
        out origin's branch, so a commit that is only here cannot be tested."""
        tracking = f"refs/remotes/{REMOTE}/{self.branch}"
        if not _git("rev-parse", "--verify", "--quiet", tracking, cwd=self.top):
            return f"branch '{self.branch}' is not on {REMOTE}: push it first (git push -u {REMOTE} {self.branch})"
        ahead = _count(f"{tracking}..HEAD", self.top)
        behind = _count(f"HEAD..{tracking}", self.top)
        if ahead:
            also = f" and {behind} behind" if behind else ""
            return (
                f"local branch '{self.branch}' is {ahead} commit(s) ahead{also} of {REMOTE}/{self.branch}, and a "
                f"Git folder can only check out what {REMOTE} has: push first (git push)"
            )
        if behind:
            return (
                f"local branch '{self.branch}' is {behind} commit(s) behind {REMOTE}/{self.branch}, whose newest "
                f"commit a Git folder would check out: pull first (git pull), or give {CLI_NAMES.label('commit')}"
            )
        return ""

    def uncommitted(self) -> list[str]:
        """Paths with changes not committed, untracked files included (ignored ones are not)."""
        status = _git("status", "--porcelain=v1", "--untracked-files=normal", cwd=self.top, strip=False)
        return [line[3:] for line in status.splitlines() if len(line) > 3]  # `XY path`


def _tests_head(inputs: Mapping[str, str], checkout: LocalCheckout) -> bool:
    """Whether the command will hold the Git folder to the checkout's HEAD: no commit or tag of its own, and the
    branch it names (if any) is the checked-out one."""
    if not checkout.branch or inputs.get("commit") or inputs.get("tag"):
        return False
    if not inputs.get("branch"):
        return True
    try:
        return parse_ref(inputs["branch"]) == GitRef("branch", checkout.branch)
    except ConfigurationError:  # refused with its own message when the options are parsed
        return False


def checkout_defaults(cwd: Path, inputs: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The build's variables from the checkout in `cwd`, and warnings about it.

    The checkout only speaks for the build when it is a clone of the repository used (`--git-url`, if given). When
    the command tests its HEAD, a HEAD origin does not have is refused here, before anything starts (exit 2): a Git
    folder would check out origin's commit instead and fail as if the branch had moved on. Uncommitted changes are
    a warning: the command runs, on the last commit, without them."""
    checkout = LocalCheckout.read(cwd)
    if checkout is None or (inputs.get("gitUrl") and not same_repository(checkout.url, inputs["gitUrl"])):
        return {}, []
    uploading = inputs.get("source", "").lower() == "upload" and not inputs.get("sourceDir")
    if not uploading and (not checkout.url or not _tests_head(inputs, checkout)):
        return checkout.variables(), []  # without a URL the options ask for --git-url
    problem = "" if uploading else checkout.unpushed()  # an upload sends HEAD itself: origin need not have it
    if problem:
        raise ConfigurationError(f"Cannot test {checkout.head[:12]}, this checkout's HEAD: {problem}")
    changes = checkout.uncommitted()
    if not changes:
        return checkout.variables(), []
    listed = ", ".join(changes[:LISTED_CHANGES]) + (
        f" and {len(changes) - LISTED_CHANGES} more" if len(changes) > LISTED_CHANGES else ""
    )
    how = (
        f"the upload sends commit {checkout.head[:12]}. Commit them to test them."
        if uploading
        else f"the Git folder checks out commit {checkout.head[:12]} from {REMOTE}. Commit and push them to test them."
    )
    warning = f"{len(changes)} uncommitted change(s) in {checkout.top.name} are not tested ({listed}): {how}"
    return checkout.variables(), [warning]
