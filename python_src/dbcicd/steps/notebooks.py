"""Notebook selection: paths and globs relative to a Git folder, resolved through the workspace API."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service.workspace import ObjectType

from ..errors import ConfigurationError
from ..options.notebooks import check_relative, notebook_path

_GLOB_CHARS = re.compile(r"[*?\[]")


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
                raise ConfigurationError(
                    f"notebooks: '{raw}' does not exist in {folder}; give paths relative to the repository's root "
                    f"({len(listing)} notebooks there{_examples(listing, folder)})"
                ) from None
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
                raise ConfigurationError(
                    f"notebooks: '{raw}' matches no notebook in {folder} "
                    f"({len(listing)} notebooks there{_examples(listing, folder)})"
                )
        chosen.extend(p for p in matches if p not in chosen)
    if not chosen:
        raise ConfigurationError("notebooks is empty: give at least one notebook path or glob, e.g. tests/test_*")
    return chosen


def _all_notebooks(client: WorkspaceClient, folder: str) -> list[str]:
    return sorted(
        o.path for o in client.workspace.list(folder, recursive=True) if o.object_type == ObjectType.NOTEBOOK and o.path
    )


def _examples(listing: list[str], folder: str) -> str:
    if not listing:
        return ""
    shown = ", ".join(posixpath.relpath(p, folder) for p in listing[:5])
    return f", e.g. {shown}" + (", ..." if len(listing) > 5 else "")
