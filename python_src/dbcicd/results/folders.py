"""Where notebooks write result files (`dbcicd_results_dir`) when no folder is given, and removing it once read.

Every default is a workspace folder, read back through the Workspace API, never the DBFS root: serverless compute,
the default, limits it ("Access to DBFS is limited. Use Unity Catalog volumes or workspace files instead.",
Databricks' "Serverless compute limitations"), and a workspace whose admin turned on "Disable legacy DBFS" refuses it
altogether ("Access to DBFS root and DBFS mounts is disallowed", databricks-sdk's `DisableLegacyDbfsAPI`; Databricks'
"Disable access to DBFS root and mounts in your existing Databricks workspace"). Notebooks may write workspace files
on serverless environment 2 and above, and on Databricks Runtime 16.2 and above ("Programmatically interact with
workspace files").

- In a temporary folder (`test`, an upload): `<folder>/.dbcicd/results/<tag>`, deleted with the folder.
- In a shared Git folder (`run` in a `repoPath`): the same place, deleted by the step once read, so that the Git
  folder's changes show nothing of the step's.
- At a commit (`git_source`, no folder in the workspace): `/Workspace/Users/<identity>/.dbcicd/results/<tag>`, in the
  home folder of whoever the step signs in as (a service principal's is `/Users/<application id>`); deleted by the
  step once read.
- In a build that re-runs only what failed (`rerunFailedOnly`, the default): the home folder too, wherever the
  notebooks run, so that the files outlive a temporary folder. A step whose run has tasks to run again keeps it: the
  next job attempt publishes the kept tasks' files from it. The attempt whose run has none left deletes its own and
  the earlier attempts'; what a last attempt that failed leaves, `cleanup` deletes (its name is dated).

The step makes the last two before the run and deletes them on every way out, failed and cancelled steps included.
A folder the user names (`notebookResultsDir`) is theirs: each invocation writes under `<folder>/<tag>` there and
leaves it, for them to keep or clear.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError, NotFound

from ..errors import ConfigurationError
from ..options.names import TASK_NAMES, Names
from ..options.results import RESULTS_INPUT

RESULTS_SUBFOLDER = ".dbcicd/results"
MKDIRS_THREADS = 8


@dataclass(frozen=True)
class ResultsFolder:
    """The folder under which each task gets its own `dbcicd_results_dir` (`<root>/<task key>`)."""

    root: str  # as notebooks see it: /Workspace/..., /Volumes/... or /dbfs/...
    made_here: bool = False  # the step makes it before the run and deletes it when it ends

    @property
    def workspace_path(self) -> str:
        """The root as the Workspace API names it (without `/Workspace`)."""
        return self.root.removeprefix("/Workspace") or "/"


def choose(
    user_name: Callable[[], str], given: str, base_folder: str, shared: bool, tag: str, for_later: str = ""
) -> ResultsFolder:
    """The results folder of one invocation (`tag`): under `given` (notebookResultsDir) if set; else, when a later
    job attempt may read it, in the home folder of the identity `user_name` names (asked only then), named
    `for_later` (a dated name, steps/tempnames.py, by which `cleanup` knows its age); else in the Git or temporary
    folder `base_folder` (`shared`: one that outlives the step); else in the home folder, named `tag`."""
    if given:
        return ResultsFolder(f"{given}/{tag}")
    if for_later:
        return ResultsFolder(f"{home_results(user_name())}/{for_later}", made_here=True)
    if base_folder:
        return ResultsFolder(f"/Workspace{base_folder}/{RESULTS_SUBFOLDER}/{tag}", made_here=shared)
    return ResultsFolder(f"{home_results(user_name())}/{tag}", made_here=True)


def home_results(user_name: str) -> str:
    """Where the step's own results folders are made in the identity's home folder."""
    return f"/Workspace/Users/{user_name}/{RESULTS_SUBFOLDER}"


def make(client: WorkspaceClient, folder: ResultsFolder, task_dirs: list[str], names: Names = TASK_NAMES) -> None:
    """Create each task's folder (`<root>/<task key>`, parents included), concurrently, so that a notebook can write
    into it without creating it; a refusal fails the step before any run starts, saying what to give instead."""

    def mkdirs(task_dir: str) -> None:
        client.workspace.mkdirs(task_dir.removeprefix("/Workspace"))

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(MKDIRS_THREADS, len(task_dirs)))) as pool:
            list(pool.map(mkdirs, task_dirs or [folder.root]))
    except DatabricksError as err:
        raise ConfigurationError(
            f"Could not create the results folder {folder.root}: {err}. Give {names.label(RESULTS_INPUT)} a folder "
            "the step's identity can write to: a /Workspace/... folder or a Unity Catalog volume (/Volumes/...)."
        ) from err


def remove(client: WorkspaceClient, folder: ResultsFolder) -> str:
    """Delete the folder with what notebooks wrote in it, then `.dbcicd/results` and `.dbcicd` above it when nothing
    else is left in them (another step's folder keeps them: a folder that is not empty is never deleted). What it
    did, '' when the folder was not there."""
    try:
        client.workspace.delete(folder.workspace_path, recursive=True)
    except NotFound:
        return ""
    parent = posixpath.dirname(folder.workspace_path)
    for _ in RESULTS_SUBFOLDER.split("/"):
        try:
            client.workspace.delete(parent, recursive=False)
        except DatabricksError:
            break  # not empty (another invocation's results), or already gone
        parent = posixpath.dirname(parent)
    return f"the results folder {folder.root} was deleted"
