"""The product's rooms depend on each other in one direction, read from the source with ast (every import, also
those inside functions and under TYPE_CHECKING):

- `options/` (what was asked) is read before anything runs: it imports nothing of `steps/`, `results/`, `azdo/` or
  `entry/`, which all read options;
- `azdo/` (the Azure DevOps channel) imports nothing of `results/`, which publishes through it;
- the local workspace is a program of its own: it imports nothing of dbcicd, and dbcicd imports it only in
  `entry/cli.py`, for `dbcicd local serve`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ROOT / "python_src" / "dbcicd"
LOCAL_WORKSPACE = ROOT / "localworkspace" / "src" / "dbcicd_localworkspace"
FORBIDDEN = {
    "options": {"steps", "results", "azdo", "entry"},
    "azdo": {"results", "steps", "entry"},
}


def imported_modules(file: Path, package: list[str]) -> Iterator[tuple[int, str]]:
    """(line, dotted module name) of every import in `file`, a module of `package`; relative imports resolved."""
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"), str(file))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = [*base, *(node.module.split(".") if node.module else [])]
            if len(module) > 1:
                yield node.lineno, ".".join(module)
            else:  # `from .. import steps`: the names are the rooms
                yield from ((node.lineno, ".".join([*module, alias.name])) for alias in node.names)


def product_imports() -> Iterator[tuple[str, str, int, str]]:
    """(room, file, line, imported module) for every import in the product; a room is a folder or a top module."""
    for file in sorted(PRODUCT.rglob("*.py")):
        relative = file.relative_to(PRODUCT)
        room = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        for line, module in imported_modules(file, ["dbcicd", *relative.parts[:-1]]):
            yield room, str(relative), line, module


def test_options_and_azdo_import_no_room_above_them() -> None:
    wrong = [
        f"{file}:{line} imports {module}"
        for room, file, line, module in product_imports()
        if module.split(".")[0] == "dbcicd" and len(module.split(".")) > 1
        if module.split(".")[1] in FORBIDDEN.get(room, ())
    ]
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_the_product_imports_the_local_workspace_only_to_serve_it() -> None:
    files = {file for _, file, _, module in product_imports() if module.split(".")[0] == "dbcicd_localworkspace"}
    assert files == {"entry/cli.py"}


def test_the_local_workspace_imports_nothing_of_the_product() -> None:
    files = sorted(LOCAL_WORKSPACE.rglob("*.py"))
    assert files, f"no local workspace at {LOCAL_WORKSPACE}"
    wrong = []
    for file in files:
        relative = file.relative_to(LOCAL_WORKSPACE)
        for line, module in imported_modules(file, ["dbcicd_localworkspace", *relative.parts[:-1]]):
            if module.split(".")[0] == "dbcicd":
                wrong.append(f"{relative}:{line} imports {module}")
    assert not wrong, "\n".join(wrong)
