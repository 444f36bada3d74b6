"""Notebook selection: paths and globs relative to a Git folder, resolved through the workspace API — and, where
the commit's checkout is at hand, checked against it before a Git folder is made (`check_in_checkout`)."""

from __future__ import annotations

import difflib
import posixpath
import re
import subprocess
from collections.abc import Iterable, Sequence

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service.workspace import ObjectType

from ..errors import ConfigurationError, every_problem
from ..options.notebooks import NOTEBOOK_EXTENSIONS, check_relative, notebook_path

_GLOB_CHARS = re.compile(r"[*?\[]")
LISTED_NAMES = 5
_GIT_TIMEOUT_S = 30


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """`*` within one folder, `**` across folders, `?` one character, `[...]` a set — as in shells."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]+/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape("["))
                i += 1
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
                i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + "$")


def resolve(client: WorkspaceClient, folder: str, patterns: Iterable[str]) -> list[str]:
    """Workspace paths of the notebooks that `patterns` select inside `folder`, in the order given (each once).

    A plain path must exist and be a notebook; a glob must match at least one notebook.
    """
    chosen: list[str] = []
    listing: list[str] | None = None
    for raw in patterns:
        pattern = notebook_path(raw)
        check_relative(pattern)
        if not _GLOB_CHARS.search(pattern):
            path = posixpath.join(folder, pattern)
            try:
                status = client.workspace.get_status(path)
            except NotFound:
                listing = _all_notebooks(client, folder) if listing is None else listing
                names = [posixpath.relpath(p, folder) for p in listing]
                raise ConfigurationError(missing_message(raw, names, folder)) from None
            if status.object_type != ObjectType.NOTEBOOK:
                kind = status.object_type.value.lower() if status.object_type else "object"
                raise ConfigurationError(f"notebooks: '{raw}' in {folder} is a {kind}, not a notebook")
            matches = [path]
        else:
            if listing is None:
                listing = _all_notebooks(client, folder)
            regex = glob_to_regex(pattern)
            matches = [p for p in listing if regex.match(posixpath.relpath(p, folder))]
            if not matches:
                names = [posixpath.relpath(p, folder) for p in listing]
                raise ConfigurationError(unmatched_message(raw, names, folder))
        chosen.extend(p for p in matches if p not in chosen)
    if not chosen:
        raise ConfigurationError("notebooks is empty: give at least one notebook path or glob, e.g. tests/test_*")
    return chosen


def _all_notebooks(client: WorkspaceClient, folder: str) -> list[str]:
    return sorted(
        o.path for o in client.workspace.list(folder, recursive=True) if o.object_type == ObjectType.NOTEBOOK and o.path
    )


def missing_message(raw: str, names: Sequence[str], where: str) -> str:
    """`raw` names no notebook among `names` (paths relative to the root of `where`): the closest names by edit
    distance, and the notebooks of the folder it points into."""
    pattern = notebook_path(raw)
    close = difflib.get_close_matches(pattern, names, n=3)
    guess = f"; did you mean {' or '.join(close)}?" if close else ""
    return f"notebooks: '{raw}' does not exist in {where}{guess} ({_nearby(pattern, names)})"


def unmatched_message(raw: str, names: Sequence[str], where: str) -> str:
    """The glob `raw` matches none of `names`: the notebooks of the folder it searches."""
    return f"notebooks: '{raw}' matches no notebook in {where} ({_nearby(notebook_path(raw), names)})"


def _nearby(pattern: str, names: Sequence[str]) -> str:
    """The notebooks under the deepest folder of `pattern` that holds any (paths relative to the root, as the
    `notebooks` input takes them), a few of them named."""
    folder = posixpath.dirname(_GLOB_CHARS.split(pattern, 1)[0] if _GLOB_CHARS.search(pattern) else pattern)
    while True:
        inside = sorted(n for n in names if not folder or n.startswith(folder + "/"))
        if inside or not folder:
            break
        folder = posixpath.dirname(folder)
    where = f"in {folder}/" if folder else "there"
    if not inside:
        return f"no notebook {where}; give paths relative to the repository's root"
    shown = ", ".join(inside[:LISTED_NAMES]) + (", ..." if len(inside) > LISTED_NAMES else "")
    return f"{len(inside)} notebooks {where}, e.g. {shown}; give paths relative to the repository's root"


def check_in_checkout(checkout: str, commit: str, patterns: Iterable[str]) -> None:
    """Every entry of `notebooks` names a file of `commit` as the agent's (or the developer's) checkout holds it:
    refused before a Git folder is made or a file uploaded, all mistakes at once, when the checkout has that commit
    (a Git folder at the commit holds the same files). Only whether a file of a notebook's name exists is judged
    here — whether it is a notebook, the workspace says when it is asked — so nothing valid is refused."""
    files = _commit_files(checkout, commit) if checkout and commit else None
    if files is None:
        return
    names = sorted({notebook_path(f) for f in files if f.lower().endswith(NOTEBOOK_EXTENSIONS)})
    where = f"commit {commit[:12]}" if commit != "HEAD" else f"the commit at {checkout}"
    problems = []
    for raw in patterns:
        pattern = notebook_path(raw)
        if _GLOB_CHARS.search(pattern):
            if not any(glob_to_regex(pattern).match(name) for name in names):
                problems.append(unmatched_message(raw, names, where))
        elif pattern not in names:
            problems.append(missing_message(raw, names, where))
    if problems:
        raise every_problem(problems)


def _commit_files(checkout: str, commit: str) -> list[str] | None:
    """The paths of `commit`'s files in the checkout; None when it is no checkout or lacks the commit."""
    try:
        done = subprocess.run(
            ["git", "-C", checkout, "ls-tree", "-r", "-z", "--name-only", "--full-tree", f"{commit}^{{commit}}"],
            capture_output=True,
            timeout=_GIT_TIMEOUT_S,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return [path for path in done.stdout.decode("utf-8", "surrogateescape").split("\0") if path]
