"""The product's errors: each carries the message a user reads and the exit code the CLI and the task use.

Exit codes: 0 success, 1 the run or its tests failed, 2 configuration error (nothing started), 3 internal error (a
bug), 4 the Databricks CLI's bundle command failed (validate, deploy, summary or destroy), 130 cancelled.

Library code raises these; only the boundaries (cli.py, the task entry) turn them into output and exit codes.
"""

from __future__ import annotations

from collections.abc import Sequence

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3  # a bug of dbcicd's: neither a failed run nor a configuration error
EXIT_BUNDLE = 4  # the Databricks CLI's bundle command failed: the step's closing line says so, not "the run failed"
EXIT_CANCELLED = 130


class DbcicdError(Exception):
    """Base of every error a user should see as a message rather than a traceback."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(DbcicdError):
    """Bad or missing input, credentials or environment: nothing was started (exit code 2). `problems`: each mistake
    on its own, when the message lists several (`every_problem`)."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, problems: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems or (message,)


def every_problem(problems: Sequence[str]) -> ConfigurationError:
    """One error for every mistake found before anything started, so that one attempt shows all there is to fix."""
    if len(problems) == 1:
        return ConfigurationError(problems[0])
    listed = "\n".join(f"- {problem}" for problem in problems)
    return ConfigurationError(f"{len(problems)} inputs need fixing; nothing was started:\n{listed}", tuple(problems))


class RunFailed(DbcicdError):
    """The Databricks run, an API call it depends on, or its tests failed (exit code 1)."""

    exit_code = EXIT_FAILED


class BundleFailed(DbcicdError):
    """The Databricks CLI's bundle command (validate, deploy, summary, destroy) failed (exit code 4)."""

    exit_code = EXIT_BUNDLE


class Cancelled(DbcicdError):
    """SIGINT/SIGTERM arrived; what was started remotely has been cancelled (exit code 130)."""

    exit_code = EXIT_CANCELLED
