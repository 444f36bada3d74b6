"""Whether a shared Git folder holds the code being built, before `run` starts code in it and after the run ended.

`repo` points a shared folder (staging, production) at the build's branch; `run` then runs the notebooks the folder
holds. Between the two — and while the run goes on — another build of the same pipeline may point the folder at its
own commit, and the run would report that build's code as this one's. A Git folder is one working tree that Repos
API `PATCH /api/2.0/repos/{id}` checks out in place; when a task of a run reads its notebook from it, no public source
says (at the task's start is assumed, as the local workspace does), so the head is read before the run is started and
again once it has ended: a head that moved in between means some task may have run the other commit.
"""

from __future__ import annotations

from ..errors import RunFailed
from ..options.git import public_url, same_repository
from ..options.names import Names
from ..options.parse import ANY_COMMIT, FolderHead
from ..output import Output
from .gitfolders import GitFolder


def _short(commit: str) -> str:
    return commit[:12]


def _fix(folder: GitFolder, names: Names) -> str:
    """How to make the folder hold this build's commit, or say that any commit will do."""
    if names.cli:
        return (
            f"run `dbcicd repo --repo-path {folder.path}` for this commit first, or give --commit {ANY_COMMIT} to run "
            "whatever the folder holds"
        )
    return (
        f"run the repo command for {folder.path} in the same job before run, so the folder is at this build's commit, "
        f"or set commit: {ANY_COMMIT} to run whatever the folder holds"
    )


def expected_commit(folder: GitFolder, head: FolderHead, output: Output, names: Names) -> str:
    """The commit `folder` must be at ('' when nothing is checked, which the log says)."""
    if head.waived:
        output.info(
            f"{names.label('commit')} {ANY_COMMIT}: running whatever {folder.path} holds, without checking its head"
        )
        return ""
    if not head.commit:
        return ""
    if head.repository_url and not same_repository(folder.url, head.repository_url):
        output.info(
            f"{folder.path} is a Git folder of {public_url(folder.url)}, not of the build's repository: its head is "
            f"not held to the build's commit (give {names.label('commit')} to check it)"
        )
        return ""
    return head.commit


def require_head(folder: GitFolder, commit: str, head: FolderHead, names: Names) -> None:
    """Fail before anything runs when `folder` is not at `commit` (what `head` asks of it), naming both commits and
    the fix."""
    if not commit or _at(folder.head_commit, commit):
        return
    whose = "this build is" if head.by_build else f"{names.label('commit')} is"
    raise RunFailed(
        f"The Git folder {folder.path} is at {_short(folder.head_commit or 'no commit')}, {whose} "
        f"{_short(commit)}: its notebooks are not the code being built (another build or a person has pointed the "
        f"folder elsewhere). Nothing was run: {_fix(folder, names)}."
    )


def moved_during_run(before: GitFolder, after: GitFolder | None, run_id: int) -> str:
    """Why the run's result cannot stand for the commit the folder was at when it started ('' when it can)."""
    now = after.head_commit if after else None
    if after is not None and _at(now, before.head_commit or ""):
        return ""
    where = f"moved to {_short(now)}" if now else "was deleted"
    return (
        f"The Git folder {before.path} {where} while run {run_id} ran at {_short(before.head_commit or '')}: its "
        f"tasks may have run other code, so its result does not count. Another build (or a person) pointed the "
        f"folder elsewhere: re-run this step once that build is done with {before.path}"
    )


def _at(head: str | None, commit: str) -> bool:
    return bool(head) and head.lower().startswith(commit.lower())  # type: ignore[union-attr]
