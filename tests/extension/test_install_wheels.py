"""install_wheels.py, which the task runs with the agent's Python to unpack the core's wheels into the tool cache."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

INSTALLER = Path(__file__).resolve().parents[2] / "tasks" / "databricks" / "install_wheels.py"


@pytest.fixture(scope="module")
def installer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("install_wheels", INSTALLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wheel(folder: Path, name: str, members: dict[str, str]) -> Path:
    path = folder / name
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in members.items():
            archive.writestr(member, text)
    return path


def wheels_dir(tmp_path: Path, wheels: dict[str, dict[str, str]], digests: dict[str, str] | None = None) -> Path:
    """A wheels folder as the task carries it: the wheels and manifest.json with set "3.12"."""
    folder = tmp_path / "wheels"
    folder.mkdir()
    paths = [wheel(folder, name, members) for name, members in wheels.items()]
    sha256 = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}
    manifest = {"sets": {"3.12": sorted(wheels)}, "sha256": {**sha256, **(digests or {})}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


PKG = {
    "pkg/__init__.py": "VALUE = 1\n",
    "pkg-1.0.dist-info/METADATA": "Name: pkg\nVersion: 1.0\n",
    "pkg-1.0.data/purelib/extra_pure.py": "PURE = True\n",
    "pkg-1.0.data/platlib/extra_plat.py": "PLAT = True\n",
    "pkg-1.0.data/scripts/pkg-cli": "#!python\n",
}


def test_unpacks_importable_files_and_marks_the_folder_complete(installer: ModuleType, tmp_path: Path) -> None:
    """Package files, dist-info and .data/purelib|platlib land in the target; scripts do not; the marker is last."""
    target = tmp_path / "cache" / "py3.12"
    installer.install(wheels_dir(tmp_path, {"pkg-1.0-py3-none-any.whl": PKG}), "3.12", target)
    files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert files == sorted(
        [".dbcicd-complete", "pkg/__init__.py", "pkg-1.0.dist-info/METADATA", "extra_pure.py", "extra_plat.py"]
    )
    assert [p.name for p in target.parent.iterdir()] == ["py3.12"], "no temporary folder is left behind"


def test_refuses_a_damaged_wheel_and_leaves_no_folder(installer: ModuleType, tmp_path: Path) -> None:
    """A wheel whose sha256 differs from the recorded one is an error naming it; nothing is installed."""
    wheels = wheels_dir(tmp_path, {"pkg-1.0-py3-none-any.whl": PKG}, {"pkg-1.0-py3-none-any.whl": "0" * 64})
    target = tmp_path / "cache" / "py3.12"
    with pytest.raises(installer.InstallError, match=r"pkg-1.0-py3-none-any.whl is damaged"):
        installer.install(wheels, "3.12", target)
    assert list(target.parent.iterdir()) == []


def test_refuses_paths_outside_the_target(installer: ModuleType, tmp_path: Path) -> None:
    """A member such as ../evil.py is refused."""
    wheels = wheels_dir(tmp_path, {"evil-1.0-py3-none-any.whl": {"../evil.py": "x = 1\n"}})
    with pytest.raises(installer.InstallError, match=r"unsafe path '../evil.py'"):
        installer.install(wheels, "3.12", tmp_path / "cache" / "py3.12")
    assert not (tmp_path / "cache" / "evil.py").exists()


def test_keeps_a_folder_another_job_completed(installer: ModuleType, tmp_path: Path) -> None:
    """A target that already has its marker is used as it is."""
    target = tmp_path / "cache" / "py3.12"
    target.mkdir(parents=True)
    (target / ".dbcicd-complete").write_text("{}")
    installer.install(wheels_dir(tmp_path, {"pkg-1.0-py3-none-any.whl": PKG}), "3.12", target)
    assert sorted(p.name for p in target.iterdir()) == [".dbcicd-complete"]


def test_replaces_a_folder_left_without_its_marker(installer: ModuleType, tmp_path: Path) -> None:
    """A target without the marker (not made by an install) is replaced by a complete one."""
    target = tmp_path / "cache" / "py3.12"
    target.mkdir(parents=True)
    (target / "stale.py").write_text("")
    installer.install(wheels_dir(tmp_path, {"pkg-1.0-py3-none-any.whl": PKG}), "3.12", target)
    assert (target / ".dbcicd-complete").exists()
    assert not (target / "stale.py").exists()


def test_command_line_reports_an_unknown_set(
    installer: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit code 1 and the sets it has when asked for one it does not have."""
    wheels = wheels_dir(tmp_path, {"pkg-1.0-py3-none-any.whl": PKG})
    assert installer.main([str(wheels), "3.9", str(tmp_path / "cache" / "py3.9")]) == 1
    assert "the task has no wheel set '3.9' (it has 3.12)" in capsys.readouterr().err
