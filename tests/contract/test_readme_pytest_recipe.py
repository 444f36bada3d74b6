"""The README's pytest recipe, copied verbatim into a test notebook in `tests/` of a Git remote, beside unit tests
and other test notebooks as the README lays them out, run by `dbcicd test` on default (serverless) compute: its
test cases are in the published results, the other notebooks are not imported by pytest, the working directory
does not matter, a failing case fails the step with its assertion on the console, and a recipe that collects
nothing is never a pass."""

from __future__ import annotations

import re
import textwrap
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dbcicd.entry.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"
HEADER = "# Databricks notebook source\n"
CHECKS = "def test_add():\n    assert 1 + 1 == 2\n\n\ndef test_sub():\n    assert 2 - 1 == 0, 'subtraction is broken'\n"
PASSING = CHECKS.replace("2 - 1 == 0", "2 - 1 == 1")
# Another test notebook beside them: pytest importing it would fail, for `dbutils` exists only in a notebook.
PIPELINE = HEADER + 'print("rows:", len(dbutils.widgets.get("dbcicd_results_dir")) > 0)\n'
# Serverless compute does not guarantee the working directory (docs.databricks.com/compute/serverless/limitations:
# "The working directory for notebooks and job tasks is not guaranteed"): a cell before the recipe moves it away
# from the repository, so that a recipe relying on it fails.
ELSEWHERE = "import os\nimport tempfile\n\nos.chdir(tempfile.mkdtemp())\n\n# COMMAND ----------\n\n"


def readme_recipe() -> str:
    """The Results section's Python block that runs pytest."""
    blocks = re.findall(r"^( *)```python\n(.*?)^\1```", README.read_text(encoding="utf-8"), re.M | re.S)
    [recipe] = [textwrap.dedent(body) for _, body in blocks if "pytest.main" in body and "dbcicd_results_dir" in body]
    return recipe


def run_test(remote: Any, cwd: Path, *extra: str) -> int:
    parent = f"/Repos/recipe-{time.time_ns() % 10**9}"
    args = ["test", "--git-url", remote.url, "--git-provider", "gitHub", "--branch", "main", "--temp-folder", parent]
    return main([*args, "-n", "tests/test_*", "--report-dir", str(cwd / "results"), *extra])


def published_cases(folder: Path) -> dict[str, str]:
    """name -> outcome of every test case in the JUnit files of `folder`."""
    cases = {}
    for path in folder.glob("*.xml"):
        for case in ET.parse(path).getroot().iter("testcase"):
            failed = case.find("failure") is not None or case.find("error") is not None
            cases[case.get("name", "")] = "failed" if failed else "passed"
    return cases


def test_the_readme_recipe_runs_beside_test_notebooks_from_any_working_directory(
    cli_env: Path, make_remote: Callable[..., Any]
) -> None:
    recipe = HEADER + ELSEWHERE + readme_recipe()
    layout = {"tests/test_unit.py": recipe, "tests/test_math.py": PASSING, "tests/test_pipeline.py": PIPELINE}
    remote = make_remote(layout)
    assert run_test(remote, cli_env) == 0
    assert published_cases(cli_env / "results") == {
        "tests_test_unit": "passed",
        "tests_test_pipeline": "passed",
        "test_add": "passed",
        "test_sub": "passed",
    }


def test_the_readme_recipe_publishes_its_cases(
    cli_env: Path, make_remote: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    remote = make_remote({"tests/test_unit.py": HEADER + readme_recipe(), "tests/test_math.py": CHECKS})
    assert run_test(remote, cli_env) == 1
    captured = capsys.readouterr()
    err = captured.out + captured.err
    assert published_cases(cli_env / "results") == {
        "tests_test_unit": "failed",
        "test_add": "passed",
        "test_sub": "failed",
    }
    assert "FAILED tests_test_unit: tests.test_math.test_sub: AssertionError: subtraction is broken" in err


def test_the_readme_recipe_fails_when_pytest_collects_nothing(
    cli_env: Path, make_remote: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """No test module under tests/: pytest exits 5, the notebook fails, and the empty JUnit file is a failure."""
    remote = make_remote({"tests/test_unit.py": HEADER + readme_recipe(), "tests/helpers.py": "X = 1\n"})
    assert run_test(remote, cli_env) == 1
    captured = capsys.readouterr()
    err = captured.out + captured.err
    assert "pytest exited with code 5" in err
    assert "with no test cases: did pytest collect nothing?" in err
