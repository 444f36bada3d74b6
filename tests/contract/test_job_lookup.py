"""jobName through the Jobs API's own filter: jobs/list `name=` is exact and case-insensitive, the SDK follows its
pages, and a name matching nothing costs one more page of jobs/list for its hint, however many jobs there are."""

from __future__ import annotations

import pytest
from contract_target import Target
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from dbcicd.errors import ConfigurationError
from dbcicd.steps.runs import find_job
from dbcicd_localworkspace import Tenant

LIST = "GET /api/2.2/jobs/list"


def make_jobs(client: WorkspaceClient, names: list[str]) -> list[int]:
    """Jobs of one notebook task each (never run), oldest first."""
    task = jobs.Task(task_key="t", notebook_task=jobs.NotebookTask(notebook_path="/Shared/never-run"))
    return [int(client.jobs.create(name=name, tasks=[task]).job_id) for name in names]  # type: ignore[arg-type]


def test_job_name_matches_exactly_and_case_insensitively(client: WorkspaceClient, target: Target) -> None:
    """The name in any case finds its job; a name that only begins like it finds nothing, naming it as similar."""
    name = f"{target.session} Nightly ETL"
    [job_id, _] = make_jobs(client, [name, f"{name} (copy)"])
    assert find_job(client, None, name.upper()).job_id == job_id
    assert find_job(client, None, f"  {name.lower()} ").job_id == job_id
    with pytest.raises(ConfigurationError, match=r"matches no job; similar: .*Nightly ETL"):
        find_job(client, None, f"{target.session} Nightly")


def test_a_job_among_many_is_found_with_one_filtered_call(
    isolated_client: WorkspaceClient, isolated_workspace: Tenant
) -> None:
    """The oldest of 50 jobs, on the third page of an unfiltered list (20 a page), is found by one jobs/list call
    with `name`."""
    [wanted, *_] = make_jobs(isolated_client, ["weekly report"] + [f"job {i}" for i in range(49)])
    isolated_workspace.calls.clear()
    assert find_job(isolated_client, None, "Weekly Report").job_id == wanted
    assert isolated_workspace.calls[LIST] == 1


def test_matches_on_several_pages_are_all_named(isolated_client: WorkspaceClient, isolated_workspace: Tenant) -> None:
    """Two jobs of one name 25 jobs apart, and 101 of another: every match is read, across pages of the filter."""
    first, *_, second = make_jobs(isolated_client, ["dup"] + [f"job {i}" for i in range(25)] + ["DUP"])
    with pytest.raises(ConfigurationError, match=rf"matches 2 jobs \(id {second}, id {first}\)"):
        find_job(isolated_client, None, "dup")
    make_jobs(isolated_client, ["many"] * 101)
    isolated_workspace.calls.clear()
    with pytest.raises(ConfigurationError, match="matches 101 jobs"):
        find_job(isolated_client, None, "many")
    assert isolated_workspace.calls[LIST] == 2  # 100 a page


def test_an_unknown_name_reads_one_page_for_its_hint(
    isolated_client: WorkspaceClient, isolated_workspace: Tenant
) -> None:
    """In a workspace of 150 jobs, a name matching none costs the filtered call and one page of the newest jobs,
    not a walk through all of them."""
    make_jobs(isolated_client, [f"job {i}" for i in range(149)] + ["nightly ingest"])
    isolated_workspace.calls.clear()
    with pytest.raises(ConfigurationError, match="'nightly' matches no job; similar: 'nightly ingest'"):
        find_job(isolated_client, None, "nightly")
    assert isolated_workspace.calls[LIST] == 2
