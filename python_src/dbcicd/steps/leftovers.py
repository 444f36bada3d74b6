"""What killed agents leave behind: temporary Git folders, and the runs still going in them; and bundles a `test`
step deployed for its build alone (a temporary folder holding the bundle's files and state), with their jobs.

A step that ends by itself or is cancelled cleans up after itself (`teardown`); an agent killed outright (a lost VM, a
`kill -9`) cannot, and leaves its temporary Git folder and, often, its run still running in it. `cleanup` finds both:
the folders by their names, which only dbcicd makes (`tempnames`: dated, and marked), and the runs by the folder they
run in, so that deleting a folder never leaves a run going that reads from it.

The folders are listed through the Workspace API, not repos/list: that leaves out Git folders with Git CLI access
(databricks-sdk, `Repos.list`: "repos with the Git CLI enabled are not included in its results"), which is what
Databricks makes outside /Repos — where the default `tempFolder` is.
"""

from __future__ import annotations

import contextlib
import posixpath
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import ObjectInfo, ObjectType

from ..output import Output
from .tempnames import created_at


@dataclass(frozen=True)
class Leftover:
    """A temporary folder old enough to delete, and the active runs whose notebooks are in it. `folder_id` is the
    Git folder's repo id; None for a folder an upload made (`source: upload`), a plain workspace folder."""

    folder_id: int | None
    path: str
    made: datetime
    runs: tuple[jobs.BaseRun, ...] = ()
    jobs: tuple[int, ...] = ()  # jobs a bundle deployed from it (`test` with a bundle): deleted with it


@dataclass
class CleanupPlan:
    """What `cleanup` finds under its folder: the leftovers to remove, and how many Git folders it keeps."""

    leftovers: list[Leftover] = field(default_factory=list)
    young: int = 0  # dbcicd's, not old enough yet
    foreign: int = 0  # not made by dbcicd (no valid mark in the name): never touched

    @property
    def runs(self) -> int:
        return sum(len(left.runs) for left in self.leftovers)


def _runs_in(folder: str, run: jobs.BaseRun) -> bool:
    """Whether `run` runs from the Git folder at `folder`: a task's notebook lies in it, or it carries the run name
    dbcicd gives a run in that folder (`dbcicd <folder name> ... [tag]`, for a run whose tasks are not listed)."""
    inside = folder.rstrip("/") + "/"
    for task in run.tasks or []:
        path = (task.notebook_task.notebook_path if task.notebook_task else "") or ""
        path = path.removeprefix("/Workspace")
        if path.startswith(inside):
            return True
    return (run.run_name or "").startswith(f"dbcicd {posixpath.basename(folder)} ")


def find_leftovers(
    client: WorkspaceClient, parent: str, older_than: timedelta, now: datetime | None = None
) -> CleanupPlan:
    """dbcicd's temporary Git folders directly under `parent` made more than `older_than` ago, each with its active
    runs. Only names `tempnames` made — with a valid mark — are considered, so nothing else in `parent` is touched."""
    now = now or datetime.now(timezone.utc)
    parent = parent.rstrip("/")
    plan = CleanupPlan()
    found: list[tuple[int | None, str, datetime]] = []
    for info, folder_id in _temporary_folders_in(client, parent):
        path = (info.path or "").removeprefix("/Workspace")
        made = created_at(posixpath.basename(path))
        if made is None:
            plan.foreign += 1
        elif now - made < older_than:
            plan.young += 1
        else:
            found.append((folder_id, path, made))
    if not found:
        return plan
    # One listing of every active run, tasks included (runs/list `expand_tasks`), serves all the folders.
    active = list(client.jobs.list_runs(active_only=True, expand_tasks=True))
    deployed = _bundle_jobs(client) if any(folder_id is None for folder_id, _, _ in found) else []
    for folder_id, path, made in found:
        runs = tuple(run for run in active if _runs_in(path, run))
        inside = path.rstrip("/") + "/"
        ids = tuple(job_id for job_id, metadata in deployed if folder_id is None and metadata.startswith(inside))
        plan.leftovers.append(Leftover(folder_id, path, made, runs, ids))
    return plan


def _bundle_jobs(client: WorkspaceClient) -> list[tuple[int, str]]:
    """Every job a bundle deployed, with the path of its deployment's metadata file: the Jobs API's `deployment`
    (kind BUNDLE, `metadata_file_path` under the bundle's root path, databricks/cli bundle/deploy/metadata/
    annotate_jobs.go), which ties a job to the folder it was deployed from when no bundle is at hand."""
    found = []
    for job in client.jobs.list():
        deployment = job.settings.deployment if job.settings else None
        if deployment is not None and deployment.kind == jobs.JobDeploymentKind.BUNDLE and job.job_id is not None:
            found.append((job.job_id, (deployment.metadata_file_path or "").removeprefix("/Workspace")))
    return found


def _temporary_folders_in(client: WorkspaceClient, parent: str) -> list[tuple[ObjectInfo, int | None]]:
    """The Git folders directly in `parent`, with their repo ids: REPO objects, and folders that are not plainly
    folders (`directory_info.is_git_folder` true, or absent — then repos/get by object id decides, as databricks/cli
    does since 24aafba64c, #6181). Only a folder whose name dbcicd made is worth that extra call. A plain folder
    with a name dbcicd made is an upload's (`source: upload`), listed with no repo id."""
    try:
        objects = list(client.workspace.list(parent))
    except NotFound:
        return []
    out = []
    for info in objects:
        marked = info.object_type == ObjectType.DIRECTORY and info.directory_info and info.directory_info.is_git_folder
        if info.object_type == ObjectType.REPO or marked:
            out.append((info, int(info.object_id)))  # type: ignore[arg-type]
        elif info.object_type == ObjectType.DIRECTORY:
            if created_at(posixpath.basename(info.path or "")) is None:
                continue  # not dbcicd's, Git folder or not: never touched
            if info.directory_info is not None:  # said to be no Git folder
                out.append((info, None))
                continue
            try:
                out.append((info, int(client.repos.get(int(info.object_id)).id)))  # type: ignore[arg-type]
            except NotFound:
                out.append((info, None))  # a plain folder with a name dbcicd made: an upload's
    return out


def remove(client: WorkspaceClient, plan: CleanupPlan, output: Output, dry_run: bool) -> None:
    """Cancel each leftover's runs, then delete the folder — or, for a dry run, only say what would be done. The
    runs go first: a run whose folder is gone would fail on its next notebook instead of ending as cancelled."""
    for left in plan.leftovers:
        for run in left.runs:
            doing = "Would cancel" if dry_run else "Cancelling"
            output.info(f"{doing} run {run.run_id} ('{run.run_name}'), which runs in {left.path}")
            if not dry_run:
                client.jobs.cancel_run(run.run_id)  # type: ignore[arg-type]
        for job_id in left.jobs:
            output.info(f"{'Would delete' if dry_run else 'Deleting'} job {job_id}, deployed from {left.path}")
            if not dry_run:
                with contextlib.suppress(NotFound):
                    client.jobs.delete(job_id)
        made = f"made {left.made:%Y-%m-%d %H:%M} UTC"
        if dry_run:
            output.info(f"Would delete {left.path} ({made})")
            continue
        try:
            if left.folder_id is None:
                client.workspace.delete(left.path, recursive=True)
            else:
                client.repos.delete(left.folder_id)
        except NotFound:  # deleted meanwhile, by another cleanup or by hand
            continue
        output.info(f"Deleted {left.path} ({made})")
