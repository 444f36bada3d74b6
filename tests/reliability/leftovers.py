"""What a task run leaves in the workspace: its Databricks runs (found by the build id dbcicd writes into every run
name) and Git folders. Every reliability test ends by asserting that nothing of its build is still active or left."""

from __future__ import annotations

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs


def runs_of_build(client: WorkspaceClient, build_id: str, *, active_only: bool = False) -> list[jobs.BaseRun]:
    """The runs whose name carries `build <build_id> ` (every run dbcicd starts in a pipeline does)."""
    return [
        run
        for run in client.jobs.list_runs(active_only=active_only, run_type=jobs.RunType.SUBMIT_RUN)
        if f"build {build_id} " in (run.run_name or "")
    ]


def git_folders_under(client: WorkspaceClient, parent: str) -> list[str]:
    """The paths of the Git folders below `parent` (a folder such as the task's tempFolder)."""
    return [repo.path or "" for repo in client.repos.list(path_prefix=parent.rstrip("/") + "/")]


def assert_nothing_left(client: WorkspaceClient, build_id: str, parent: str) -> None:
    """No run of the build still active and no Git folder under `parent`."""
    active = [run.run_id for run in runs_of_build(client, build_id, active_only=True)]
    assert active == [], f"runs of build {build_id} still active: {active}"
    folders = git_folders_under(client, parent)
    assert folders == [], f"Git folders left under {parent}: {folders}"
