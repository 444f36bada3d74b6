"""The `dbcicd` command line. Errors become messages and exit codes here, and only here.

Exit codes: 0 success, 1 the run or its tests failed, 2 usage or configuration error, 130 cancelled.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130

LOCAL_SERVE_EPILOG = """\
examples:
  dbcicd local serve                       # temporary workspace on a free port
  dbcicd local serve --port 8765 --root ./.local-workspace
  dbcicd local serve --fault '{"route": "GET /api/*/jobs/runs/get", "status": 429, "times": 3}'

Prints DATABRICKS_HOST=... and DATABRICKS_TOKEN=... once ready, then serves until Ctrl+C (SIGINT) or SIGTERM.
The token may also be given in the environment as DBCICD_LOCAL_TOKEN (keeps it out of the process list).
Fault rules can be changed at runtime: POST/PUT/DELETE {host}/__dbcicd/faults with the same JSON.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dbcicd", description="CI/CD for Databricks: Git folders, runs, results.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    local = commands.add_parser("local", help="the offline local workspace")
    local_commands = local.add_subparsers(dest="local_command", required=True, metavar="SUBCOMMAND")
    serve = local_commands.add_parser(
        "serve",
        help="serve a local workspace on 127.0.0.1",
        description="Serve an offline stand-in for the Databricks REST API on 127.0.0.1.",
        epilog=LOCAL_SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    serve.add_argument("--root", type=Path, help="folder holding the workspace's state (default: a temporary one)")
    serve.add_argument("--token", help="the bearer token clients must send (default: random)")
    serve.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="JSON",
        help="a fault rule as a JSON object (repeatable)",
    )
    return parser


def _local_serve(args: argparse.Namespace) -> int:
    from dbcicd.localworkspace import FaultRule, LocalWorkspaceServer
    from dbcicd.localworkspace.errors import ApiError

    rules = []
    for spec in args.fault:
        try:
            rules.append(FaultRule.parse(json.loads(spec)))
        except json.JSONDecodeError as err:
            return _usage_error(f"--fault '{spec}' is not valid JSON: {err}")
        except ApiError as err:
            return _usage_error(f"--fault '{spec}': {err.message}")
    if args.root is not None:
        args.root.mkdir(parents=True, exist_ok=True)
    try:
        server = LocalWorkspaceServer(
            root=args.root,
            port=args.port,
            token=args.token or os.environ.get("DBCICD_LOCAL_TOKEN"),
            faults=rules,
        )
    except OSError as err:
        return _usage_error(f"cannot listen on 127.0.0.1:{args.port}: {err.strerror or err}")

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    for name, value in server.environment().items():
        print(f"{name}={value}", flush=True)
    print(f"Serving the local workspace from {server.root} (Ctrl+C to stop)", file=sys.stderr, flush=True)
    while not stop.wait(0.5):
        pass
    server.stop()
    print("Local workspace stopped.", file=sys.stderr, flush=True)
    return EXIT_OK


def _usage_error(message: str) -> int:
    print(f"dbcicd: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with explicit arguments; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.command == "local" and args.local_command == "serve":
        return _local_serve(args)
    raise AssertionError(f"unhandled command {args.command}")  # argparse rejects unknown commands first


def entrypoint() -> None:
    sys.exit(main(sys.argv[1:]))
