"""The local workspace's own pyproject declares every distribution its source imports (its dependencies or an extra,
such as `spark`), so that `pip install ./localworkspace` gives it what it needs beside dbcicd or without it."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

PROJECT = Path(__file__).resolve().parents[2] / "localworkspace"
PACKAGE = "dbcicd_localworkspace"


def normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {}).values()
    requirements = [*project.get("dependencies", []), *(r for extra in extras for r in extra)]
    return {normalized(re.match(r"[A-Za-z0-9._-]+", r)[0]) for r in requirements}


def imported_top_levels() -> dict[str, str]:
    """Top-level module -> the first file importing it, for every absolute import outside the standard library."""
    found: dict[str, str] = {}
    for file in sorted((PROJECT / "src" / PACKAGE).rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != PACKAGE:
                    found.setdefault(top, str(file.relative_to(PROJECT)))
    return found


def test_every_distribution_the_local_workspace_imports_is_declared() -> None:
    distributions = importlib.metadata.packages_distributions()
    missing = [
        f"{file} imports {module} ({' or '.join(distributions.get(module, [module]))})"
        for module, file in imported_top_levels().items()
        if not {normalized(d) for d in distributions.get(module, [module])} & declared()
    ]
    assert not missing, "localworkspace/pyproject.toml does not declare:\n" + "\n".join(missing)
