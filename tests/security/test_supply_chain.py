"""The Python packages the .vsix ships come from the hashed locks in requirements/, installed with pip
--require-hashes (scripts/wheels.mjs), and the .vsix lists them (CycloneDX, tasks/databricks/sbom.cdx.json).

The build runs for real, with Node and pip, on a small project whose one dependency comes from a local folder
(pip's PIP_NO_INDEX and PIP_FIND_LINKS settings), so a package swapped under the same name and version is a file
this test controls; the last test reads the .vsix `npm run package` wrote for this repository."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from wheels import make_wheel

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON_VERSIONS = ("3.10", "3.11", "3.12", "3.13")
BUILD_TIMEOUT_S = 300

# A PEP 517 build backend inside the project (backend-path), so that building it needs no package index.
BACKEND = """
import base64, hashlib, zipfile

def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    info = "fakecore-0.1.dist-info"
    requires = "".join(f"Requires-Dist: {r}\\n" for r in REQUIRES)
    files = {
        "fakecore.py": b"VALUE = 1\\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: fakecore\\nVersion: 0.1\\n{requires}".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    record = [_record_line(p, d) for p, d in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\\n".join(record) + "\\n").encode()
    name = "fakecore-0.1-py3-none-any.whl"
    with zipfile.ZipFile(f"{wheel_directory}/{name}", "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return name
"""


def project(root: Path, requires: list[str]) -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n', encoding="utf-8"
    )
    (root / "backend.py").write_text(f"REQUIRES = {requires!r}\n{BACKEND}", encoding="utf-8")
    return root


def lock(root: Path, entries: dict[str, Path]) -> None:
    """requirements/wheels-<X.Y>.txt for every Python version, as `npm run lock` writes them."""
    (root / "requirements").mkdir(exist_ok=True)
    lines = [
        f"{name}==1.0 \\\n    --hash=sha256:{hashlib.sha256(wheel.read_bytes()).hexdigest()}"
        for name, wheel in entries.items()
    ]
    for version in PYTHON_VERSIONS:
        (root / "requirements" / f"wheels-{version}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def build(root: Path, wheelhouse: Path, dest: Path) -> subprocess.CompletedProcess[str]:
    """scripts/wheels.mjs's buildWheels for `root`, offline: pip finds packages only in `wheelhouse`."""
    script = (
        f"import {{ buildWheels }} from {json.dumps((REPO_ROOT / 'scripts' / 'wheels.mjs').as_uri())};\n"
        f"await buildWheels({{ root: {json.dumps(str(root))}, dest: {json.dumps(str(dest))}, "
        f"python: {json.dumps(sys.executable)} }});\n"
    )
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run(
        ["node", "--input-type=module", "-e", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    folder = tmp_path / "wheelhouse"
    make_wheel(folder, "dep", "1.0", "GENUINE = True\n")
    make_wheel(folder, "other", "1.0", "OTHER = True\n")
    return folder


def test_a_wheel_that_differs_from_the_lock_stops_the_build(node: str, tmp_path: Path, wheelhouse: Path) -> None:
    """The locked wheels are shipped; the same name and version with other content is refused, naming the package."""
    root = project(tmp_path / "project", ["dep==1.0"])
    lock(root, {"dep": wheelhouse / "dep-1.0-py3-none-any.whl"})
    genuine = build(root, wheelhouse, tmp_path / "genuine")
    assert genuine.returncode == 0, genuine.stderr
    manifest = json.loads((tmp_path / "genuine" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["sets"]["3.12"] == ["dep-1.0-py3-none-any.whl", "fakecore-0.1-py3-none-any.whl"]

    make_wheel(wheelhouse, "dep", "1.0", "GENUINE = False  # swapped on the index\n")
    swapped = build(root, wheelhouse, tmp_path / "swapped")
    assert swapped.returncode != 0
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in swapped.stderr
    assert re.search(r"dep==1\.0 from .*dep-1\.0-py3-none-any\.whl", swapped.stderr), swapped.stderr
    assert not (tmp_path / "swapped" / "manifest.json").exists()


def test_a_lock_missing_a_dependency_of_pyproject_stops_the_build(node: str, tmp_path: Path, wheelhouse: Path) -> None:
    """A dependency added to pyproject.toml but not to the lock: the build names the lock and `npm run lock`."""
    root = project(tmp_path / "project", ["dep==1.0", "other>=1"])
    lock(root, {"dep": wheelhouse / "dep-1.0-py3-none-any.whl"})
    done = build(root, wheelhouse, tmp_path / "dest")
    assert done.returncode != 0
    assert "requirements/wheels-3.1" in done.stderr
    assert "does not match pyproject.toml's dependencies: run `npm run lock`" in done.stderr


def test_a_lock_naming_a_package_nothing_requires_stops_the_build(node: str, tmp_path: Path, wheelhouse: Path) -> None:
    """A dependency removed from pyproject.toml but left in the lock would ship unused code: refused, named."""
    root = project(tmp_path / "project", ["dep==1.0"])
    lock(root, {"dep": wheelhouse / "dep-1.0-py3-none-any.whl", "other": wheelhouse / "other-1.0-py3-none-any.whl"})
    done = build(root, wheelhouse, tmp_path / "dest")
    assert done.returncode != 0
    assert "run `npm run lock` (it names other, which nothing requires)" in done.stderr


def locked(version: str) -> dict[str, str]:
    """name -> sha256 of requirements/wheels-<version>.txt."""
    text = (REPO_ROOT / "requirements" / f"wheels-{version}.txt").read_text(encoding="utf-8").replace("\\\n", " ")
    return dict(re.findall(r"^([a-z0-9-]+)==\S+\s+--hash=sha256:([0-9a-f]{64})", text, re.MULTILINE))


def test_the_vsix_ships_exactly_the_locked_wheels_and_lists_them(vsix: Path) -> None:
    """`npm run package`: each wheel set is the lock (same sha256) plus the dbcicd wheel; sbom.cdx.json lists every
    shipped file with its hash; the LICENSE travels at the extension's root and in the task folder."""
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        task = "tasks/databricks"
        manifest = json.loads(archive.read(f"{task}/wheels/manifest.json"))
        sbom = json.loads(archive.read(f"{task}/sbom.cdx.json"))
        digests = {name: hashlib.sha256(archive.read(name)).hexdigest() for name in names if name.endswith(".whl")}
        license_texts = {archive.read(path) for path in ("LICENSE", f"{task}/LICENSE")}
    assert license_texts == {(REPO_ROOT / "LICENSE").read_bytes()}
    assert sorted(manifest["sets"]) == list(PYTHON_VERSIONS)
    for version, wheels in manifest["sets"].items():
        shipped = {digests[f"{task}/wheels/{w}"] for w in wheels if not w.startswith("dbcicd-")}
        assert shipped == set(locked(version).values()), version
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"] == "1.5"
    listed = {c["purl"]: c["hashes"][0]["content"] for c in sbom["components"] if c["purl"].startswith("pkg:pypi/")}
    assert sorted(listed.values()) == sorted(digests.values())
    for name, digest in locked("3.12").items():
        assert any(purl.startswith(f"pkg:pypi/{name}@") and listed[purl] == digest for purl in listed), name
    npm = [c for c in sbom["components"] if c["purl"].startswith("pkg:npm/")]
    assert any(c["name"] == "azure-pipelines-task-lib" and c["hashes"][0]["alg"] == "SHA-512" for c in npm)
