"""`dbcicd local serve` runs the local workspace when it is installed beside dbcicd, and says how to install it, with
exit code 2, when it is not: the local workspace is a distribution of its own (dbcicd-localworkspace), which the
task's wheels do not carry. Without it: a virtual environment holding a copy of dbcicd's package only, as pip would
install it (this path of the command line needs nothing else). With it: this environment, where both are installed."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import venv
from pathlib import Path

from databricks.sdk import WorkspaceClient

import dbcicd

SERVE_TIMEOUT_S = 60


def environment(folder: Path, *packages: Path) -> Path:
    """A virtual environment holding copies of `packages`, and nothing else; returns its Python."""
    venv.create(folder, with_pip=False)
    python = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for package in packages:
        shutil.copytree(package, Path(site) / package.name, ignore=shutil.ignore_patterns("__pycache__"))
    return python


def isolated_env() -> dict[str, str]:
    """The process environment without PYTHONPATH, which could hand the local workspace to the new environment."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def test_without_the_local_workspace_serve_says_how_to_install_it(tmp_path: Path) -> None:
    python = environment(tmp_path / "venv", Path(dbcicd.__file__).parent)
    done = subprocess.run(
        [str(python), "-m", "dbcicd", "local", "serve"],
        capture_output=True,
        text=True,
        env=isolated_env(),
        timeout=SERVE_TIMEOUT_S,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert "dbcicd-localworkspace" in done.stderr
    assert f"{python} -m pip install ./localworkspace" in done.stderr
    assert "Traceback" not in done.stderr


def test_with_the_local_workspace_installed_serve_runs_it(tmp_path: Path) -> None:
    assert importlib.util.find_spec("dbcicd_localworkspace") is not None
    process = subprocess.Popen(
        [sys.executable, "-m", "dbcicd", "local", "serve", "--root", str(tmp_path / "ws")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        printed = dict(process.stdout.readline().strip().split("=", 1) for _ in range(2))
        client = WorkspaceClient(host=printed["DATABRICKS_HOST"], token=printed["DATABRICKS_TOKEN"], auth_type="pat")
        assert client.current_user.me().user_name
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=SERVE_TIMEOUT_S)
    assert process.returncode == 0, stderr
    assert "Local workspace stopped." in stderr
