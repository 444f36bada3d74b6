"""The bundle commands: `deploy` (validate, then deploy, then read what was deployed), `destroy`, and the job a
bundle deployed under a resource key, for `run`.

They run the user's Databricks CLI against the user's workspace (steps/cliinstall.py finds or installs it) with the
step's credentials in its environment (connect/cli_environment.py). What the CLI prints about the bundle becomes
issues pointing at the bundle's files (steps/bundlediag.py); the jobs it deployed are read from `bundle summary
--output json` (resources.jobs.<key>.id, docs.databricks.com/dev-tools/cli/bundle-commands "summary"), so a job is
named by its resource key, whatever name prefix its target gives it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..connect.cli_environment import cli_environment
from ..errors import BundleFailed, DbcicdError
from ..options.bundle import BundleOptions
from ..options.names import Names
from ..options.parse import Options
from ..results.summary import deployed_markdown
from ..untrusted import untrusted_text
from .bundlecli import BundleCli, CliResult, Register
from .bundlediag import Issue, diagnostics, lock_holder
from .cliinstall import find_cli

# `test` with a bundle deploys it for this build alone: the task sets these two variables, and the target tested
# must use them (its root path holds the files, the state and the lock; the prefix tells the jobs apart).
ISOLATION_VARIABLES = ("dbcicd_root", "dbcicd_prefix")
ISOLATION_HELP = (
    "To test a bundle in isolation, declare the variables dbcicd_root and dbcicd_prefix and use them in the target "
    "tested: `workspace: {root_path: ${var.dbcicd_root}}` and `presets: {name_prefix: ${var.dbcicd_prefix}}` "
    "(README, Bundles)"
)
_JOB_ID = re.compile(r"[0-9]{1,20}")
_OUTPUT_KEY = re.compile(r"[a-zA-Z]+([-_]*[a-zA-Z0-9]+)*")  # a resource key (options/bundle.py) names a variable


def _nothing() -> None:
    pass


@dataclass(frozen=True)
class DeployedJob:
    key: str  # resources.jobs.<key>
    job_id: int
    name: str  # as deployed (untrusted: the bundle's)


@dataclass
class BundleStep:
    """What a bundle command returns: its verdict, the issues, the variables and the summary to publish."""

    success: bool
    message: str
    issues: list[Issue]
    outputs: dict[str, str]
    summary: str = ""
    target: str = ""
    jobs: list[DeployedJob] = field(default_factory=list)


def open_cli(options: Options, client: Any, output: Any, register: Register, environ: Mapping[str, str]) -> BundleCli:
    """The CLI, found or installed, with the step's credentials in its environment."""
    bundle = _bundle(options)
    tools = Path(environ.get("AGENT_TOOLSDIRECTORY") or _user_cache())
    program = find_cli(bundle, tools, environ, options.names, output.info)
    return BundleCli(program, bundle, cli_environment(client, environ), output, register)


def deploy(
    cli: BundleCli, host: str, names: Names, root: str = "", on_deploy: Callable[[], None] = _nothing
) -> BundleStep:
    """Validate (its diagnostics as issues, its errors stopping here), deploy, then list what was deployed. `root`:
    the root path the target must resolve to (an isolated deploy, `isolated`), checked before anything is deployed;
    `on_deploy` is called just before the deploy starts (to register its undoing)."""
    validated = cli.call("validate", "--output=json")
    issues = diagnostics(validated.stderr, cli.bundle.directory)
    if validated.returncode != 0:
        message = _failure("The bundle did not validate", validated, issues)
        if root and any(f"variable {v} has not been defined" in validated.stderr for v in ISOLATION_VARIABLES):
            message += f". {ISOLATION_HELP}"
        return BundleStep(False, message, issues, {})
    if root and _root_path(validated.stdout) != _workspace_path(root):
        return BundleStep(False, f"The bundle's target does not deploy under {root}. {ISOLATION_HELP}", issues, {})
    on_deploy()
    deployed = cli.call("deploy", *(["--force-lock"] if cli.bundle.force_lock else []))
    if deployed.returncode != 0:
        more = _diagnostics_unless_locked(deployed, cli)
        return BundleStep(False, _deploy_failure(cli, deployed, more, "deploy", names), issues + more, {})
    name, target, jobs = read_summary(cli)
    outputs = {"bundleTarget": target, **{f"jobId_{job.key}": str(job.job_id) for job in jobs}}
    summary = deployed_markdown(f"Bundle {name}, target {target}", [(j.key, j.name, _job_url(host, j)) for j in jobs])
    message = f"Deployed bundle {name} to target {target}: {len(jobs)} job(s)"
    return BundleStep(True, untrusted_text(message), issues, outputs, summary, target, jobs)


def destroy(cli: BundleCli, names: Names) -> BundleStep:
    """`bundle destroy --auto-approve`: the CLI asks before deleting unless told not to, and a step cannot answer."""
    done = cli.call("destroy", "--auto-approve", *(["--force-lock"] if cli.bundle.force_lock else []))
    issues = _diagnostics_unless_locked(done, cli)
    if done.returncode != 0:
        return BundleStep(False, _deploy_failure(cli, done, issues, "destroy", names), issues, {})
    target = cli.bundle.target or "the default target"
    return BundleStep(True, f"Destroyed what the bundle deployed to {target}", issues, {})


def pick_job(jobs: list[DeployedJob], target: str, key: str, names: Names) -> DeployedJob:
    """The job of `jobs` deployed under `key`, or an error naming the keys there are."""
    by_key = {job.key: job for job in jobs}
    if key not in by_key:
        there = ", ".join(sorted(by_key)) or "none deployed"
        raise DbcicdError(
            untrusted_text(
                f"{names.input('bundleJob')} '{key}' is not a job the bundle deployed to target {target} (jobs: "
                f"{there}): give its key under resources.jobs in the bundle, and deploy it first (command: deploy)"
            )
        )
    return by_key[key]


def read_summary(cli: BundleCli) -> tuple[str, str, list[DeployedJob]]:
    """The bundle's name, target and deployed jobs (those with an id) from `bundle summary --output json`."""
    done = cli.call("summary", "--output=json")
    if done.returncode != 0:
        raise BundleFailed(_failure("bundle summary failed", done, diagnostics(done.stderr, cli.bundle.directory)))
    try:
        config = json.loads(done.stdout)
        bundle = config.get("bundle") or {}
        found = (config.get("resources") or {}).get("jobs") or {}
    except (ValueError, AttributeError) as err:
        raise BundleFailed(f"bundle summary printed no JSON object ({err}): is the CLI older than v0.205?") from None
    jobs = [
        DeployedJob(key, int(job["id"]), untrusted_text(str(job.get("name", "")), 200))
        for key, job in found.items()
        if isinstance(job, dict) and _OUTPUT_KEY.fullmatch(key) and _JOB_ID.fullmatch(str(job.get("id", "")))
    ]
    return untrusted_text(str(bundle.get("name", "")), 200), untrusted_text(str(bundle.get("target", "")), 200), jobs


def isolated(bundle: BundleOptions, root: str, prefix: str) -> BundleOptions:
    """The bundle with the isolation variables set: its target deploys under `root`, its jobs' names prefixed."""
    extra = (("dbcicd_root", root), ("dbcicd_prefix", prefix))
    return replace(bundle, variables=(*bundle.variables, *extra))


def destroy_quietly(cli: BundleCli) -> str:
    """Clean-up's destroy of an isolated deploy: its lock taken over (a deploy cut short leaves it, and no one else
    deploys to this build's root); what it did, for the closing line."""
    done = cli.call("destroy", "--auto-approve", "--force-lock")
    if done.returncode != 0:
        raise BundleFailed(_failure("bundle destroy failed", done, diagnostics(done.stderr, cli.bundle.directory)))
    return f"what the bundle deployed to {dict(cli.bundle.variables)['dbcicd_root']} was destroyed"


def _root_path(validated: str) -> str:
    try:
        return _workspace_path(str((json.loads(validated).get("workspace") or {}).get("root_path", "")))
    except (ValueError, AttributeError):
        return ""


def _workspace_path(path: str) -> str:
    """A workspace path without the /Workspace prefix, which the two spellings of one path differ by."""
    return path.removeprefix("/Workspace").rstrip("/")


def _job_url(host: str, job: DeployedJob) -> str:
    """Made here from the workspace and the job's id, never taken from the bundle's output."""
    return f"{host.rstrip('/')}/jobs/{job.job_id}"


def _failure(what: str, result: CliResult, issues: list[Issue]) -> str:
    errors = [issue.message for issue in issues if issue.kind == "error"]
    last = errors[0] if errors else next((line for line in reversed(result.lines) if line.strip()), "")
    return f"{what} (the Databricks CLI exited with {result.returncode}): {last}"


def _diagnostics_unless_locked(result: CliResult, cli: BundleCli) -> list[Issue]:
    """The diagnostics of a deploy or destroy, but for a held lock's, which `_deploy_failure` words with its fix."""
    return [] if lock_holder(result.stderr) else diagnostics(result.stderr, cli.bundle.directory)


def _deploy_failure(cli: BundleCli, result: CliResult, issues: list[Issue], verb: str, names: Names) -> str:
    """A held deploy lock named with its holder and the way out; any other failure as the CLI said it."""
    holder = lock_holder(result.stderr)
    if holder is None:
        return _failure(f"bundle {verb} failed", result, issues)
    user, since = holder
    target = cli.bundle.target or "the default target"
    return (
        f"The deploy lock of target {target} is held by {user} since {since}: another deploy or destroy of this "
        "target may be under way. Wait for it to end and run this step again; if none is (a deploy that was "
        f"cancelled or killed leaves its lock), set {names.label('bundleForceLock')} for one run to take it over"
    )


def _bundle(options: Options) -> BundleOptions:
    assert options.bundle is not None, "parse_options gives deploy, destroy and run of a bundle job their bundle"
    return options.bundle


def _user_cache() -> str:
    """Outside a pipeline: the user's cache folder (XDG_CACHE_HOME, else ~/.cache; LOCALAPPDATA on Windows)."""
    base = os.environ.get("LOCALAPPDATA") if os.name == "nt" else os.environ.get("XDG_CACHE_HOME")
    return str(Path(base or Path.home() / ".cache") / "dbcicd" / "tools")
