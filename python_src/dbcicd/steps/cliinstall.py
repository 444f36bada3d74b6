"""The Databricks CLI a bundle command runs: `cliPath`, else the one on PATH, else the pinned release `cliVersion`
installed into the agent's tool cache, its archive checked against the checksum the release publishes.

Releases are github.com/databricks/cli/releases/download/v<version>/databricks_cli_<version>_<os>_<arch>.zip, with
`databricks_cli_<version>_SHA256SUMS` beside them (lines `<sha256>  <file name>`, as sha256sum writes them); the
archive holds the `databricks` program (`databricks.exe` on Windows) at its root (databricks/setup-cli install.sh
downloads and unzips the same files). DBCICD_CLI_RELEASES_URL replaces the base URL, for a mirror of the releases
reachable from a private agent. The cache follows the tool cache's layout (microsoft/azure-pipelines-tool-lib,
tool.ts cacheDir: `<Agent.ToolsDirectory>/<tool>/<version>/<arch>`, complete once `<arch>.complete` is written
beside it), so the agent's tool cache clean-up treats it like any other tool.
"""

from __future__ import annotations

import hashlib
import io
import os
import platform
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import requests

from ..errors import ConfigurationError, DbcicdError
from ..options.bundle import BundleOptions
from ..options.names import Names

RELEASES_URL = "https://github.com/databricks/cli/releases/download"
RELEASES_URL_VARIABLE = "DBCICD_CLI_RELEASES_URL"
TOOL_NAME = "databricks-cli"
DOWNLOAD_TIMEOUT_S = 120
VERSION_TIMEOUT_S = 30
# cmd/version/version.go: `Databricks CLI v<version>`. The legacy Python package databricks-cli prints
# `Version 0.18.0` instead, and has no bundle commands.
_VERSION_LINE = re.compile(r"Databricks CLI v(\d+\.\d+\.\d+)")
_ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def find_cli(
    bundle: BundleOptions, tools_dir: Path, environ: Mapping[str, str], names: Names, say: Callable[[str], None]
) -> Path:
    """The CLI to run: cliPath; else the one on PATH (unless cliVersion asks for another release); else the pinned
    release, from the tool cache or installed there."""
    if bundle.cli_path:
        return Path(bundle.cli_path)
    on_path = shutil.which("databricks", path=environ.get("PATH"))
    if on_path:
        version = cli_version(Path(on_path))
        if version and (not bundle.cli_version_given or version == bundle.cli_version):
            say(f"Databricks CLI v{version} at {on_path}")
            return Path(on_path)
        why = (
            f"is v{version}, not v{bundle.cli_version}" if version else "is not the Databricks CLI (no bundle commands)"
        )
        say(f"The databricks on PATH ({on_path}) {why}: using the release v{bundle.cli_version}")
    return install(bundle.cli_version, tools_dir, environ.get(RELEASES_URL_VARIABLE) or RELEASES_URL, names, say)


def cli_version(program: Path) -> str:
    """The version `databricks version` prints; '' when it is not the (new) Databricks CLI."""
    try:
        done = subprocess.run(
            [str(program), "version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    found = _VERSION_LINE.search(done.stdout)
    return found.group(1) if found and done.returncode == 0 else ""


def install(version: str, tools_dir: Path, base_url: str, names: Names, say: Callable[[str], None]) -> Path:
    """The release `version` from the tool cache, downloaded, verified and cached first if it is not there."""
    system, arch, program_name = _platform()
    folder = tools_dir / TOOL_NAME / version / arch
    program = folder / program_name
    if (tools_dir / TOOL_NAME / version / f"{arch}.complete").is_file() and program.is_file():
        say(f"Databricks CLI v{version} from the tool cache ({program})")
        return program
    archive_name = f"databricks_cli_{version}_{system}_{arch}.zip"
    url = f"{base_url.rstrip('/')}/v{version}"
    say(f"Installing Databricks CLI v{version} from {url}/{archive_name}")
    archive = _download(f"{url}/{archive_name}", names)
    sums = _download(f"{url}/databricks_cli_{version}_SHA256SUMS", names).decode("utf-8", "replace")
    expected = _published_sum(sums, archive_name)
    actual = hashlib.sha256(archive).hexdigest()
    if expected is None:
        raise DbcicdError(
            f"The checksums of Databricks CLI v{version} list no {archive_name}: not installed. Give "
            f"{names.label('cliPath')} to use a CLI you installed"
        )
    if actual != expected:
        raise DbcicdError(
            f"{archive_name} does not match its published SHA256 checksum (expected {expected}, got {actual}): "
            "refused, nothing installed. Download it again later, or check what is between the agent and "
            f"{base_url}"
        )
    _unpack(archive, program_name, folder)
    (tools_dir / TOOL_NAME / version / f"{arch}.complete").write_text("")
    say(f"Installed Databricks CLI v{version} (SHA256 {actual[:16]}... verified) in {folder}")
    return program


def _platform() -> tuple[str, str, str]:
    system = {"Linux": "linux", "Darwin": "darwin", "Windows": "windows"}.get(platform.system())
    arch = _ARCHES.get(platform.machine().lower())
    if system is None or arch is None:
        raise ConfigurationError(
            f"No Databricks CLI release is published for {platform.system()} {platform.machine()}: install the CLI "
            "yourself and give its path in cliPath"
        )
    return system, arch, "databricks.exe" if system == "windows" else "databricks"


def _download(url: str, names: Names) -> bytes:
    try:
        response = requests.get(url, timeout=DOWNLOAD_TIMEOUT_S)
        response.raise_for_status()
    except requests.RequestException as err:
        raise DbcicdError(
            f"Could not download {url}: {err}. Check the release in {names.label('cliVersion')}, or install the CLI "
            f"on the agent (PATH) or give {names.label('cliPath')}"
        ) from None
    return response.content


def _published_sum(sums: str, file_name: str) -> str | None:
    for line in sums.splitlines():
        digest, _, name = line.strip().partition(" ")
        if name.strip().lstrip("*") == file_name:
            return digest.lower()
    return None


def _unpack(archive: bytes, program_name: str, folder: Path) -> None:
    """The program alone from the archive, into `folder`, made whole in a temporary folder first so that a cache
    never holds half a program."""
    try:
        with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
            content = bundle.read(program_name)
    except (zipfile.BadZipFile, KeyError) as err:
        raise DbcicdError(
            f"The Databricks CLI release archive holds no {program_name} ({err}): not installed"
        ) from None
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=folder.parent))
    (staging / program_name).write_bytes(content)
    (staging / program_name).chmod(0o755)
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(staging, folder)
