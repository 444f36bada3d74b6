"""%pip install in the notebook kernel: satisfied requirements untouched, environments built once and reused."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from kernel_helpers import Result, Workspace, magic, notebook

from dbcicd_localworkspace.runtime.libraries import read_requirements
from dbcicd_localworkspace.runtime.requirements import installed, installed_match
from wheels import make_wheel

PACKAGE = "dbcicd_pip_probe"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """pip may not reach any index: whatever it installs must come from local wheels."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")


def probe_notebook(wheels: Path) -> str:
    """Installs the probe package from `wheels`, imports it, and checks a subprocess sees it too."""
    return notebook(
        magic(f"%pip install --find-links {wheels} {PACKAGE}==1.0"),
        "import subprocess, sys\n"
        f"import {PACKAGE}\n"
        f"subprocess.run([sys.executable, '-c', 'import {PACKAGE}'], check=True)\n"
        f"dbutils.notebook.exit({PACKAGE}.__file__)",
    )


def test_satisfied_requirements_install_nothing(ws: Workspace, offline: None) -> None:
    """Requirements this interpreter meets (files nested with -r, comments) are reported, and no environment made."""
    libraries = ws.base / "libraries"
    ws.write("project/requirements.txt", "pytest>=7  # the runner\n-r more.txt\n")
    ws.write("project/more.txt", "databricks-sdk\n")
    nb = ws.write("project/nb.py", notebook(magic("%pip install -q -r requirements.txt"), "import pytest"))
    result = ws.run(nb, libraries_root=str(libraries))
    assert result.code == 0, result.stderr
    assert "Requirement already satisfied: pytest>=7 (" in result.stdout
    assert "Requirement already satisfied: databricks-sdk (" in result.stdout
    assert not libraries.exists()


def test_missing_package_is_installed_once_then_reused_offline(ws: Workspace, offline: None) -> None:
    """A missing package lands in a cached environment seen by the notebook and its subprocesses; a later task with
    the same requirements reuses that environment without running pip (the wheels are gone by then)."""
    libraries, wheels = ws.base / "libraries", ws.base / "wheels"
    make_wheel(wheels, PACKAGE, "1.0", "VALUE = 'probe'\n")
    first = ws.run(ws.write("a/nb.py", probe_notebook(wheels)), libraries_root=str(libraries))
    assert first.code == 0, first.stdout + first.stderr
    assert f"Successfully installed {PACKAGE}-1.0" in first.stdout

    for wheel in wheels.iterdir():
        wheel.unlink()
    second = ws.run(ws.write("b/nb.py", probe_notebook(wheels)), libraries_root=str(libraries))
    assert second.code == 0, second.stdout + second.stderr
    assert "Using the environment built before" in second.stdout
    assert second.exit_value == first.exit_value
    [environment] = [p for p in libraries.iterdir() if p.is_dir()]
    assert Path(first.exit_value).is_relative_to(environment)


def test_concurrent_tasks_build_one_environment(tmp_path: Path, offline: None) -> None:
    """Two kernels asking for the same requirements at once: one runs pip, the other waits and reuses its work."""
    libraries, wheels = tmp_path / "libraries", tmp_path / "wheels"
    make_wheel(wheels, PACKAGE, "1.0", "VALUE = 'probe'\n")
    results: list[Result] = []

    def run(name: str) -> None:
        (tmp_path / name).mkdir()
        ws = Workspace(tmp_path / name)
        results.append(ws.run(ws.write("nb.py", probe_notebook(wheels)), libraries_root=str(libraries)))

    threads = [threading.Thread(target=run, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.code for r in results] == [0, 0], [r.stdout + r.stderr for r in results]
    assert sum("Successfully installed" in r.stdout for r in results) == 1
    assert results[0].exit_value == results[1].exit_value


def test_failed_install_fails_the_task_and_leaves_no_environment(ws: Workspace, offline: None) -> None:
    """pip's failure is the cell's CalledProcessError, with pip's output in the log; nothing half-built stays."""
    libraries = ws.base / "libraries"
    nb = ws.write("nb.py", notebook(magic("%pip install dbcicd-no-such-package==1.0")))
    result = ws.run(nb, libraries_root=str(libraries))
    assert result.code == 1
    assert result.error == (
        "subprocess.CalledProcessError: Command 'pip install dbcicd-no-such-package==1.0' returned non-zero exit "
        "status 1."
    )
    assert "dbcicd-no-such-package" in result.stdout + result.stderr
    assert [p for p in libraries.iterdir() if p.is_dir()] == []


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (
            "%pip install -r missing.txt",
            "FileNotFoundError: Could not open requirements file missing.txt: No such file",
        ),
        ("%pip install --target lib six", "UnsupportedCommand: %pip install --target is not supported"),
        ("%pip install", "ValueError: %pip install needs packages or a requirements file"),
        ("%pip install -r", "ValueError: %pip install -r needs a value"),
        ("%pip list", "UnsupportedCommand: %pip list is not supported by the local workspace"),
    ],
)
def test_bad_pip_commands_fail_naming_the_problem(ws: Workspace, command: str, error: str) -> None:
    """Missing files, options that choose the install location, and other pip commands fail the task clearly."""
    result = ws.run(ws.write("nb.py", notebook(magic(command))), libraries_root=str(ws.base / "libraries"))
    assert result.code == 1
    assert error in result.error


def test_install_without_a_libraries_folder_says_which_field_is_missing(ws: Workspace) -> None:
    """A kernel spec without libraries_root runs notebooks, but %pip install names the missing field."""
    result = ws.run(ws.write("nb.py", notebook(magic(f"%pip install {PACKAGE}"))))
    assert result.code == 1
    assert "the kernel spec has no 'libraries_root'" in result.error


def test_requirement_files_nest_join_lines_and_keep_constraints_absolute(tmp_path: Path) -> None:
    """Nested -r files are read in place, continuations joined, comments dropped, -c made absolute; cycles fail."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "requirements.txt").write_text("numpy>=1 \\\n  ,<3  # pinned\n#only a comment\n-r sub/more.txt\n")
    (tmp_path / "sub" / "more.txt").write_text("-c constraints.txt\npandas#egg-like\n--index-url https://x/simple\n")
    lines = read_requirements("requirements.txt", str(tmp_path))
    assert lines == [
        "numpy>=1   ,<3",
        f"-c {tmp_path / 'sub' / 'constraints.txt'}",
        "pandas#egg-like",
        "--index-url https://x/simple",
    ]
    (tmp_path / "loop.txt").write_text("-r loop.txt\n")
    with pytest.raises(ValueError, match="includes itself"):
        read_requirements("loop.txt", str(tmp_path))


@pytest.mark.parametrize(
    ("line", "satisfied"),
    [
        ("demo", True),
        ("Demo_Pkg", False),
        ("demo>=1.2,<2", True),
        ("demo (>=1.2.0)", True),
        ("demo==1.4.*", True),
        ("demo!=1.4.*", False),
        ("demo~=1.3", True),
        ("demo~=1.5", False),
        ("demo~=1", False),
        ("demo===1.4.2", True),
        ("demo>1.4.2", False),
        ("demo==1.4.2.0", True),
        ("demo>=2.0rc1", False),
        ("demo[extra]", False),
        ('demo; python_version >= "3"', False),
        ("demo @ https://example.invalid/demo.whl", False),
        ("-e .", False),
    ],
)
def test_requirements_count_as_satisfied_only_when_certain(line: str, satisfied: bool) -> None:
    """Release specifiers are checked as PEP 440 does; extras, markers, URLs and pre-releases are left to pip."""
    versions = {"demo": "1.4.2", "demo-pkg": "1.0rc1"}
    assert (installed_match(line, versions) is not None) is satisfied


def test_installed_distribution_names_are_normalized() -> None:
    """scikit_learn, Scikit.Learn and scikit-learn name one distribution, whatever its metadata spells."""
    versions = installed()
    assert installed_match("Databricks_SDK", versions) == installed_match("databricks-sdk", versions) is not None
