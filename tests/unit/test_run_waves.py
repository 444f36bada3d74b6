"""Many notebooks on one existing cluster start in waves of 145, the execution contexts a cluster holds; on
serverless or new clusters they all start at once."""

from __future__ import annotations

import pytest

from dbcicd.options.compute import Compute
from dbcicd.steps.runs import NotebookRun


def run_of(count: int, compute: Compute) -> NotebookRun:
    notebooks = [f"/Repos/ci/project/tests/test_{i:03}" for i in range(count)]
    return NotebookRun("dbcicd project", notebooks, "/Repos/ci/project", {}, compute, "/tmp/results", 0)


CLUSTER = Compute("existingCluster", existing_cluster_id="0123-456789-abcdefgh")


def test_more_than_145_notebooks_on_a_cluster_start_in_waves() -> None:
    """Task 146 waits for task 1, task 291 for task 146, whatever their results (ALL_DONE); at most 145 start at
    once, and the log says why."""
    run = run_of(300, CLUSTER)
    tasks = run.tasks()
    assert all(t.depends_on is None and t.run_if is None for t in tasks[:145])
    assert [d.task_key for d in tasks[145].depends_on] == [tasks[0].task_key]
    assert [d.task_key for d in tasks[290].depends_on] == [tasks[145].task_key]
    assert {t.run_if.value for t in tasks[145:]} == {"ALL_DONE"}
    assert all(t.existing_cluster_id == "0123-456789-abcdefgh" for t in tasks)
    note = run.waves_note()
    assert note.startswith("300 notebooks on cluster 0123-456789-abcdefgh: starting at most 145 at a time")
    assert "execution contexts" in note and "Serverless" in note


@pytest.mark.parametrize(
    ("count", "compute"),
    [(145, CLUSTER), (300, Compute("serverless")), (300, Compute("newCluster"))],
    ids=["145 on a cluster", "serverless", "new clusters"],
)
def test_otherwise_every_notebook_starts_at_once(count: int, compute: Compute) -> None:
    run = run_of(count, compute)
    assert all(t.depends_on is None and t.run_if is None for t in run.tasks())
    assert run.waves_note() == ""
