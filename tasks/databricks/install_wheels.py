"""Unpack the dbcicd core's wheels into a folder that the task puts first on sys.path.

Run by the task's Node entry point with the Python it found:
`python -I install_wheels.py WHEELS_DIR SET TARGET`, where WHEELS_DIR holds the wheels and `manifest.json`
(`{"sets": {"3.12": [wheel file, ...]}, "sha256": {wheel file: hex digest}}`) and SET names the wheel list to use.

The wheels are pure Python, so installing one is unpacking it: its files go to TARGET, and so do those under
`<name>.data/purelib` and `<name>.data/platlib`; scripts, headers and data files are not needed to import the core.
Only the standard library is used: some system Pythons have neither pip nor venv, and nothing is downloaded.

TARGET appears complete or not at all. The wheels are checked against their recorded sha256 and unpacked into a
sibling temporary folder, which gets the completion marker and is then renamed into place; when another job on the
same machine finished first, its folder is kept and this one removed. Exit code 0 on success, 1 with the reason on
stderr otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

COMPLETE_MARKER = ".dbcicd-complete"  # core.js looks for it
IMPORTABLE_DATA = ("purelib", "platlib")


class InstallError(Exception):
    """A wheel that cannot be installed: the message says which and why."""


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: install_wheels.py WHEELS_DIR SET TARGET", file=sys.stderr)
        return 1
    wheels_dir, set_name, target = Path(argv[0]), argv[1], Path(argv[2])
    try:
        install(wheels_dir, set_name, target)
    except (InstallError, OSError) as err:
        print(err, file=sys.stderr)  # the task says what it was doing
        return 1
    return 0


def install(wheels_dir: Path, set_name: str, target: Path) -> None:
    """Unpack the wheels of `set_name` into `target`, atomically (see the module docstring)."""
    manifest = json.loads((wheels_dir / "manifest.json").read_text(encoding="utf-8"))
    wheels = manifest["sets"].get(set_name)
    if not wheels:
        raise InstallError(f"the task has no wheel set '{set_name}' (it has {', '.join(manifest['sets'])})")
    if (target / COMPLETE_MARKER).exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for name in wheels:
            wheel = wheels_dir / name
            check_digest(wheel, manifest["sha256"].get(name, ""))
            unpack(wheel, staging)
        (staging / COMPLETE_MARKER).write_text(json.dumps({"set": set_name, "wheels": wheels}), encoding="utf-8")
        if target.exists() and not (target / COMPLETE_MARKER).exists():
            shutil.rmtree(target)  # left by something else: installs only ever rename finished folders into place
        try:
            os.replace(staging, target)
        except OSError:
            if not (target / COMPLETE_MARKER).exists():
                raise
            # Another job unpacked the same wheels first: use its folder.
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def check_digest(wheel: Path, expected: str) -> None:
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != expected:
        raise InstallError(f"{wheel.name} is damaged: its sha256 is {digest}, the task recorded '{expected}'")


def unpack(wheel: Path, target: Path) -> None:
    """Extract one wheel's importable files into `target`."""
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            if member.is_dir():
                continue
            destination = destination_of(PurePosixPath(member.filename), wheel.name)
            if destination is None:
                continue
            path = target.joinpath(*destination.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, path.open("wb") as sink:
                shutil.copyfileobj(source, sink)


def destination_of(name: PurePosixPath, wheel: str) -> PurePosixPath | None:
    """Where a wheel member goes, relative to the target; None for members that are not needed to import it."""
    if name.is_absolute() or ".." in name.parts or ":" in name.parts[0]:
        raise InstallError(f"{wheel} contains the unsafe path '{name}'")
    if name.parts[0].endswith(".data"):
        if len(name.parts) > 2 and name.parts[1] in IMPORTABLE_DATA:
            return PurePosixPath(*name.parts[2:])
        return None
    return name


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
