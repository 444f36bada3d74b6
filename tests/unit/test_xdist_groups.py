"""The groups tests/conftest.py gives pytest-xdist (`--dist loadgroup` runs a group on one worker), read from a
collection of real test modules: the Spark tests and the demo share one group, the tests of a module with a
module-scoped fixture share that module's, and the rest have none (any worker takes them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# A plugin that prints each collected test's group as JSON: what xdist's own hook reads after ours.
REPORTER = """
import json

def pytest_collection_finish(session):
    groups = {}
    for item in session.items:
        mark = item.get_closest_marker("xdist_group")
        groups[item.nodeid] = mark.args[0] if mark else None
    print("GROUPS " + json.dumps(groups))
"""
MODULES = [
    "tests/contract/test_spark.py",  # marked `spark`
    "tests/examples/test_demo.py",  # starts Spark servers where Spark runs, without the `spark` mark
    "tests/reliability/test_faults.py",  # every test reads the steps its module-scoped fixture runs
    "tests/unit/test_git_urls.py",  # neither
]


def collected_groups(tmp_path: Path) -> dict[str, str | None]:
    (tmp_path / "groups_reporter.py").write_text(REPORTER, encoding="utf-8")
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    done = subprocess.run(
        [*command, "-p", "groups_reporter", *MODULES],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("GROUPS "))
    return json.loads(line.removeprefix("GROUPS "))


@pytest.mark.slow  # a pytest collecting four modules: 36 s on a busy 2-core machine
def test_spark_tests_share_a_group_module_fixtures_keep_their_module_together_and_the_rest_go_anywhere(
    tmp_path: Path,
) -> None:
    groups = collected_groups(tmp_path)

    def of(module: str) -> set[str | None]:
        return {group for nodeid, group in groups.items() if nodeid.startswith(module + "::")}

    assert of("tests/contract/test_spark.py") == {"spark"}
    assert of("tests/examples/test_demo.py") == {"spark"}
    assert of("tests/reliability/test_faults.py") == {"tests/reliability/test_faults.py"}
    assert of("tests/unit/test_git_urls.py") == {None}
