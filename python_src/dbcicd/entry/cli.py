"""The `dbcicd` command line. Errors become messages and exit codes here, and only here.

Exit codes: 0 success, 1 the run or its tests failed, 2 usage or configuration error, 3 internal error (a bug),
4 the Databricks CLI's bundle command failed, 130 cancelled.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..errors import EXIT_CANCELLED, EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, DbcicdError
from ..options.names import INPUT_FLAGS

if TYPE_CHECKING:
    from ..options.request import TaskRequest

AUTH_HELP = """\
authentication: databricks-sdk unified auth from the environment, e.g.
  DATABRICKS_HOST=https://adb-123.4.azuredatabricks.net DATABRICKS_TOKEN=dapi...   (personal access token)
  DATABRICKS_HOST=... DATABRICKS_CLIENT_ID=... DATABRICKS_CLIENT_SECRET=...       (OAuth machine-to-machine)
  DATABRICKS_HOST=... ARM_CLIENT_ID=... ARM_CLIENT_SECRET=... ARM_TENANT_ID=...  (Azure service principal)
Try it offline with `dbcicd local serve` and the two variables it prints.

exit codes: 0 success, 1 run or tests failed, 2 usage or configuration error, 3 internal error (a bug),
            130 cancelled
"""

EXAMPLES = {
    "repo": """examples:
  dbcicd repo --repo-path /Repos/ci/my-project --branch main
  dbcicd repo --repo-path /Repos/prod/my-project --tag v1.4.0 --git-url https://github.com/org/my-project
""",
    "run": """examples:
  dbcicd run --repo-path /Repos/ci/my-project --notebooks 'jobs/train' --notebooks 'jobs/evaluate' -p env=staging
  dbcicd run --notebooks jobs/train --commit 3f2a9c1 --git-url https://github.com/org/my-project   # no Git folder
  dbcicd run --job-name nightly-retrain --timeout-minutes 120
""",
    "test": """examples:
  dbcicd test --notebooks 'tests/test_*'                    # branch, commit and URL from the local checkout
  dbcicd test --notebooks 'tests/**' --compute existingCluster --existing-cluster-id 0123-456789-abc
""",
    "deploy": """examples:
  dbcicd deploy --target staging --bundle-var catalog=staging   # the bundle in the folder you are in
  dbcicd deploy --bundle-dir bundles/etl --target ci --cli-version 1.13.0
""",
    "destroy": """examples:
  dbcicd destroy --target ci --bundle-var build=42
""",
    "cleanup": """examples:
  dbcicd cleanup --older-than-hours 24
  dbcicd cleanup --temp-folder /Repos/ci --older-than-hours 0 --dry-run   # what it would delete and cancel
""",
}

LOCAL_SERVE_EPILOG = """\
examples:
  dbcicd local serve                       # temporary workspace on a free port
  dbcicd local serve --port 8765 --root ./.local-workspace
  dbcicd local serve --fault '{"route": "GET /api/*/jobs/runs/get", "status": 429, "times": 3}'
  dbcicd local serve --federation-policy '{"issuer": "https://vstoken.dev.azure.com/<org id>",
      "subject": "p://<org>/<project>/<pipeline>", "audiences": ["api://AzureADTokenExchange"]}'

Prints DATABRICKS_HOST=... and DATABRICKS_TOKEN=... once ready, then serves until Ctrl+C (SIGINT) or SIGTERM.
Give the token in a file (--token-file) or in the environment as DBCICD_LOCAL_TOKEN rather than with --token,
which every user of this machine sees in the process list; it is kept under --root (readable by you only), so a
restart with the same root keeps it. Run pages open in a browser on this machine at the printed host (the
run_page_url of each run).
Fault rules can be changed at runtime: POST/PUT/DELETE {host}/__dbcicd/faults with the same JSON.
With --federation-policy its service principal trusts those ID tokens (token exchange at /oidc/v1/token, as
DATABRICKS_AUTH_TYPE=azure-devops-oidc does); DATABRICKS_CLIENT_ID=... is printed too.

Trust: notebooks run as you, as processes of your user with this server's environment (its variables, your files,
your credentials): serve only notebooks you would run yourself. It listens on 127.0.0.1 only, and anyone on this
machine holding the token can run code as you; --root is made private to you (0700).
"""

# argparse destination -> task input name, for the flags whose value is the input's text as it is (the others —
# lists, key=value pairs, switches — are turned into inputs one by one in request_from_args).
_SHAPED_INPUTS = frozenset(
    {
        "notebooks",
        "sparseCheckout",
        "parameters",
        "failOnTestFailure",
        "rerunFailedOnly",
        "pullRequestComment",
        "publishAzureDevOps",
        "dryRun",
        "bundleVariables",
        "bundleForceLock",
    }
)
_INPUT_FLAGS = {
    flag.removeprefix("--").replace("-", "_"): name
    for name, flag in INPUT_FLAGS.items()
    if flag and name not in _SHAPED_INPUTS
}


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=36)


def _add_git(p: argparse.ArgumentParser, folder: bool = False) -> None:
    g = p.add_argument_group("Git")
    g.add_argument("--git-url", help="repository URL (default: the local checkout's origin, or the build's)")
    g.add_argument("--git-provider", help="gitHub, azureDevOpsServices, gitLab, ... (default: from the URL's host)")
    g.add_argument("--branch", help="branch to check out; refs/heads/x and refs/tags/v1 are understood")
    g.add_argument("--tag", help="tag to check out (detached)")
    g.add_argument(
        "--commit",
        help="commit the Git folder must be at (default: the one being built; run --repo-path outside a pipeline: "
        "none); any: run whatever the folder holds",
    )
    if folder:
        g.add_argument(
            "--sparse-checkout",
            action="append",
            default=[],
            metavar="PATTERN",
            help="folder to check out, with everything under it (a cone pattern; repeatable); only when the folder "
            "is created",
        )


def _add_run(p: argparse.ArgumentParser) -> None:
    s = p.add_argument_group("source")
    s.add_argument(
        "--source",
        choices=("gitFolder", "upload"),
        help="gitFolder (default): a Git folder, or a run at a commit; upload: import this checkout's HEAD into a "
        "temporary workspace folder (no Git access needed from Databricks)",
    )
    s.add_argument("--source-dir", metavar="DIR", help="the checkout to upload (default: the one you are in)")
    g = p.add_argument_group("run")
    g.add_argument(
        "-n",
        "--notebooks",
        action="append",
        default=[],
        metavar="PATH_OR_GLOB",
        help="notebook path or glob relative to the Git folder (repeatable), e.g. 'tests/test_*'",
    )
    g.add_argument(
        "-p", "--parameter", action="append", default=[], metavar="KEY=VALUE", help="notebook parameter (repeatable)"
    )
    g.add_argument("--parameters", metavar="JSON", help="parameters as one JSON object")
    g.add_argument(
        "--compute",
        choices=("serverless", "existingCluster", "newCluster"),
        help="where to run (default: existingCluster when --existing-cluster-id is given, else serverless)",
    )
    g.add_argument("--existing-cluster-id", metavar="ID")
    g.add_argument("--new-cluster-json", metavar="JSON", help="new cluster spec, e.g. '{\"spark_version\": ...}'")
    g.add_argument("--timeout-minutes", metavar="N", help="cancel the run and fail after N minutes (default: 60)")
    g.add_argument(
        "--rerun-failed-only",
        action=argparse.BooleanOptionalAction,
        help="when the build's step runs again, run only the tasks that did not succeed last time (default: on)",
    )
    r = p.add_argument_group("results")
    r.add_argument(
        "--notebook-results-dir",
        metavar="PATH",
        help="where notebooks write JUnit XML (dbcicd_results_dir): /Volumes/..., /Workspace/... or dbfs:/... "
        "(default: a workspace folder the step makes and deletes, in the Git folder or your home folder)",
    )
    r.add_argument("--test-run-title", metavar="TITLE", help="title of the published test run (default: run name)")
    r.add_argument(
        "--export-notebooks",
        metavar="failed|all|none",
        help="save the rendered page of each failed notebook task, of all, or none, beside the results "
        "(default: failed)",
    )
    r.add_argument(
        "--no-fail-on-test-failure",
        action="store_true",
        help="succeed although tests written by notebooks failed (failed tasks still fail)",
    )
    r.add_argument(
        "--publish-azure-devops",
        action="store_true",
        help="publish the test cases as a test run through the Azure DevOps REST API (needs the azure-devops extra, "
        "--var System.CollectionUri=... --var System.TeamProject=... and AZURE_DEVOPS_TOKEN)",
    )
    r.add_argument(
        "--pull-request-comment",
        action="store_true",
        help="on a pull-request build (System.PullRequest.PullRequestId), post a status and the summary as a comment",
    )


def _add_bundle(p: argparse.ArgumentParser, deploying: bool) -> None:
    g = p.add_argument_group("bundle")
    g.add_argument("--bundle-dir", metavar="DIR", help="the folder holding databricks.yml (default: this one)")
    g.add_argument("--target", metavar="NAME", help="the bundle's target (default: its default target)")
    g.add_argument(
        "--bundle-var", action="append", default=[], metavar="NAME=VALUE", help="a bundle variable (repeatable)"
    )
    if deploying:
        g.add_argument("--force-lock", action="store_true", help="take over a deploy lock another deploy left")
    g.add_argument("--cli-path", metavar="FILE", help="the databricks program (default: on PATH, else installed)")
    g.add_argument("--cli-version", metavar="X.Y.Z", help="the Databricks CLI release to install if none is on PATH")


def _parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="dbcicd",
        description="CI/CD for Databricks: Git folders, notebook runs, results.",
        epilog=AUTH_HELP,
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"dbcicd {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    pipeline = common.add_argument_group("pipeline")
    pipeline.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a pipeline variable, e.g. Build.SourceBranch=refs/heads/main (repeatable)",
    )
    pipeline.add_argument("--outputs-json", type=Path, metavar="FILE", help="also write the output variables to FILE")
    pipeline.add_argument(
        "--report-dir",
        type=Path,
        default=Path("dbcicd-results"),
        metavar="DIR",
        help="where JUnit XML and the Markdown summary are written (default: ./dbcicd-results)",
    )
    pipeline.add_argument(
        "--retry-timeout-seconds",
        metavar="N",
        help="how long a throttled (429) or unavailable (503) API call is retried (default: 120)",
    )
    pipeline.add_argument(
        "--clone-timeout-seconds",
        metavar="N",
        help="how long creating a Git folder (the clone) or switching its branch may take to answer (default: 600)",
    )
    pipeline.add_argument(
        "--azure-devops",
        action="store_true",
        help="speak to an Azure Pipelines agent (##vso logging commands) although TF_BUILD is not True",
    )
    pipeline.add_argument(
        "--debug",
        action="store_true",
        help="log every Databricks API call, its answer and retries to stderr, secrets masked, as System.Debug does "
        "in a pipeline (also DBCICD_DEBUG=true)",
    )

    def sub(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            parents=[common],
            help=help_text,
            description=help_text,
            epilog=EXAMPLES[name] + "\n" + AUTH_HELP,
            formatter_class=_formatter,
        )

    repo = sub("repo", "point a Git folder at a branch or tag (created if missing)")
    repo.add_argument("--repo-path", required=True, help="the Git folder, e.g. /Repos/ci/my-project")
    _add_git(repo, folder=True)

    run = sub("run", "run notebooks (or an existing job), wait, report")
    run.add_argument("--repo-path", help="Git folder holding the notebooks (omit to run at a commit via git_source)")
    run.add_argument("--job-id", help="run this existing job instead of notebooks")
    run.add_argument("--job-name", help="run the existing job with this exact name")
    run.add_argument("--temp-folder", help="with --source upload: parent of the uploaded folder (default: as test)")
    run.add_argument(
        "--bundle-job", metavar="KEY[,KEY...]", help="run the jobs the bundle deployed as resources.jobs.KEY"
    )
    _add_git(run)
    _add_run(run)
    _add_bundle(run, deploying=False)

    test = sub("test", "temporary Git folder at this commit, run the test notebooks, always delete it")
    test.add_argument("--temp-folder", help="parent of temporary Git folders (default: /Users/<you>/dbcicd-temp)")
    _add_git(test, folder=True)
    _add_run(test)

    for name, what in (
        ("deploy", "validate the bundle with the Databricks CLI and deploy it"),
        ("destroy", "delete what the bundle deployed to its target"),
    ):
        _add_bundle(sub(name, what), deploying=True)

    clean = sub("cleanup", "delete temporary Git folders left behind")
    clean.add_argument("--temp-folder", help="parent of temporary Git folders (default: /Users/<you>/dbcicd-temp)")
    clean.add_argument("--older-than-hours", metavar="N", help="only folders made more than N hours ago (default 24)")
    clean.add_argument(
        "--dry-run", action="store_true", help="list the folders it would delete and the runs it would cancel, only"
    )

    commands.add_parser(
        "task",
        help="the Azure Pipelines task's Python side: reads the request document from stdin",
        description="Read one JSON request document from stdin (what the Databricks@1 task's Node entry point "
        "writes) and run it. Exit codes as for the other commands.",
    )

    local = commands.add_parser("local", help="the offline local workspace")
    local_commands = local.add_subparsers(dest="local_command", required=True, metavar="SUBCOMMAND")
    serve = local_commands.add_parser(
        "serve",
        help="serve a local workspace on 127.0.0.1 (it runs notebooks as you)",
        description="Serve an offline stand-in for the Databricks REST API on 127.0.0.1. It runs notebooks as you, "
        "with this server's environment: serve only notebooks you trust (see Trust below).",
        epilog=LOCAL_SERVE_EPILOG,
        formatter_class=_formatter,
    )
    serve.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    serve.add_argument("--root", type=Path, help="folder holding the workspace's state (default: a temporary one)")
    token = serve.add_mutually_exclusive_group()
    token.add_argument(
        "--token",
        help="the bearer token clients must send (default: the one kept under --root, else random); visible in the "
        "process list: prefer --token-file or DBCICD_LOCAL_TOKEN",
    )
    token.add_argument("--token-file", type=Path, metavar="FILE", help="read the bearer token from FILE")
    serve.add_argument(
        "--fault", action="append", default=[], metavar="JSON", help="a fault rule as a JSON object (repeatable)"
    )
    serve.add_argument(
        "--federation-policy",
        action="append",
        default=[],
        metavar="JSON",
        help="a service principal federation policy: issuer, subject, audiences (repeatable)",
    )
    serve.add_argument(
        "--spark-remote",
        default="",
        metavar="sc://HOST:PORT",
        help="run the notebooks of the 'local' cluster on this Spark Connect server instead of one the workspace "
        "starts (it must see the workspace's files at the same paths)",
    )
    return parser


def request_from_args(args: argparse.Namespace, environ: dict[str, str], cwd: Path) -> tuple[TaskRequest, list[str]]:
    """The same request document the pipeline task builds, from flags, the environment and the local checkout; and
    warnings about the local checkout (uncommitted changes, which are not tested)."""
    from ..options.build import VARIABLES, environment_name
    from ..options.request import TaskRequest
    from .localgit import checkout_defaults

    inputs = {"command": args.command, "connectionType": "environment"}
    for attr, name in _INPUT_FLAGS.items():
        value = getattr(args, attr, None)
        if value:
            inputs[name] = str(value)
    if getattr(args, "notebooks", None):
        inputs["notebooks"] = "\n".join(args.notebooks)
    if getattr(args, "sparse_checkout", None):
        inputs["sparseCheckout"] = "\n".join(args.sparse_checkout)
    if getattr(args, "parameters", None) or getattr(args, "parameter", None):
        if args.parameters and args.parameter:
            raise _Usage("give --parameters (JSON) or -p KEY=VALUE, not both")
        inputs["parameters"] = args.parameters or "\n".join(args.parameter)
    if getattr(args, "no_fail_on_test_failure", False):
        inputs["failOnTestFailure"] = "false"
    if getattr(args, "rerun_failed_only", None) is not None:
        inputs["rerunFailedOnly"] = str(args.rerun_failed_only).lower()
    if getattr(args, "publish_azure_devops", False):
        inputs["publishAzureDevOps"] = "true"
    if getattr(args, "pull_request_comment", False):
        inputs["pullRequestComment"] = "true"
    if getattr(args, "dry_run", False):
        inputs["dryRun"] = "true"
    if getattr(args, "bundle_var", None):
        inputs["bundleVariables"] = "\n".join(args.bundle_var)
    if getattr(args, "force_lock", False):
        inputs["bundleForceLock"] = "true"

    variables: dict[str, str] = {}
    warnings: list[str] = []
    if environ.get("TF_BUILD", "").lower() == "true":
        variables.update({n: environ[environment_name(n)] for n in VARIABLES if environ.get(environment_name(n))})
    elif args.command not in ("cleanup", "deploy", "destroy"):  # a bundle is read from the folder, not a commit
        local, warnings = checkout_defaults(cwd, inputs)
        variables.update(local)
    for item in args.var:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise _Usage(f"--var '{item}' is not NAME=VALUE")
        variables[name.strip()] = value
    return TaskRequest(inputs, {}, variables), warnings


class _Usage(Exception):
    """A command-line mistake argparse cannot see."""


def _check_output_paths(report_dir: Path, outputs_json: Path | None) -> None:
    """--report-dir and --outputs-json are written after the run: refuse before it, with exit 2, a path that could
    not be written then (a file where the folder should be, a folder where the file should be, no write access)."""
    if report_dir.exists() and not report_dir.is_dir():
        raise _Usage(f"--report-dir {report_dir} is a file, not a folder: give a folder for the result files")
    existing = next(p for p in (report_dir.absolute(), *report_dir.absolute().parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        raise _Usage(f"--report-dir {report_dir} cannot be made or written ({existing} is not a writable folder)")
    if outputs_json is None:
        return
    if outputs_json.is_dir():
        raise _Usage(f"--outputs-json {outputs_json} is a folder: give the file to write, e.g. {outputs_json}/out.json")
    folder = outputs_json.absolute().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise _Usage(f"--outputs-json {outputs_json}: its folder {folder} does not exist or is not writable")


def _run_command(args: argparse.Namespace) -> int:
    from ..azdo.logging_commands import AzureDevOpsOutput, CommandWriter, azure_devops_active
    from ..options.names import CLI_NAMES
    from ..output import Output, choose_output
    from ..secrets import redact
    from .debuglog import cli_debug_requested
    from .session import Entry, run_session

    _check_output_paths(args.report_dir, args.outputs_json)
    request, warnings = request_from_args(args, dict(os.environ), Path.cwd())
    writer = CommandWriter(sys.stdout) if azure_devops_active(os.environ, args.azure_devops) else None
    output: Output = AzureDevOpsOutput(writer) if writer else choose_output(sys.stdout)
    for warning in warnings:
        output.warning(warning)
    debug = cli_debug_requested(args.debug, os.environ)
    ending = run_session(request, Entry(CLI_NAMES, output, writer, sys.stdout, os.environ, args.report_dir, debug))
    # A step that ended by an error may still have published what its run left (entry/session.py): its variables.
    variables = {name: redact(value) for name, value in ending.variables.items()}
    if writer is None:
        for name, value in variables.items():
            print(f"{name}={value}")
    if args.outputs_json and (variables or ending.reported):
        args.outputs_json.write_text(json.dumps(variables, indent=2) + "\n", encoding="utf-8")
    if writer is not None:
        if not ending.reported:
            writer.issue("error", ending.message)
        writer.end_issues()
    if not ending.reported:
        print(f"dbcicd: {_label(ending.exit_code)}{ending.message}", file=sys.stderr)
        if ending.trace:
            print(ending.trace, file=sys.stderr)
        return ending.exit_code
    print(redact(("OK: " if ending.exit_code == EXIT_OK else "FAILED: ") + ending.message), file=sys.stderr)
    return ending.exit_code


def _label(exit_code: int) -> str:
    """What precedes a closing message: none for a cancel, whose message starts with "Cancelled"."""
    if exit_code == EXIT_CANCELLED:
        return ""
    return "internal error: " if exit_code == EXIT_INTERNAL else "error: "


LOCAL_WORKSPACE_MISSING = (
    "dbcicd local serve runs the local workspace, a package of its own (dbcicd-localworkspace) that {python} lacks: "
    "install it from a clone of the dbcicd repository with `{python} -m pip install ./localworkspace`"
)


def _serve_token(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    """The token `local serve` was given: --token, else --token-file's first line, else DBCICD_LOCAL_TOKEN."""
    if args.token_file is None:
        return args.token or environ.get("DBCICD_LOCAL_TOKEN") or None
    try:
        token = args.token_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise _Usage(f"--token-file {args.token_file}: cannot read it ({reason})") from None
    if not token or "\n" in token:
        raise _Usage(f"--token-file {args.token_file}: give a file holding the token alone, on one line")
    return token


def _local_serve(args: argparse.Namespace) -> int:
    # Imported here, and only here: the local workspace is a separate distribution the task's wheels do not carry.
    try:
        from dbcicd_localworkspace import FaultRule, LocalWorkspaceServer
        from dbcicd_localworkspace.http.errors import ApiError
        from dbcicd_localworkspace.services.federation import FederationPolicy
    except ModuleNotFoundError as err:
        if err.name != "dbcicd_localworkspace":
            raise
        raise _Usage(LOCAL_WORKSPACE_MISSING.format(python=sys.executable)) from None

    rules = []
    for spec in args.fault:
        try:
            rules.append(FaultRule.parse(json.loads(spec)))
        except json.JSONDecodeError as err:
            raise _Usage(f"--fault '{spec}' is not valid JSON: {err}") from None
        except ApiError as err:
            raise _Usage(f"--fault '{spec}': {err.message}") from None
    policies = []
    for spec in args.federation_policy:
        try:
            policies.append(FederationPolicy.parse(json.loads(spec)))
        except ValueError as err:  # json.JSONDecodeError is one
            raise _Usage(f"--federation-policy '{spec}': {err}") from None
    if args.spark_remote and not args.spark_remote.startswith("sc://"):
        raise _Usage(f"--spark-remote '{args.spark_remote}' is no Spark Connect address: give sc://HOST:PORT")
    if args.root is not None:
        args.root.mkdir(parents=True, exist_ok=True)
    try:
        server = LocalWorkspaceServer(
            root=args.root,
            port=args.port,
            token=_serve_token(args, os.environ),
            faults=rules,
            spark_remote=args.spark_remote,
        )
    except OSError as err:
        raise _Usage(f"cannot listen on 127.0.0.1:{args.port}: {err.strerror or err}") from None

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    for policy in policies:
        server.oidc.add_federation_policy(server.oauth, policy)
    server.start()
    for name, value in server.environment().items():
        print(f"{name}={value}", flush=True)
    if policies:
        print(f"DATABRICKS_CLIENT_ID={server.oauth.client_id}", flush=True)
    print(f"Serving the local workspace from {server.root} (Ctrl+C to stop)", file=sys.stderr, flush=True)
    print(f"Run pages: {server.host}/ (in a browser on this machine)", file=sys.stderr, flush=True)
    while not stop.wait(0.5):
        pass
    server.stop()
    print("Local workspace stopped.", file=sys.stderr, flush=True)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with explicit arguments; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "local":
            return _local_serve(args)
        if args.command == "task":
            from .task import main as task_main

            return task_main(sys.stdin, sys.stdout)
        return _run_command(args)
    except _Usage as err:
        print(f"dbcicd: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except DbcicdError as err:
        from ..secrets import redact

        print(f"dbcicd: {_label(err.exit_code)}{redact(err.message)}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        return EXIT_CANCELLED


class ClosedPipeTolerant:
    """Standard output that a reader may close early (`dbcicd run ... | head -1`): the command goes on to its end —
    a run it started is waited for and cleaned up — and exits with its own code. What it would still print is
    dropped: the first write that finds the pipe closed points the file descriptor at os.devnull, so neither a later
    write nor the interpreter's flush at exit raises BrokenPipeError (Python's documentation, signal module, "Note on
    SIGPIPE", gives this remedy; restoring SIGPIPE's default instead would kill the process mid-run)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._discard()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._discard()

    def _discard(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def entrypoint() -> None:
    sys.stdout = ClosedPipeTolerant(sys.stdout)  # type: ignore[assignment]
    sys.exit(main(sys.argv[1:]))
