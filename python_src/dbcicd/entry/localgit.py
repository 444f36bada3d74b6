"""Defaults from the local Git checkout, for the CLI outside a pipeline: the remote URL, branch and commit.

Inside Azure Pipelines the same facts come from pipeline variables; these fill in only what is still missing.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def _git(*args: str, cwd: Path) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def checkout_variables(cwd: Path) -> dict[str, str]:
    """Pipeline-variable equivalents of the checkout in `cwd` (empty outside a Git work tree)."""
    if _git("rev-parse", "--is-inside-work-tree", cwd=cwd) != "true":
        return {}
    found = {
        "Build.Repository.Uri": _git("remote", "get-url", "origin", cwd=cwd),
        "Build.SourceVersion": _git("rev-parse", "HEAD", cwd=cwd),
    }
    branch = _git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=cwd)
    if branch:
        found["Build.SourceBranch"] = f"refs/heads/{branch}"
    return {k: v for k, v in found.items() if v}
