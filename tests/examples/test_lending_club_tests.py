"""The lending-club example's integration-test notebook (examples/lending-club/tests/test_pipeline.py), run by
`dbcicd test` on default (serverless) compute as the example's pipeline runs it, from a working directory that is not
its folder, with a pipeline that fails halfway: pytest still finds the tests (from the notebook's own path), the
failure is published as a test result, and the Delta table of the run is dropped all the same."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient

from dbcicd.entry.cli import main
from junit_reader import read

pytestmark = [pytest.mark.spark, pytest.mark.slow]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lending-club"
NOT_PUBLISHED = {"__pycache__", ".pytest_cache", ".ruff_cache", "demo.py"}
CELL = "# COMMAND ----------"
# Serverless compute does not guarantee the working directory (docs.databricks.com/compute/serverless/limitations:
# "The working directory for notebooks and job tasks is not guaranteed"): a cell after the notebook's %pip cell moves
# it away from the Git folder, so that a notebook finding its tests from it would collect none.
ELSEWHERE = "\n\nimport os\nimport tempfile\n\nos.chdir(tempfile.mkdtemp())\n\n"
# The one integration test whose fixture runs the staging flow (prepare, train, evaluate); with min_improvement out
# of range the evaluation fails after the batch was merged into the run's table and a model registered.
FIRST_STEP = "test_data_preparation_keeps_usable_applications"
# The notebook's first run on the session's workspace: the tests' %pip installs, a warm Spark server's lease (or a
# server's start), the unit tests of the Spark engine and the prepare and train notebooks took 150 s on two busy
# cores. Three times that.
TEST_TIMEOUT_S = 450


def example_published(test_notebook: str) -> dict[str, str]:
    """The example as its repository holds it, with `test_notebook` as tests/test_pipeline.py."""
    files = {
        str(path.relative_to(EXAMPLE)): path.read_text(encoding="utf-8")
        for path in EXAMPLE.rglob("*")
        if path.is_file() and not NOT_PUBLISHED & set(path.relative_to(EXAMPLE).parts)
    }
    return {**files, "tests/test_pipeline.py": test_notebook}


def moved_away(notebook: str) -> str:
    """The notebook with a cell that changes the working directory, right after its %pip cell."""
    cells = notebook.split(CELL)
    after_pip = next(index for index, cell in enumerate(cells) if "%pip install" in cell) + 1
    return CELL.join([*cells[:after_pip], ELSEWHERE, *cells[after_pip:]])


@pytest.mark.timeout(TEST_TIMEOUT_S)
def test_the_integration_notebook_finds_its_tests_from_anywhere_and_drops_its_table_when_they_fail(
    cli_env: Path, make_remote: Callable[..., Any], client: WorkspaceClient
) -> None:
    tag = uuid.uuid4().hex[:8]
    notebook = moved_away((EXAMPLE / "tests" / "test_pipeline.py").read_text(encoding="utf-8"))
    remote = make_remote(example_published(notebook))
    parameters = {
        "engine": "spark",
        "table": f"main.default.lc_{tag}",  # the run's table: main.default.lc_<tag>_test_<run id>
        "model_name": f"lc_{tag}",
        "data_dir": f"/dbfs/lc-{tag}",
        "rows": "500",
        "min_improvement": "1.5",
        "test_filter": FIRST_STEP,
    }
    args = ["test", "--git-url", remote.url, "--git-provider", "gitHub", "--branch", "main"]
    args += ["--temp-folder", f"/Repos/lending-club-{time.time_ns() % 10**9}", "-n", "tests/test_pipeline"]
    args += [option for key, value in parameters.items() for option in ("-p", f"{key}={value}")]
    assert main([*args, "--report-dir", str(cli_env / "results")]) == 1

    cases = {case.title: case for file in (cli_env / "results").glob("*.xml") for case in read(file)}
    assert cases["tests_test_pipeline"].outcome == "Failed"
    # pytest found and ran the selected test; it failed at the evaluation, after the merge and the training.
    assert cases[FIRST_STEP].outcome == "Failed"
    assert "min_improvement must be a fraction" in cases[FIRST_STEP].stack_trace + cases[FIRST_STEP].error_message
    assert not [t.name for t in client.tables.list("main", "default") if t.name and t.name.startswith(f"lc_{tag}")]
