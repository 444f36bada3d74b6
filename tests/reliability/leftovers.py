"""What a task run leaves in the workspace: its Databricks runs (found by the build id dbcicd writes into every run
name) and Git folders. Every reliability test ends by asserting that nothing of its build is still active or left."""

from __future__ import annotations

from dataclasses import dataclass

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
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


def objects_under(client: WorkspaceClient, parent: str) -> list[str]:
    """The paths of whatever is in `parent` (uploaded folders are plain workspace folders, not Git folders)."""
    try:
        return [info.path or "" for info in client.workspace.list(parent)]
    except NotFound:
        return []


@dataclass
class Leftovers:
    """What a build has in the workspace: all its runs, the ones still active, and the Git folders under `parent`."""

    build_id: str
    parent: str
    runs: list[jobs.BaseRun]
    active: list[int]
    folders: list[str]

    @classmethod
    def of(cls, client: WorkspaceClient, build_id: str, parent: str, uploaded: bool = False) -> Leftovers:
        """`uploaded`: the step uploaded its source (`source: upload`), so anything under `parent` is left over."""
        active = [run.run_id or 0 for run in runs_of_build(client, build_id, active_only=True)]
        folders = objects_under(client, parent) if uploaded else git_folders_under(client, parent)
        return cls(build_id, parent, runs_of_build(client, build_id), active, folders)

    def assert_none(self, context: str = "") -> None:
        """No run of the build still active and no Git folder under `parent`; `context` follows the failure."""
        assert self.active == [], f"runs of build {self.build_id} still active: {self.active}\n{context}"
        assert self.folders == [], f"Git folders left under {self.parent}: {self.folders}\n{context}"


def assert_nothing_left(client: WorkspaceClient, build_id: str, parent: str) -> None:
    """No run of the build still active and no Git folder under `parent`."""
    Leftovers.of(client, build_id, parent).assert_none()
