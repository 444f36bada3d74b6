"""An offline stand-in for the Databricks CLI's bundle commands, for tests only.

The real CLI is licensed for use with the Databricks Services only, so the suite never runs it against the local
workspace; this program models its documented interface instead: `databricks --version` / `version`, and `bundle
validate`, `deploy`, `summary` and `destroy` with `-t/--target`, `--var`, `-o json`, `--force-lock` and
`--auto-approve` (docs.databricks.com/dev-tools/cli/bundle-commands). What each prints, its exit codes and the API
calls it makes follow databricks/cli at tag v1.13.0 (MODELLED_VERSION, the source file named at each step):
the direct deployment engine, the default since v1.3.0. Not modelled: resources other than jobs, the top-level
`permissions:` of a bundle (a job's own are set), artifacts, incremental file sync (every file is uploaded on each
deploy), `.gitignore` and `sync` rules, prompts (the stand-in always answers as the CLI does without a terminal),
profiles in ~/.databrickscfg.

It signs in as the CLI does, from the environment (DATABRICKS_HOST with DATABRICKS_TOKEN, or DATABRICKS_CLIENT_ID
and DATABRICKS_CLIENT_SECRET, or Azure's ARM_* variables: docs.databricks.com/dev-tools/auth, "unified
authentication"), through databricks-sdk's Config, which reads the same variables.

Test knobs, the stand-in's own and no part of the CLI:
- DBCICD_FAKE_CLI_RECORD: a file to which each invocation appends one JSON line (argv, cwd, the names of its
  environment variables, the values of the non-secret DATABRICKS_* ones), so tests can check that no secret reached
  the arguments and that credentials came through the environment;
- DBCICD_FAKE_CLI_HANG=deploy: `bundle deploy` waits forever once it holds the deploy lock and uploaded the files
  (for cancellation tests).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit

from bundle_config import Bundle, BundleError, Diagnostic, error, find_root, load
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError, NotFound

MODELLED_VERSION = "1.13.0"
RECORD_VARIABLE = "DBCICD_FAKE_CLI_RECORD"
HANG_VARIABLE = "DBCICD_FAKE_CLI_HANG"
SECRET_MARKERS = ("TOKEN", "SECRET", "PASSWORD")
LOCK_FILE = "deploy.lock"  # databricks/cli libs/locker/locker.go LockFileName, in workspace.state_path
STATE_FILE = "resources.json"  # databricks/cli bundle/bundle.go resourcesFilename (direct engine state)
METADATA_FILE = "metadata.json"  # databricks/cli bundle/deploy/metadata/upload.go
SKIPPED_FOLDERS = frozenset({".git", ".databricks"})
# What a permission names (databricks/cli bundle/config/resources/permission.go; iam.AccessControlRequest).
PRINCIPAL_FIELDS = ("user_name", "group_name", "service_principal_name")
# databricks/cli bundle/phases/messages.go DataLossWarning.
DATA_LOSS_WARNING = (
    "Deleting data assets such as schemas, pipelines, or volumes may cause permanent data loss and should be "
    "carefully reviewed."
)


class Usage(Exception):
    """A command line the CLI refuses (cobra prints `Error: <message>` and exits 1)."""


# --- the command line --------------------------------------------------------------------------------------------
class Args:
    """The flags of `databricks bundle ...` the stand-in knows (databricks/cli cmd/bundle/*.go, cmd/root)."""

    VALUE_FLAGS = {"-t": "target", "--target": "target", "--var": "var", "-o": "output", "--output": "output"}
    BOOL_FLAGS = {"--force-lock": "force_lock", "--auto-approve": "auto_approve"}

    def __init__(self, argv: list[str]) -> None:
        self.words: list[str] = []
        self.target: str | None = None
        self.var: list[str] = []
        self.output = "text"
        self.force_lock = False
        self.auto_approve = False
        rest = iter(argv)
        for arg in rest:
            name, eq, inline = arg.partition("=")
            if name in self.VALUE_FLAGS:
                value = inline if eq else next(rest, None)
                if value is None:
                    raise Usage(f"flag needs an argument: {name}")
                self._set(self.VALUE_FLAGS[name], value)
            elif arg in self.BOOL_FLAGS:
                setattr(self, self.BOOL_FLAGS[arg], True)
            elif arg.startswith("-"):
                raise Usage(f"unknown flag: {arg}" if arg.startswith("--") else f"unknown shorthand flag: {arg}")
            else:
                self.words.append(arg)
        if self.output not in ("text", "json"):
            raise Usage(f'invalid argument "{self.output}" for "-o, --output" flag: accepted arguments: json, text')

    def _set(self, attribute: str, value: str) -> None:
        if attribute == "var":
            self.var.append(value)
        else:
            setattr(self, attribute, value)


def main(argv: list[str]) -> int:
    # The CLI does not handle SIGINT or SIGTERM in bundle commands (no handler under cmd/bundle or cmd/root at
    # v1.13.0), so Go's runtime ends it at once ("A SIGHUP, SIGINT, or SIGTERM signal causes the program to exit",
    # pkg.go.dev/os/signal): a deploy cut short leaves its deploy lock in place. The stand-in dies the same way.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    record(argv)
    if argv in (["--version"], ["version"]):
        # cmd/root/root.go SetVersionTemplate and cmd/version/version.go: "Databricks CLI v{{.Version}}".
        print(f"Databricks CLI v{MODELLED_VERSION}")
        return 0
    try:
        args = Args(argv)
        command = COMMANDS.get(tuple(args.words))
        if command is None:
            raise Usage(f'unknown command "{" ".join(args.words)}" for "databricks"')
        return command(args)
    except Usage as err:
        sys.stderr.write(f"Error: {err}\n")  # cmd/root/root.go Execute: `Error: <message>`
        return 1
    except BundleError as err:
        print_diagnostics(err.diagnostics)
        return 1


def record(argv: list[str]) -> None:
    """Append this invocation to DBCICD_FAKE_CLI_RECORD (a test knob): never a secret's value."""
    target = os.environ.get(RECORD_VARIABLE)
    if not target:
        return
    settings = {
        name: value
        for name, value in os.environ.items()
        if name.startswith("DATABRICKS_") and not any(m in name for m in SECRET_MARKERS)
    }
    line = {"argv": argv, "cwd": os.getcwd(), "env_names": sorted(os.environ), "databricks_settings": settings}
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")


def print_diagnostics(diagnostics: list[Diagnostic]) -> None:
    """Diagnostics go to stderr (libs/logdiag/logdiag.go renders them through cmdio's error stream)."""
    for d in diagnostics:
        sys.stderr.write(d.render())
    sys.stderr.flush()


def progress(message: str) -> None:
    """cmdio.LogString and LogProgress write to stderr; stdout is kept for JSON."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


# --- the workspace -----------------------------------------------------------------------------------------------
class Workspace:
    """The calls the CLI makes, each as databricks/cli makes it (libs/filer/workspace_files_client.go for files)."""

    def __init__(self) -> None:
        self.client = WorkspaceClient()  # databricks-sdk's Config from the environment, as the CLI's unified auth
        self.api = self.client.api_client

    def me(self) -> dict[str, Any]:
        """SCIM Me: workspace.current_user (databricks/cli bundle/config/mutator/populate_current_user.go)."""
        return self.api.do("GET", "/api/2.0/preview/scim/v2/Me")  # type: ignore[return-value]

    def write(self, path: str, content: bytes, overwrite: bool) -> None:
        """WorkspaceFilesClient.Write: import-file with the path escaped as one segment; on 404 (no parent folder)
        workspace/mkdirs the parent and try again."""
        url = f"/api/2.0/workspace-files/import-file/{quote(path.lstrip('/'), safe='')}"
        query = {"overwrite": "true" if overwrite else "false"}
        try:
            self.api.do("POST", url, query=query, data=content, headers={"Content-Type": "application/octet-stream"})
        except NotFound:
            self.client.workspace.mkdirs(path.rsplit("/", 1)[0])
            self.api.do("POST", url, query=query, data=content, headers={"Content-Type": "application/octet-stream"})

    def read(self, path: str) -> bytes | None:
        """WorkspaceFilesClient.Read: get-status (is it there, is it a file), then workspace/export with
        direct_download (databricks-sdk Workspace.download); None when it is not there."""
        try:
            self.client.workspace.get_status(path)
        except NotFound:
            return None
        with self.client.workspace.download(path) as stream:
            return stream.read()

    def exists(self, path: str) -> bool:
        try:
            self.client.workspace.get_status(path)
            return True
        except NotFound:
            return False

    def workspace_id(self) -> str:
        """auth.ResolveWorkspaceID (libs/auth/workspace_id.go): the configured id, else SCIM Me's org id header."""
        return str(self.client.config.workspace_id or self.client.get_workspace_id())


# --- the deploy lock ---------------------------------------------------------------------------------------------
class DeployLock:
    """The deploy lock, as databricks/cli libs/locker/locker.go takes it: write `<state_path>/deploy.lock` (JSON
    LockState: ID, AcquisitionTime, IsForced, User) without overwrite (with it under --force-lock), read it back, and
    hold the lock only if the file carries our ID; released by deleting the file."""

    def __init__(self, ws: Workspace, state_path: str, user: str) -> None:
        self.ws = ws
        self.path = f"{state_path}/{LOCK_FILE}"
        self.id = str(uuid.uuid4())
        self.user = user
        self.held = False

    def acquire(self, force: bool) -> None:
        now = datetime.datetime.now(datetime.timezone.utc)
        state = {
            "ID": self.id,
            "AcquisitionTime": now.isoformat().replace("+00:00", "Z"),
            "IsForced": force,
            "User": self.user,
        }
        try:
            self.ws.write(self.path, json.dumps(state).encode(), overwrite=force)
        except DatabricksError as err:
            if "already exists" not in str(err):
                raise
        holder = self._holder()
        if holder is None:
            raise error(f"no active lock on target dir: file does not exist: {self.path}")
        if holder["ID"] != self.id:
            how = "force-acquired" if holder.get("IsForced") else "acquired"
            # locker.go assertLockHeld's message; `%v` of a Go time.Time.
            raise error(
                f"deploy lock {how} by {holder['User']} at {go_time(holder['AcquisitionTime'])}.\n"
                "Another deployment may be in progress. Use --force-lock to override, but this may\n"
                "conflict with the other deployment if it is still active"
            )
        self.held = True

    def release(self, allow_missing: bool = False) -> None:
        """Unlock: with allow_missing (destroy, which deletes the folder holding the file) a missing file is fine."""
        if not self.held:
            return
        self.held = False
        holder = self._holder()
        if holder is None and allow_missing:
            return
        if holder is None or holder["ID"] != self.id:
            raise error("unlock called when lock is not held")
        self.ws.client.workspace.delete(self.path)

    def _holder(self) -> dict[str, Any] | None:
        content = self.ws.read(self.path)
        return json.loads(content) if content is not None else None


def go_time(rfc3339: str) -> str:
    """A time as Go's Time.String() prints it (`2006-01-02 15:04:05.999999999 -0700 MST`), for UTC times."""
    moment = datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).astimezone(datetime.timezone.utc)
    fraction = f".{moment.microsecond:06d}".rstrip("0").rstrip(".")
    return moment.strftime("%Y-%m-%d %H:%M:%S") + fraction + " +0000 UTC"


# --- commands ----------------------------------------------------------------------------------------------------
def load_bundle(args: Args, ws: Workspace | None) -> Bundle:
    root = find_root(Path.cwd(), os.environ)
    workspace = ws or Workspace()
    bundle = load(root, args.target, args.var, os.environ, workspace.me)
    return bundle


def validate(args: Args) -> int:
    """`bundle validate`: diagnostics on stderr; with `-o json` the resolved configuration on stdout, else the
    summary header and "Validation OK!" or "Found N errors" (cmd/bundle/validate.go, bundle/render/
    render_text_output.go). Exit 1 with an error."""
    try:
        bundle = load_bundle(args, None)
    except BundleError as err:
        print_diagnostics(err.diagnostics)
        if args.output == "text":
            sys.stdout.write(trailer(err.diagnostics))
        return 1
    print_diagnostics(bundle.warnings)
    if args.output == "json":
        print(json.dumps(bundle.config, indent=2))
        return 0
    user = bundle.workspace["current_user"].get("userName", "")
    lines = [f"Name: {bundle.name}", f"Target: {bundle.target}", "Workspace:"]
    if bundle.workspace.get("host"):
        lines.append(f"  Host: {bundle.workspace['host']}")
    lines += [f"  User: {user}", f"  Path: {bundle.workspace['root_path']}", "", trailer(bundle.warnings)]
    sys.stdout.write("\n".join(lines))
    return 0


def trailer(diagnostics: list[Diagnostic]) -> str:
    """render_text_output.go buildTrailer: "Found 1 error and 2 warnings", or "Validation OK!"."""
    parts = []
    for severity in ("Error", "Warning"):
        n = sum(1 for d in diagnostics if d.severity == severity)
        if n:
            parts.append(f"{n} {severity.lower()}{'' if n == 1 else 's'}")
    return f"Found {' and '.join(parts)}\n" if parts else "Validation OK!\n"


def deploy(args: Args) -> int:
    """`bundle deploy` (bundle/phases/deploy.go Deploy): take the lock, upload the files, create, update or delete
    jobs against the state, write the state and metadata, release the lock; then the per-resource lines, the file
    and resource counts."""
    ws = Workspace()
    bundle = load_bundle(args, ws)
    print_diagnostics(bundle.warnings)
    with deploy_lock(ws, bundle, args.force_lock, allow_missing=False):
        file_path = bundle.workspace["file_path"]
        progress(f"Uploading bundle files to {file_path}...")  # bundle/deploy/files/upload.go
        uploaded = 0
        for local in bundle_files(bundle.root):
            ws.write(f"{file_path}/{local.relative_to(bundle.root).as_posix()}", local.read_bytes(), overwrite=True)
            uploaded += 1
        if os.environ.get(HANG_VARIABLE) == "deploy":
            while True:
                time.sleep(3600)
        state = read_state(ws, bundle)
        actions = apply_jobs(ws, bundle, state)
        write_state(ws, bundle, state)
    for verb, key in actions:
        if verb != "unchanged":
            progress(f"{verb.capitalize()} jobs.{key}")  # deploy.go logDeploySummary
    progress(f"Files: {uploaded} uploaded, 0 deleted")
    counts = {v: sum(1 for a, _ in actions if a == v) for v in ("created", "updated", "deleted", "unchanged")}
    progress(
        f"Resources: {counts['created']} created, {counts['updated']} changed, {counts['deleted']} deleted, "
        f"{counts['unchanged']} unchanged"
    )
    return 0


@contextlib.contextmanager
def deploy_lock(ws: Workspace, bundle: Bundle, force: bool, allow_missing: bool) -> Iterator[None]:
    """Hold the deploy lock for a block when the bundle uses one (development mode does not, by default), released
    however the block ends (bundle/phases/deploy.go and destroy.go release it in a `defer`)."""
    lock = DeployLock(ws, bundle.workspace["state_path"], bundle.workspace["current_user"]["userName"])
    if bundle.lock_enabled:
        lock.acquire(force)
    try:
        yield
    finally:
        lock.release(allow_missing)


def bundle_files(root: Path) -> Iterator[Path]:
    """The files sync uploads: everything under the root but `.git` and `.databricks` (.gitignore not modelled)."""
    for folder, folders, files in os.walk(root):
        folders[:] = sorted(f for f in folders if f not in SKIPPED_FOLDERS)
        for name in sorted(files):
            yield Path(folder) / name


def job_settings(bundle: Bundle, job: dict[str, Any]) -> dict[str, Any]:
    """What jobs/create and jobs/reset are sent: the job's settings with the deployment that ties it to the bundle,
    UI_LOCKED edit mode and the multi-task format (bundle/deploy/metadata/annotate_jobs.go; `permissions` go to the
    Permissions API: `apply_permissions`)."""
    settings = {k: v for k, v in job.items() if k != "permissions"}
    metadata = f"{bundle.workspace['state_path']}/{METADATA_FILE}"
    settings["deployment"] = {"kind": "BUNDLE", "metadata_file_path": metadata}
    settings["edit_mode"] = "UI_LOCKED"
    settings["format"] = "MULTI_TASK"
    return settings


def read_state(ws: Workspace, bundle: Bundle) -> dict[str, Any]:
    """The direct engine's state, `<state_path>/resources.json` (bundle/direct/dstate/state.go Database: a header and
    `state` mapping `resources.jobs.<key>` to `__id__` and the settings deployed)."""
    content = ws.read(f"{bundle.workspace['state_path']}/{STATE_FILE}")
    if content is None:
        return {
            "state_version": 2,
            "cli_version": MODELLED_VERSION,
            "lineage": str(uuid.uuid4()),
            "serial": 0,
            "state": {},
        }
    return json.loads(content)


def write_state(ws: Workspace, bundle: Bundle, state: dict[str, Any]) -> None:
    state["serial"] += 1
    state["cli_version"] = MODELLED_VERSION
    path = bundle.workspace["state_path"]
    ws.write(f"{path}/{STATE_FILE}", json.dumps(state, indent=2).encode(), overwrite=True)
    metadata = {
        "version": 1,
        "config": {
            "bundle": {"name": bundle.name, "target": bundle.target},
            "workspace": {"file_path": bundle.workspace["file_path"]},
            "resources": {"jobs": {k: {"id": v["__id__"]} for k, v in jobs_in(state)}},
        },
    }
    ws.write(f"{path}/{METADATA_FILE}", json.dumps(metadata).encode(), overwrite=True)


def jobs_in(state: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The jobs in the state, by resource key (not their `<key>.permissions` nodes)."""
    for node, entry in state["state"].items():
        key = node.removeprefix("resources.jobs.")
        if key != node and "." not in key:
            yield key, entry


def apply_jobs(ws: Workspace, bundle: Bundle, state: dict[str, Any]) -> list[tuple[str, str]]:
    """The direct engine's plan and apply for jobs (bundle/direct/bundle_plan.go, dresources/job.go): a job in the
    state whose settings changed is reset, one whose remote job is gone is created again, a new one created, one no
    longer configured deleted; the state follows each call."""
    actions = []
    entries = state["state"]
    for key, job in bundle.jobs.items():
        settings = job_settings(bundle, job)
        entry = entries.get(f"resources.jobs.{key}")
        if entry is not None and remote_job_exists(ws, entry["__id__"]):
            if entry["state"] == settings:
                actions.append(("unchanged", key))
            else:
                body = {"job_id": int(entry["__id__"]), "new_settings": settings}
                ws.api.do("POST", "/api/2.2/jobs/reset", body=body)
                actions.append(("updated", key))
        else:
            job_id = ws.api.do("POST", "/api/2.2/jobs/create", body=settings)["job_id"]  # type: ignore[index]
            entry = {"__id__": str(job_id)}
            actions.append(("created", key))
        entry["state"] = settings
        entries[f"resources.jobs.{key}"] = entry
        apply_permissions(ws, entries, key, job.get("permissions") or [], entry["__id__"], actions[-1][0] == "created")
    for key, entry in list(jobs_in(state)):
        if key not in bundle.jobs:
            delete_job(ws, entry["__id__"])
            del entries[f"resources.jobs.{key}"]
            entries.pop(f"resources.jobs.{key}.permissions", None)
            actions.append(("deleted", key))
    return actions


def apply_permissions(
    ws: Workspace, entries: dict[str, Any], key: str, wanted: list[dict[str, Any]], job_id: str, created: bool
) -> None:
    """A job's `permissions:` (docs.databricks.com/dev-tools/bundles/permissions: entries of `level` and one of
    user_name, group_name, service_principal_name) as the direct engine applies them, a resource of its own,
    `resources.jobs.<key>.permissions` with the id `/jobs/<job id>` (bundle/direct/dresources/permissions.go,
    PreparePermissionsInputConfig). Its DoCreate and DoUpdate both call Permissions.Set: PUT
    /api/2.0/permissions/jobs/<job id> with the whole access control list, `level` sent as `permission_level`; it
    is set for a new job and when the list differs from the state's. Its DoDelete does nothing remotely, so
    permissions removed from the bundle stay on the job and only leave the state. The state entry's inner shape is
    the stand-in's own; whether the deploy's "Resources:" line counts permissions is not modelled."""
    node = f"resources.jobs.{key}.permissions"
    if not wanted:
        entries.pop(node, None)
        return
    object_id = f"/jobs/{job_id}"
    acl = [{"permission_level": p.get("level"), **{k: p[k] for k in PRINCIPAL_FIELDS if p.get(k)}} for p in wanted]
    state = {"object_id": object_id, "access_control_list": acl}
    previous = entries.get(node)
    if created or previous is None or previous["state"] != state:
        ws.api.do("PUT", f"/api/2.0/permissions{object_id}", body={"access_control_list": acl})
    entries[node] = {"__id__": object_id, "state": state}


def remote_job_exists(ws: Workspace, job_id: str) -> bool:
    try:
        ws.client.jobs.get(int(job_id))
        return True
    except DatabricksError as err:
        if "does not exist" in str(err):
            return False
        raise


def delete_job(ws: Workspace, job_id: str) -> None:
    """jobs/delete; a job already gone only leaves the state (deploy.go: "Deletes of resources that are already gone
    remotely only clean up the state")."""
    if remote_job_exists(ws, job_id):
        ws.client.jobs.delete(int(job_id))


def summary(args: Args) -> int:
    """`bundle summary`: the configuration with each deployed job's `id` and `url` (cmd/bundle/summary.go;
    bundle/config/mutator/initialize_urls.go: `<host>/jobs/<id>?w=<workspace id>` unless the host names the id)."""
    ws = Workspace()
    bundle = load_bundle(args, ws)
    state = read_state(ws, bundle)
    base = ws.client.config.host.rstrip("/")
    workspace_id = ws.workspace_id()
    query = "" if workspace_id in (urlsplit(base).hostname or "") else f"?w={workspace_id}"
    for key, entry in jobs_in(state):
        if key in bundle.jobs:
            bundle.jobs[key]["id"] = entry["__id__"]
            bundle.jobs[key]["url"] = f"{base}/jobs/{entry['__id__']}{query}"
    print_diagnostics(bundle.warnings)
    if args.output == "json":
        print(json.dumps(bundle.config, indent=2))
        return 0
    # render_text_output.go summaryHeaderTemplate and resourcesTemplate.
    lines = [
        f"Name: {bundle.name}",
        f"Target: {bundle.target}",
        "Workspace:",
        f"  User: {bundle.workspace['current_user'].get('userName', '')}",
        f"  Path: {bundle.workspace['root_path']}",
        "Resources:",
        "  Jobs:",
    ]
    for key, job in bundle.jobs.items():
        lines += [f"    {key}:", f"      Name: {job['name']}", f"      URL:  {job.get('url') or '(not deployed)'}"]
    print("\n".join(lines))
    return 0


def destroy(args: Args) -> int:
    """`bundle destroy` (cmd/bundle/destroy.go, bundle/phases/destroy.go): refused without --auto-approve where it
    cannot prompt; "No active deployment found to destroy!" when the root path is gone; else under the lock: list
    what goes, delete the jobs, delete the root path recursively (bundle/deploy/files/delete.go)."""
    if not args.auto_approve:
        raise Usage(
            "this command will destroy all resources deployed by this bundle, including workspace files in the "
            f"deployment directory.\n{DATA_LOSS_WARNING}\nTo proceed, use --auto-approve."
        )
    ws = Workspace()
    bundle = load_bundle(args, ws)
    root_path = bundle.workspace["root_path"]
    if not ws.exists(root_path):
        progress("No active deployment found to destroy!")
        return 0
    with deploy_lock(ws, bundle, args.force_lock, allow_missing=True):
        state = read_state(ws, bundle)
        deployed = list(jobs_in(state))
        if deployed:
            progress("The following resources will be deleted:")
            for key, _ in deployed:
                progress(f"  delete resources.jobs.{key}")  # deployplan/action.go Action.String
            progress("")
        progress(f"All files and directories at the following location will be deleted: {root_path}")
        progress("")
        for _, entry in deployed:
            delete_job(ws, entry["__id__"])
        ws.client.workspace.delete(root_path, recursive=True)
    progress(f"Destroy: {len(deployed)} deleted")
    return 0


COMMANDS: dict[tuple[str, ...], Callable[[Args], int]] = {
    ("bundle", "validate"): validate,
    ("bundle", "deploy"): deploy,
    ("bundle", "summary"): summary,
    ("bundle", "destroy"): destroy,
}


def run() -> NoReturn:
    try:
        code = main(sys.argv[1:])
    except DatabricksError as err:
        sys.stderr.write(f"Error: {err}\n")
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    run()
