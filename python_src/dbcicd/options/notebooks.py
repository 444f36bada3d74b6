"""The `notebooks` input as written: one path or glob per line, each relative to the Git folder. Parsed and checked
here, before anything runs; steps/notebooks.py resolves the patterns in the workspace."""

from __future__ import annotations

from ..errors import ConfigurationError

# Extensions users may write although workspace notebook paths have none.
NOTEBOOK_EXTENSIONS = (".py", ".ipynb", ".sql", ".scala", ".r")


def split_patterns(text: str) -> list[str]:
    """The `notebooks` input: one path or glob per line (commas also separate)."""
    return [p.strip() for line in text.splitlines() for p in line.split(",") if p.strip()]


def notebook_path(pattern: str) -> str:
    """A `notebooks` entry as a workspace or repository path names the notebook: no leading `./`, no extension
    (Databricks addresses notebooks without one, in a Git folder and in `git_source` alike)."""
    pattern = pattern.strip()
    while pattern.startswith("./"):
        pattern = pattern[2:]
    for ext in NOTEBOOK_EXTENSIONS:
        if pattern.lower().endswith(ext):
            return pattern[: -len(ext)]
    return pattern


def check_relative(pattern: str, what: str = "notebooks") -> None:
    """A `notebooks` entry must stay inside the Git folder: checked before anything is made, and again on use."""
    pattern = notebook_path(pattern)
    if pattern.startswith("/") or ".." in pattern.split("/"):
        raise ConfigurationError(
            f"{what} entry '{pattern}' must be relative to the Git folder, without '..' (e.g. tests/test_*)"
        )
