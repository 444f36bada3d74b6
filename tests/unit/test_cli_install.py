"""Installing the Databricks CLI release the task pins (steps/cliinstall.py), from a loopback server that serves a
release as GitHub does: checksum verified against the published SHA256SUMS, kept in the tool cache, a tampered
archive refused with nothing installed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dbcicd.errors import DbcicdError
from dbcicd.options.names import TASK_NAMES
from dbcicd.steps.cliinstall import TOOL_NAME, install
from release_server import release_files, serving


def test_a_release_is_verified_installed_and_then_taken_from_the_tool_cache(tmp_path: Path) -> None:
    said: list[str] = []
    with serving(release_files("1.13.0")) as (url, asked):
        program = install("1.13.0", tmp_path, url, TASK_NAMES, said.append)
        again = install("1.13.0", tmp_path, url, TASK_NAMES, said.append)
    assert program == again and program.parent.parent.parent.name == TOOL_NAME
    assert len(asked) == 2, "the second install is served from the tool cache"
    assert any("verified" in line for line in said)
    version = subprocess.run([str(program), "version"], capture_output=True, text=True, timeout=60)
    assert version.stdout.startswith("Databricks CLI v1.13.0")
    assert sorted(p.name for p in program.parent.iterdir()) == ["databricks"], "only the program is unpacked"


def test_a_tampered_archive_is_refused_and_nothing_is_cached(tmp_path: Path) -> None:
    refused = pytest.raises(DbcicdError, match="does not match its published SHA256 checksum")
    with serving(release_files("1.13.0", tampered=True)) as (url, _), refused:
        install("1.13.0", tmp_path, url, TASK_NAMES, lambda _: None)
    assert not (tmp_path / TOOL_NAME).exists() or not any((tmp_path / TOOL_NAME).rglob("databricks"))


def test_a_release_that_is_not_there_names_the_input_to_check(tmp_path: Path) -> None:
    with serving({}) as (url, _), pytest.raises(DbcicdError, match="Check the release in cliVersion") as refused:
        install("9.9.9", tmp_path, url, TASK_NAMES, lambda _: None)
    assert "cliPath" in str(refused.value)
