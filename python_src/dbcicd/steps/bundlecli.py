"""One call of the Databricks CLI on the bundle: its command line, its environment, its output read back as untrusted
text, and its end when the step is cancelled.

What the CLI prints comes from the bundle, which a pull request may have written (job names, file names, messages):
every line passes the trust boundary (`untrusted_text`) before it is logged. The step's credentials reach the CLI
through its environment only (connect/cli_environment.py); so does a bundle variable whose value is a secret of the
job (BUNDLE_VAR_<name>, docs.databricks.com/dev-tools/bundles/variables: "Set a variable's value"), every other one
goes on the command line as `--var name=value`, where the CLI refuses a name the bundle does not define.

The CLI handles no signal in its bundle commands, so Go's runtime ends it at once on SIGINT (pkg.go.dev/os/signal,
"Default behavior of signals in Go programs"). On cancel the step sends it SIGINT, then kills it after
STOP_GRACE_S; it runs in a process group of its own so that the signal reaches it whether or not the agent signals
the whole group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..options.bundle import BundleOptions
from ..output import Output
from ..secrets import redact
from ..untrusted import untrusted_text
from .teardown import WAIT_SLICE_S

STOP_GRACE_S = 2.0
MAX_LINE_CHARS = 2000
Register = Callable[[str, Callable[[], str]], Callable[[], None]]


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str = ""
    lines: list[str] = field(default_factory=list)  # stderr as it was logged


@dataclass
class BundleCli:
    """The CLI at `program`, run in the bundle's folder with `env` (credentials included)."""

    program: Path
    bundle: BundleOptions
    env: dict[str, str]
    output: Output
    register: Register  # clean-up on every way out (steps/commands.py Context.on_teardown)

    def call(self, verb: str, *extra: str) -> CliResult:
        """`databricks bundle <verb> --target=<t> --var ... <extra>`; stderr logged line by line as it comes."""
        args, env = self.command_line(verb, extra)
        self.output.info(f"databricks {' '.join(args)}")
        process = subprocess.Popen(
            [str(self.program), *args],
            cwd=self.bundle.directory,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            **_own_group(),
        )
        result = CliResult(-1, "")
        readers = [
            threading.Thread(target=self._read_stderr, args=(process, result), daemon=True),
            threading.Thread(target=lambda: setattr(result, "stdout", process.stdout.read()), daemon=True),  # type: ignore[union-attr]
        ]
        for reader in readers:
            reader.start()
        forget = self.register(f"stop the Databricks CLI (bundle {verb})", lambda: _stop(process, verb))
        while process.poll() is None:
            try:
                process.wait(WAIT_SLICE_S)
            except subprocess.TimeoutExpired:
                continue
        for reader in readers:
            reader.join()
        forget()
        result.returncode = process.returncode
        return result

    def command_line(self, verb: str, extra: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
        args = ["bundle", verb]
        if self.bundle.target:
            args.append(f"--target={self.bundle.target}")  # one argument: a value can never be read as a flag
        env = dict(self.env)
        for name, value in self.bundle.variables:
            if redact(value) != value:
                env[f"BUNDLE_VAR_{name}"] = value
            else:
                args.append(f"--var={name}={value}")
        return [*args, *extra], env

    def _read_stderr(self, process: subprocess.Popen[str], result: CliResult) -> None:
        assert process.stderr is not None
        chunks = []
        for line in process.stderr:
            chunks.append(line)
            safe = untrusted_text(line.rstrip("\r\n"), MAX_LINE_CHARS)
            result.lines.append(safe)
            self.output.info(f"  {safe}")
        result.stderr = "".join(chunks)


def _own_group() -> dict[str, object]:
    if os.name == "nt":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}  # type: ignore[attr-defined]
    return {"start_new_session": True}


def _stop(process: subprocess.Popen[str], verb: str) -> str:
    """SIGINT (CTRL_BREAK on Windows), then a kill after STOP_GRACE_S; what it did."""
    if process.poll() is not None:
        return ""
    try:
        if os.name == "nt":
            process.send_signal(signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
        else:
            os.killpg(process.pid, signal.SIGINT)
        process.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_GRACE_S)
    except ProcessLookupError:
        pass
    left = " (a deploy cut short leaves its deploy lock: the next deploy says who holds it)" if verb == "deploy" else ""
    return f"the Databricks CLI (bundle {verb}) was stopped{left}"
