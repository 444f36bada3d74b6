"""Shared set-up of the results tests: the product's process environment, pointed at the local workspace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dbcicd.localworkspace import LocalWorkspaceServer


def local_environment(monkeypatch: pytest.MonkeyPatch, server: LocalWorkspaceServer, cwd: Path) -> Path:
    """DATABRICKS_* for `server`, no pipeline or agent variables, `cwd` (not a Git checkout) as working directory."""
    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "ARM_", "BUILD_", "SYSTEM_", "AGENT_")) or name == "TF_BUILD":
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABRICKS_HOST", server.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", server.token)
    monkeypatch.chdir(cwd)
    return cwd
