"""The records by which a local workspace stops what a killed one left running: by process id and start time, so a
process that got a recorded id after the recorded process ended is never touched."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from dbcicd_localworkspace.runtime import process_records

pytestmark = pytest.mark.skipif(os.name != "posix", reason="start times are read on POSIX systems")


def test_a_recorded_process_still_running_is_stopped_with_its_group_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leader = subprocess.Popen(["sh", "-c", "sleep 60 & wait"], start_new_session=True)
    record = tmp_path / "leftover.json"
    process_records.write(record, process_records.of(leader.pid, "a test's sleeper"))

    process_records.stop_leftovers([record])

    assert leader.wait(timeout=10) < 0
    assert f"Stopped process {leader.pid} (a test's sleeper)" in capsys.readouterr().err
    assert not record.exists()


def test_a_process_that_only_has_a_recorded_id_is_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """This test's own process, recorded with another start time: the id was given again after the recorded process
    ended."""
    record = tmp_path / "reused.json"
    process_records.write(record, {**process_records.of(os.getpid(), "long gone"), "start_time": "0"})

    process_records.stop_leftovers([record])

    assert capsys.readouterr().err == ""
    assert not record.exists()  # it named a process that has ended


def test_a_process_is_running_until_it_ends() -> None:
    sleeper = subprocess.Popen(["sleep", "60"])
    record = process_records.of(sleeper.pid, "a sleeper")
    assert process_records.running(record)
    sleeper.kill()
    sleeper.wait()
    assert not process_records.running(record)
