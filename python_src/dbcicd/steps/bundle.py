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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..connect.cli_environment import cli_environment
from ..errors import DbcicdError
from ..options.bundle import BundleOptions
from ..options.names import Names
from ..options.parse import Options
from ..results.summary import deployed_markdown
from ..untrusted import untrusted_text
from .bundlecli import BundleCli, CliResult, Register
from .bundlediag import Issue, diagnostics, lock_holder
from .cliinstall import find_cli

_JOB_ID = re.compile(r"[0-9]{1,20}")
_OUTPUT_KEY = re.compile(r"[a-zA-Z]+([-_]*[a-zA-Z0-9]+)*")  # a resource key (options/bundle.py) names a variable


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


def open_cli(options: Options, client: Any, output: Any, register: Register, environ: Mapping[str, str]) -> BundleCli:
    """The CLI, found or installed, with the step's credentials in its environment."""
    bundle = _bundle(options)
    tools = Path(environ.get("AGENT_TOOLSDIRECTORY") or _user_cache())
    program = find_cli(bundle, tools, environ, options.names, output.info)
    return BundleCli(program, bundle, cli_environment(client, environ), output, register)


def deploy(cli: BundleCli, host: str, names: Names) -> BundleStep:
    """Validate (its diagnostics as issues, its errors stopping here), deploy, then list what was deployed."""
    validated = cli.call("validate", "--output=json")
    issues = diagnostics(validated.stderr, cli.bundle.directory)
    if validated.returncode != 0:
        return BundleStep(False, _failure("The bundle did not validate", validated, issues), issues, {})
    deployed = cli.call("deploy", *(["--force-lock"] if cli.bundle.force_lock else []))
    if deployed.returncode != 0:
        more = _diagnostics_unless_locked(deployed, cli)
        return BundleStep(False, _deploy_failure(cli, deployed, more, "deploy", names), issues + more, {})
    name, target, jobs = read_summary(cli)
    outputs = {"bundleTarget": target, **{f"jobId_{job.key}": str(job.job_id) for job in jobs}}
    summary = deployed_markdown(f"Bundle {name}, target {target}", [(j.key, j.name, _job_url(host, j)) for j in jobs])
    message = f"Deployed bundle {name} to target {target}: {len(jobs)} job(s)"
    return BundleStep(True, untrusted_text(message), issues, outputs, summary)


def destroy(cli: BundleCli, names: Names) -> BundleStep:
    """`bundle destroy --auto-approve`: the CLI asks before deleting unless told not to, and a step cannot answer."""
    done = cli.call("destroy", "--auto-approve", *(["--force-lock"] if cli.bundle.force_lock else []))
    issues = _diagnostics_unless_locked(done, cli)
    if done.returncode != 0:
        return BundleStep(False, _deploy_failure(cli, done, issues, "destroy", names), issues, {})
    target = cli.bundle.target or "the default target"
    return BundleStep(True, f"Destroyed what the bundle deployed to {target}", issues, {})


def job_of(cli: BundleCli, key: str, names: Names) -> DeployedJob:
    """The job the bundle deployed under `key`, or an error naming the keys there are."""
    _, target, jobs = read_summary(cli)
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
        raise DbcicdError(_failure("bundle summary failed", done, diagnostics(done.stderr, cli.bundle.directory)))
    try:
        config = json.loads(done.stdout)
        bundle = config.get("bundle") or {}
        found = (config.get("resources") or {}).get("jobs") or {}
    except (ValueError, AttributeError) as err:
        raise DbcicdError(f"bundle summary printed no JSON object ({err}): is the CLI older than v0.205?") from None
    jobs = [
        DeployedJob(key, int(job["id"]), untrusted_text(str(job.get("name", "")), 200))
        for key, job in found.items()
        if isinstance(job, dict) and _OUTPUT_KEY.fullmatch(key) and _JOB_ID.fullmatch(str(job.get("id", "")))
    ]
    return untrusted_text(str(bundle.get("name", "")), 200), untrusted_text(str(bundle.get("target", "")), 200), jobs


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
